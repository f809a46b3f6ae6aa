//! The device table: virtio-mmio windows found at boot, checked and classified.

use core::fmt;

/// The value of every virtio-mmio MagicValue register ("virt").
pub const VIRTIO_MAGIC: u32 = 0x7472_6976;

/// The most device windows the table holds.
pub const MAX_DEVICES: usize = 16;

/// What a virtio-mmio window holds, by its DeviceID register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceClass {
    /// DeviceID 2.
    Blk,
    /// DeviceID 1.
    Net,
    /// DeviceID 4.
    Rng,
    /// DeviceID 0: a transport slot with no device behind it.
    Empty,
    /// Any other DeviceID.
    Other(u32),
}

impl DeviceClass {
    /// The class a DeviceID register value names.
    pub fn from_device_id(id: u32) -> DeviceClass {
        match id {
            0 => DeviceClass::Empty,
            1 => DeviceClass::Net,
            2 => DeviceClass::Blk,
            4 => DeviceClass::Rng,
            other => DeviceClass::Other(other),
        }
    }

    /// The DeviceID of this class.
    pub fn device_id(self) -> u32 {
        match self {
            DeviceClass::Empty => 0,
            DeviceClass::Net => 1,
            DeviceClass::Blk => 2,
            DeviceClass::Rng => 4,
            DeviceClass::Other(id) => id,
        }
    }
}

impl fmt::Display for DeviceClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceClass::Blk => write!(f, "virtio-blk"),
            DeviceClass::Net => write!(f, "virtio-net"),
            DeviceClass::Rng => write!(f, "virtio-rng"),
            DeviceClass::Empty => write!(f, "virtio-empty"),
            DeviceClass::Other(id) => write!(f, "virtio-{id}"),
        }
    }
}

/// A physical range the kernel must never hand out as a device window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// What it is ("RAM", "CLINT", ...).
    pub name: &'static str,
    /// Base address.
    pub base: usize,
    /// Length in bytes.
    pub len: usize,
}

/// Why a window from the device tree was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// Base or length not page-aligned, or length zero.
    Unaligned,
    /// `base + len` overflows.
    Overflow,
    /// Overlaps a protected region.
    Overlaps(&'static str),
    /// The MagicValue register is wrong: not a virtio-mmio transport.
    BadMagic(u32),
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowError::Unaligned => write!(f, "not page-aligned"),
            WindowError::Overflow => write!(f, "range overflows"),
            WindowError::Overlaps(what) => write!(f, "overlaps {what}"),
            WindowError::BadMagic(m) => write!(f, "bad magic {m:#x}"),
        }
    }
}

/// Checks a candidate window against the protected regions. Pure.
pub fn check_window(base: usize, len: usize, protected: &[Region]) -> Result<(), WindowError> {
    if len == 0 || !base.is_multiple_of(4096) || !len.is_multiple_of(4096) {
        return Err(WindowError::Unaligned);
    }
    let end = base.checked_add(len).ok_or(WindowError::Overflow)?;
    for r in protected {
        let r_end = r.base.saturating_add(r.len);
        if base < r_end && r.base < end {
            return Err(WindowError::Overlaps(r.name));
        }
    }
    Ok(())
}

/// A checked device window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    /// Physical base.
    pub base: usize,
    /// Length in bytes.
    pub len: usize,
    /// Interrupt number (recorded; interrupts are not routed yet).
    pub irq: u32,
    /// What it is.
    pub class: DeviceClass,
}

/// Every accepted device window, in ascending address order.
#[derive(Clone, Debug, Default)]
pub struct DeviceTable {
    devices: [Option<Device>; MAX_DEVICES],
}

impl DeviceTable {
    /// Adds a device, keeping address order. Returns false if the table is
    /// full or the window overlaps one already present.
    pub fn insert(&mut self, dev: Device) -> bool {
        let overlaps = self
            .iter()
            .any(|d| dev.base < d.base + d.len && d.base < dev.base + dev.len);
        let Some(free) = self.devices.iter().position(Option::is_none) else {
            return false;
        };
        if overlaps {
            return false;
        }
        self.devices[free] = Some(dev);
        self.devices[..=free].sort_unstable_by_key(|d| d.map_or(usize::MAX, |d| d.base));
        true
    }

