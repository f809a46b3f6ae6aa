//! PCI Express: the ECAM host bridge the device tree describes, the
//! enumeration of its first bus over configuration space, and the
//! assignment of memory BARs inside the bridge's windows.
//!
//! Everything here is portable: configuration space is reached through
//! the [`ConfigSpace`] trait (ECAM on the target, a fake in host tests),
//! and every value read from it is treated as untrusted.

pub mod assign;
pub mod bridge;
pub mod config;
pub mod enumerate;

pub use assign::{AssignError, assign};
pub use bridge::{BridgeError, HostBridge, PciRange, Space};
pub use config::{Bdf, ConfigSpace};
pub use enumerate::{Bar, BarError, BarKind, BarSlot, Function, Functions, VendorCap, enumerate};

#[cfg(test)]
mod tests;
