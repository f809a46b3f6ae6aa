//! The system description as the kernel sees it: which programs run and
//! which device windows each is granted. `xtask` generates the table from
//! `system.toml` after validating it.

use core::fmt;

use crate::device::DeviceClass;
use crate::pci::Function;
use crate::task::Expect;

/// Which PCI functions a grant names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PciSel {
    /// By Vendor ID and Device ID.
    Id {
        /// Vendor ID.
        vendor: u16,
        /// Device ID.
        device: u16,
    },
    /// By base class and subclass.
    Class {
        /// Base class.
        class: u8,
        /// Subclass.
        subclass: u8,
    },
}

impl PciSel {
    /// Whether function `f` is one of those named.
    pub fn matches(&self, f: &Function) -> bool {
        match *self {
            PciSel::Id { vendor, device } => f.vendor == vendor && f.device == device,
            PciSel::Class { class, subclass } => f.class == class && f.subclass == subclass,
        }
    }
}

/// What a grant names: a window of the device table by class, or a BAR
/// of a PCI function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceSel {
    /// A device-tree or virtio-mmio window of this class.
    Window(DeviceClass),
    /// BAR `bar` of a PCI function `sel` names.
    Pci {
        /// Which functions.
        sel: PciSel,
        /// The BAR number.
        bar: u8,
    },
}

impl fmt::Display for DeviceSel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSel::Window(class) => write!(f, "{class}"),
            DeviceSel::Pci {
                sel: PciSel::Id { vendor, device },
                ..
            } => write!(f, "pci:{vendor:04x}:{device:04x}"),
            DeviceSel::Pci {
                sel: PciSel::Class { class, subclass },
                ..
            } => write!(f, "pci-class:{class:02x}:{subclass:02x}"),
        }
    }
}

/// A grant of one device window to a task.
#[derive(Clone, Copy, Debug)]
pub struct Grant {
    /// The capability slot it lands in.
    pub slot: usize,
    /// The device.
    pub device: DeviceSel,
    /// Which device of that class, or which PCI function of those named (0
    /// = lowest address).
    pub instance: usize,
    /// The rights of the minted capability (`nexus_abi::CapRights` bits).
    pub rights: usize,
    /// The window's interrupt line, if granted too.
    pub irq: Option<IrqGrant>,
}

/// The grant of a window's interrupt line: an irq capability bound to a bit
/// of the task's notification.
#[derive(Clone, Copy, Debug)]
pub struct IrqGrant {
    /// The irq capability's slot.
    pub slot: usize,
    /// The notification bit the line raises.
    pub bit: u32,
}

/// A task-control capability (`task_kill`) over another task.
#[derive(Clone, Copy, Debug)]
pub struct Control {
    /// The capability's slot.
    pub slot: usize,
    /// The controlled task's index in the system description.
    pub task: usize,
}

/// One program of the system.
#[derive(Clone, Copy, Debug)]
pub struct TaskSpec {
    /// Its name, as in reports.
    pub name: &'static str,
    /// Its ELF image.
    pub elf: &'static [u8],
    /// How it is expected to end.
    pub expect: Expect,
    /// Its device grants.
    pub grants: &'static [Grant],
    /// Pages of DMA memory it may hold at once (0: none).
    pub dma_pages: usize,
    /// Its task-control capabilities.
    pub controls: &'static [Control],
}

/// One end of a declared channel.
#[derive(Clone, Copy, Debug)]
pub struct ChannelEnd {
    /// The task's index in the system description.
    pub task: usize,
    /// The slot its channel capability lands in.
    pub slot: usize,
    /// The bit of its notification the peer's `channel_signal` raises.
    pub bit: u32,
}

/// A channel between two tasks: shared memory and a notification bit each
/// way.
#[derive(Clone, Copy, Debug)]
pub struct ChannelSpec {
    /// Its name, as in reports.
    pub name: &'static str,
    /// Its size in pages.
    pub pages: usize,
    /// Whether devices may be given its frames' address (`channel_map`
    /// reports it).
    pub dma: bool,
    /// Side 0 and side 1.
    pub ends: [ChannelEnd; 2],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::{BarSlot, Bdf};

    fn function(vendor: u16, device: u16, class: u8, subclass: u8) -> Function {
        Function {
            bdf: Bdf::new(0, 1, 0).unwrap(),
            vendor,
            device,
            class,
            subclass,
            prog_if: 0,
            revision: 0,
            header: 0,
            pin: 0,
            bars: [BarSlot::Absent; 6],
            vendor_caps: [None; 8],
            caps_truncated: false,
        }
    }

    #[test]
    fn pci_selectors_match_by_id_or_class() {
        let blk = function(0x1af4, 0x1042, 1, 0);
        let net = function(0x1af4, 0x1041, 2, 0);
        let by_id = PciSel::Id {
            vendor: 0x1af4,
            device: 0x1042,
        };
        let by_class = PciSel::Class {
            class: 1,
            subclass: 0,
        };
        assert!(by_id.matches(&blk) && !by_id.matches(&net));
        assert!(by_class.matches(&blk) && !by_class.matches(&net));
        let sel = DeviceSel::Pci { sel: by_id, bar: 4 };
        assert_eq!(std::format!("{sel}"), "pci:1af4:1042");
        let sel = DeviceSel::Pci {
            sel: by_class,
            bar: 4,
        };
        assert_eq!(std::format!("{sel}"), "pci-class:01:00");
        assert_eq!(
            std::format!("{}", DeviceSel::Window(DeviceClass::Blk)),
            "virtio-blk"
        );
    }
}
