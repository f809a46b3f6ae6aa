//! NEURON: a capability microkernel for RISC-V whose drivers run in userspace.
//!
//! This crate is the kernel's portable core, host-testable: capability
//! tables, page tables, the ELF loader's checks, the device table and the
//! system-call dispatcher. The `riscv64` boot, trap and console code lives in
//! [`arch`] and only builds for the target.
#![cfg_attr(not(test), no_std)]

pub mod bitmap;
pub mod cap;
pub mod channel;
#[cfg(test)]
mod channel_tests;
pub mod device;
pub mod devtree;
pub mod elf;
pub mod fault;
pub mod mem;
#[cfg(test)]
mod model_tests;
pub mod notify;
pub mod pagetable;
pub mod pci;
pub mod pte;
pub mod space;
#[cfg(test)]
mod space_tests;
pub mod syscall;
pub mod system;
pub mod task;
pub mod transfer;

#[cfg(all(target_arch = "riscv64", target_os = "none"))]
pub mod arch;
