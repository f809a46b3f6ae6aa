//! Where a virtio-pci device keeps its structures: the vendor-specific
//! PCI capabilities (virtio 1.2, section 4.1.4) read through the kernel's
//! `pci_cap`, checked against the driver's BAR.
//!
//! Every field comes from the device and is untrusted: each structure must
//! lie inside the granted BAR (no overflow), be long enough for what the
//! driver reads in it, and start on a page boundary, because the driver
//! maps each structure as its own page-sized typed window (QEMU places
//! them 4 KiB apart). A device that places them otherwise is refused with
//! the reason.

use core::fmt;

/// `cfg_type` of the common configuration structure.
pub const CFG_COMMON: u8 = 1;
/// `cfg_type` of the notification structure.
pub const CFG_NOTIFY: u8 = 2;
/// `cfg_type` of the ISR status byte.
pub const CFG_ISR: u8 = 3;
/// `cfg_type` of the device-specific configuration.
pub const CFG_DEVICE: u8 = 4;
/// Capability ID of a vendor-specific capability.
pub const CAP_VENDOR: u8 = 9;
/// The PCI Vendor ID of virtio devices.
pub const VIRTIO_VENDOR: u16 = 0x1af4;
/// Device IDs of modern virtio devices: `0x1040 + DeviceID`.
pub const MODERN_DEVICE_BASE: u16 = 0x1040;
/// Page size: each structure is mapped as one page.
pub const PAGE: usize = 4096;
/// Bytes of the common configuration structure the driver uses.
pub const COMMON_LEN: usize = 0x3c;

/// One structure: its offset and length inside the BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Offset in the BAR (a multiple of [`PAGE`]).
    pub offset: usize,
    /// Length in bytes, at most what lies in the structure's page.
    pub len: usize,
}

/// Where the four structures are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciLayout {
    /// Common configuration.
    pub common: Region,
    /// Notification structure.
    pub notify: Region,
    /// `notify_off_multiplier`.
    pub notify_multiplier: u32,
    /// The ISR status byte.
    pub isr: Region,
    /// Device-specific configuration.
    pub device: Region,
}

/// Why a device's capabilities cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The PCI function is no virtio device (`vendor:device`).
    NotVirtio(u16, u16),
    /// A transitional or legacy Device ID (below 0x1040): only modern
    /// devices are driven.
    NotModern(u16),
    /// The device does not say where structure `cfg_type` is (in the
    /// driver's BAR).
    Missing(u8),
    /// Structure `cfg_type` lies (partly) outside the BAR.
    OutsideBar(u8),
    /// Structure `cfg_type` is shorter than the driver needs.
    TooShort(u8),
    /// Structure `cfg_type` does not start on a page boundary.
    Unaligned(u8),
    /// The notification multiplier is odd (the spec makes it even).
    OddMultiplier(u32),
    /// A capability declares fewer bytes than its structure has.
    ShortCapability(u8),
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |t: &u8| match *t {
            CFG_COMMON => "common configuration",
            CFG_NOTIFY => "notification structure",
            CFG_ISR => "ISR status",
            CFG_DEVICE => "device configuration",
            _ => "structure",
        };
        match self {
            LayoutError::NotVirtio(v, d) => {
                write!(f, "PCI function {v:04x}:{d:04x} is no virtio device")
            }
            LayoutError::NotModern(d) => write!(
                f,
                "Device ID {d:#06x} is a transitional device; only modern virtio-pci (0x1040 on) is driven"
            ),
            LayoutError::Missing(t) => write!(
                f,
                "the device does not place its {} in the granted BAR",
                name(t)
            ),
            LayoutError::OutsideBar(t) => write!(f, "the {} lies outside the BAR", name(t)),
            LayoutError::TooShort(t) => write!(f, "the {} is too short", name(t)),
            LayoutError::Unaligned(t) => write!(
                f,
                "the {} does not start on a page boundary of the BAR (each structure is mapped as its own page)",
                name(t)
            ),
            LayoutError::OddMultiplier(m) => write!(f, "notify_off_multiplier {m} is odd"),
            LayoutError::ShortCapability(len) => {
                write!(f, "a virtio capability declares only {len} bytes")
            }
        }
    }
}

/// The virtio DeviceID of a modern virtio-pci function.
pub fn device_id(vendor: u16, device: u16) -> Result<u32, LayoutError> {
    if vendor != VIRTIO_VENDOR {
        return Err(LayoutError::NotVirtio(vendor, device));
    }
    if device < MODERN_DEVICE_BASE {
        return Err(LayoutError::NotModern(device));
    }
    Ok(u32::from(device - MODERN_DEVICE_BASE))
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl PciLayout {
    /// Finds the structures among the vendor-specific capabilities `caps`
    /// (each as `pci_cap` returns it: 24 bytes from the capability ID on)
    /// that lie in BAR `bar`, `bar_len` bytes long: the first capability of
    /// each type counts (as the spec asks of drivers). The device
    /// configuration must hold at least `device_min` bytes.
    pub fn parse<'a>(
        bar: u8,
        bar_len: usize,
        device_min: usize,
        caps: impl IntoIterator<Item = &'a [u8; 24]>,
    ) -> Result<PciLayout, LayoutError> {
        let mut found: [Option<(Region, u32)>; 5] = [None; 5];
        for cap in caps {
            let (id, len, cfg_type, cap_bar) = (cap[0], cap[2], cap[3], cap[4]);
            if id != CAP_VENDOR || !(CFG_COMMON..=CFG_DEVICE).contains(&cfg_type) {
                continue;
            }
            if cap_bar != bar || found[usize::from(cfg_type)].is_some() {
                continue;
            }
            let needed = if cfg_type == CFG_NOTIFY { 20 } else { 16 };
            if usize::from(len) < needed {
                return Err(LayoutError::ShortCapability(len));
            }
            let offset = le32(cap, 8) as usize;
            let length = le32(cap, 12) as usize;
            let end = offset.checked_add(length);
            if end.is_none_or(|e| e > bar_len) {
                return Err(LayoutError::OutsideBar(cfg_type));
            }
            if !offset.is_multiple_of(PAGE) {
                return Err(LayoutError::Unaligned(cfg_type));
            }
            let extra = if cfg_type == CFG_NOTIFY {
                le32(cap, 16)
            } else {
                0
            };
            let region = Region {
                offset,
                len: length.min(PAGE),
            };
            found[usize::from(cfg_type)] = Some((region, extra));
        }
        let get = |t: u8, min: usize| {
            let (region, extra) = found[usize::from(t)].ok_or(LayoutError::Missing(t))?;
            if region.len < min {
                return Err(LayoutError::TooShort(t));
            }
            Ok((region, extra))
        };
        let (common, _) = get(CFG_COMMON, COMMON_LEN)?;
        let (notify, notify_multiplier) = get(CFG_NOTIFY, 2)?;
        let (isr, _) = get(CFG_ISR, 1)?;
        let (device, _) = get(CFG_DEVICE, device_min.max(1))?;
        if !notify_multiplier.is_multiple_of(2) {
            return Err(LayoutError::OddMultiplier(notify_multiplier));
        }
        Ok(PciLayout {
            common,
            notify,
            notify_multiplier,
            isr,
            device,
        })
    }

    /// The byte offset, in the notification page, of the register of a
    /// queue whose `queue_notify_off` is `off`: `None` unless the 16-bit
    /// register lies inside the notification structure.
    pub fn notify_offset(&self, off: u16) -> Option<usize> {
        let at = usize::from(off).checked_mul(self.notify_multiplier as usize)?;
        (at.checked_add(2)? <= self.notify.len).then_some(at)
    }
}
