//! Userspace virtio drivers over typed MMIO windows.
#![no_std]
#![forbid(unsafe_code)]

pub mod banks;
pub mod blk;
pub mod blk_driver;
pub mod blk_error;
pub mod config;
pub mod device;
pub mod disk_pattern;
pub mod features;
pub mod irq;
pub mod mmio;
pub mod net;
pub mod pci;
pub mod pci_layout;
pub mod queue;
pub mod status;
pub mod transport;

#[cfg(test)]
mod tests;

pub use banks::{DeviceFeatureWord, DriverFeatureWord, QueueRegs, ShmRegs};
pub use blk_driver::{Batch, BlkTransport, InitFailure, ReqId, SECTOR_SIZE, VirtioBlk};
pub use blk_error::BlkError;
pub use config::VirtioConfig;
pub use device::{InitError, Transport};
pub use features::Features;
#[cfg(target_arch = "riscv64")]
pub use irq::KernelIrq;
pub use irq::{Acked, IrqDevice, IrqError, IrqSys, Pending};
pub use mmio::{VirtioMmioRegs, VirtioMmioWindow};
pub use net::{NetError, NetInitFailure, NetTransport, VirtioNet};
pub use queue::{DmaRange, QueueError, SplitQueue};
pub use status::{DeviceStatus, InterruptStatus};
pub use transport::{VirtioRegs, VirtioRegsRead};