    /// The devices, in ascending address order.
    pub fn iter(&self) -> impl Iterator<Item = &Device> {
        self.devices.iter().flatten()
    }

    /// The `instance`-th device (from 0, in address order) of `class`.
    pub fn find(&self, class: DeviceClass, instance: usize) -> Option<&Device> {
        self.iter().filter(|d| d.class == class).nth(instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROTECTED: [Region; 4] = [
        Region {
            name: "RAM",
            base: 0x8000_0000,
            len: 128 << 20,
        },
        Region {
            name: "UART",
            base: 0x1000_0000,
            len: 0x100,
        },
        Region {
            name: "CLINT",
            base: 0x200_0000,
            len: 0x1_0000,
        },
        Region {
            name: "test finisher",
            base: 0x10_0000,
            len: 0x1000,
        },
    ];

    #[test]
    fn accepts_virtio_slots() {
        for i in 0..8 {
            assert_eq!(
                check_window(0x1000_1000 + i * 0x1000, 0x1000, &PROTECTED),
                Ok(())
            );
        }
    }

    #[test]
    fn refuses_windows_over_ram_and_platform_devices() {
        assert_eq!(
            check_window(0x8020_0000, 0x1000, &PROTECTED),
            Err(WindowError::Overlaps("RAM"))
        );
        assert_eq!(
            check_window(0x1000_0000, 0x1000, &PROTECTED),
            Err(WindowError::Overlaps("UART"))
        );
        assert_eq!(
            check_window(0x200_0000, 0x1000, &PROTECTED),
            Err(WindowError::Overlaps("CLINT"))
        );
        assert_eq!(
            check_window(0x10_0000, 0x1000, &PROTECTED),
            Err(WindowError::Overlaps("test finisher"))
        );
        // Partly over RAM.
        assert_eq!(
            check_window(0x7fff_f000, 0x2000, &PROTECTED),
            Err(WindowError::Overlaps("RAM"))
        );
    }

    #[test]
    fn refuses_unaligned_empty_and_overflowing_windows() {
        assert_eq!(
            check_window(0x1000_1100, 0x1000, &PROTECTED),
            Err(WindowError::Unaligned)
        );
        assert_eq!(
            check_window(0x1000_1000, 0x200, &PROTECTED),
            Err(WindowError::Unaligned)
        );
        assert_eq!(
            check_window(0x1000_1000, 0, &PROTECTED),
            Err(WindowError::Unaligned)
        );
        assert_eq!(
            check_window(usize::MAX & !0xfff, 0x2000, &PROTECTED),
            Err(WindowError::Overflow)
        );
    }

    #[test]
    fn classes_round_trip_device_ids() {
        for id in [0, 1, 2, 4, 9] {
            assert_eq!(DeviceClass::from_device_id(id).device_id(), id);
        }
        assert_eq!(DeviceClass::from_device_id(2), DeviceClass::Blk);
    }

    #[test]
    fn table_orders_by_address_and_finds_instances() {
        let mut t = DeviceTable::default();
        let dev = |base, class| Device {
            base,
            len: 0x1000,
            irq: 1,
            class,
        };
        assert!(t.insert(dev(0x1000_8000, DeviceClass::Rng)));
        assert!(t.insert(dev(0x1000_2000, DeviceClass::Empty)));
        assert!(t.insert(dev(0x1000_1000, DeviceClass::Empty)));
        assert!(!t.insert(dev(0x1000_1000, DeviceClass::Blk)), "overlap");
        let bases: std::vec::Vec<_> = t.iter().map(|d| d.base).collect();
        assert_eq!(bases, [0x1000_1000, 0x1000_2000, 0x1000_8000]);
        assert_eq!(t.find(DeviceClass::Empty, 1).unwrap().base, 0x1000_2000);
        assert_eq!(t.find(DeviceClass::Rng, 0).unwrap().base, 0x1000_8000);
        assert!(t.find(DeviceClass::Rng, 1).is_none());
        assert!(t.find(DeviceClass::Blk, 0).is_none());
    }
}
