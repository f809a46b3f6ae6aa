//! What `pci_info` and `pci_cap` return, and how it travels in `a1..a3`.

/// Bytes of a vendor-specific capability `pci_cap` returns (from its
/// capability ID byte on; zero past the function's configuration space).
pub const PCI_CAP_BYTES: usize = 24;

/// A PCI BAR window's function and BAR, as `pci_info` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciInfo {
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Base class.
    pub class: u8,
    /// Subclass.
    pub subclass: u8,
    /// Programming interface.
    pub prog_if: u8,
    /// Revision ID.
    pub revision: u8,
    /// Which BAR (0..6) the capability's window is.
    pub bar: u8,
    /// How many vendor-specific capabilities `pci_cap` can return.
    pub vendor_caps: u8,
}

impl PciInfo {
    /// The result registers: `a1` = vendor | device << 16 | class << 32 |
    /// subclass << 40 | prog_if << 48 | revision << 56 (on a 64-bit
    /// machine), `a2` = BAR, `a3` = vendor capabilities.
    pub fn to_regs(&self) -> [u64; 3] {
        let id = u64::from(self.vendor)
            | u64::from(self.device) << 16
            | u64::from(self.class) << 32
            | u64::from(self.subclass) << 40
            | u64::from(self.prog_if) << 48
            | u64::from(self.revision) << 56;
        [id, u64::from(self.bar), u64::from(self.vendor_caps)]
    }

    /// The inverse of [`to_regs`](Self::to_regs).
    pub fn from_regs(regs: [u64; 3]) -> PciInfo {
        let [id, bar, caps] = regs;
        PciInfo {
            vendor: id as u16,
            device: (id >> 16) as u16,
            class: (id >> 32) as u8,
            subclass: (id >> 40) as u8,
            prog_if: (id >> 48) as u8,
            revision: (id >> 56) as u8,
            bar: bar as u8,
            vendor_caps: caps as u8,
        }
    }
}

/// The result registers of `pci_cap`: bytes 0..8, 8..16, 16..24 of the
/// capability, each little-endian.
pub fn cap_to_regs(bytes: &[u8; PCI_CAP_BYTES]) -> [u64; 3] {
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    [word(0), word(1), word(2)]
}

/// The inverse of [`cap_to_regs`].
pub fn cap_from_regs(regs: [u64; 3]) -> [u8; PCI_CAP_BYTES] {
    let mut out = [0u8; PCI_CAP_BYTES];
    for (chunk, r) in out.chunks_exact_mut(8).zip(regs) {
        chunk.copy_from_slice(&r.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_round_trips_and_is_pinned() {
        let info = PciInfo {
            vendor: 0x1af4,
            device: 0x1042,
            class: 1,
            subclass: 0,
            prog_if: 0x80,
            revision: 1,
            bar: 4,
            vendor_caps: 5,
        };
        assert_eq!(info.to_regs(), [0x0180_0001_1042_1af4, 4, 5]);
        assert_eq!(PciInfo::from_regs(info.to_regs()), info);
    }

    #[test]
    fn cap_bytes_round_trip_little_endian() {
        let mut bytes = [0u8; PCI_CAP_BYTES];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        let regs = cap_to_regs(&bytes);
        assert_eq!(regs[0], 0x0807_0605_0403_0201);
        assert_eq!(regs[2], 0x1817_1615_1413_1211);
        assert_eq!(cap_from_regs(regs), bytes);
    }
}
