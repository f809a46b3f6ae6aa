//! The NEURON system-call contract, shared by the kernel and userspace.
//!
//! Everything both sides must agree on lives here once: system-call numbers
//! ([`Sysno`]), the error codes ([`SysError`]), the argument types
//! ([`MapProt`], [`CapRights`], [`CapKind`]) and the user address-space layout
//! ([`layout`]). `docs/abi.md` is the normative description.
//!
//! With the `rt` feature on `riscv64`, the crate is also the userspace runtime:
//! the entry point, the panic handler, [`println!`] and the system-call
//! wrappers in [`sys`]; [`text`] holds the heap-free text buffer programs
//! format into (on every target, so their host tests use it too).
#![no_std]
#![deny(missing_docs)]

mod cap;
mod error;
pub mod layout;
pub mod notify;
pub mod pci;
mod prot;
mod sysno;
pub mod text;

#[cfg(target_arch = "riscv64")]
pub mod sys;

#[cfg(all(feature = "rt", target_arch = "riscv64"))]
pub mod rt;

pub use cap::{CapInfo, CapKind, CapRights};
pub use error::SysError;
pub use prot::MapProt;
pub use sysno::Sysno;
