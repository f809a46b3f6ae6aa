//! Userspace virtio drivers over typed MMIO windows.
#![no_std]
#![forbid(unsafe_code)]

pub mod banks;
pub mod blk;
pub mod config;
pub mod features;
pub mod mmio;
pub mod status;
pub mod transport;

#[cfg(test)]
mod tests;

pub use banks::{DeviceFeatureWord, DriverFeatureWord, QueueRegs, ShmRegs};
pub use config::VirtioConfig;
pub use features::Features;
pub use mmio::{VirtioMmioRegs, VirtioMmioWindow};
pub use status::{DeviceStatus, InterruptStatus};
pub use transport::{VirtioRegs, VirtioRegsRead};
