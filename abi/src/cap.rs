//! Capability kinds and rights as seen through `cap_info` and `cap_derive`.

bitflags::bitflags! {
    /// What a capability allows. Derivation can only remove rights. There is
    /// no execute right for device memory.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct CapRights: usize {
        /// Map the window readable.
        const READ = 1 << 0;
        /// Map the window writable.
        const WRITE = 1 << 1;
        /// Map the window at all (`mmio_map`).
        const MAP = 1 << 2;
        /// Make narrower copies (`cap_derive`).
        const DERIVE = 1 << 3;
        /// Hand a copy to the peer of a channel (`cap_transfer`).
        const TRANSFER = 1 << 4;
    }
}

/// The kind of object a capability names, as returned by `cap_info` in `a1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum CapKind {
    /// The calling task itself (slot 0 of every task).
    Task = 1,
    /// A window of device MMIO registers.
    DeviceMmio = 2,
    /// A buffer of DMA memory (made by `dma_alloc`).
    Dma = 3,
    /// A device's interrupt line, bound to a bit of its owner's
    /// notification (`irq_ack`).
    Irq = 4,
    /// Control of another task (`task_kill`).
    TaskControl = 5,
    /// One end of a channel: shared memory with another task and a
    /// notification bit on each side (`channel_map`, `channel_signal`).
    Channel = 6,
}

impl CapKind {
    /// The kind a `cap_info` code names.
    pub fn from_code(code: usize) -> Option<CapKind> {
        match code {
            1 => Some(CapKind::Task),
            2 => Some(CapKind::DeviceMmio),
            3 => Some(CapKind::Dma),
            4 => Some(CapKind::Irq),
            5 => Some(CapKind::TaskControl),
            6 => Some(CapKind::Channel),
            _ => None,
        }
    }

    /// What an object of this kind is, in words (status pages, reports).
    pub const fn describe(self) -> &'static str {
        match self {
            CapKind::Task => "the task itself",
            CapKind::DeviceMmio => "device window",
            CapKind::Dma => "DMA memory",
            CapKind::Irq => "interrupt line",
            CapKind::TaskControl => "control of a task",
            CapKind::Channel => "a channel end",
        }
    }
}

/// What `cap_info` reports. A device capability never reveals its physical
/// address, only its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapInfo {
    /// The kind of object.
    pub kind: CapKind,
    /// The window length in bytes (0 for kinds without a window).
    pub len: usize,
    /// The rights the capability carries.
    pub rights: CapRights,
}

/// One line of a capability listing: the kind in words, the length if it
/// has one, and the rights: `device window, 4096 bytes, rights read write map`.
impl core::fmt::Display for CapInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::fmt::Write;
        f.write_str(self.kind.describe())?;
        if self.len > 0 {
            write!(f, ", {} bytes", self.len)?;
        }
        let mut rights = self.rights.iter_names().map(|(n, _)| n).peekable();
        if rights.peek().is_some() {
            f.write_str(", rights")?;
            for r in rights {
                f.write_char(' ')?;
                for c in r.chars() {
                    f.write_char(c.to_ascii_lowercase())?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_line_names_kind_length_and_rights() {
        let info = CapInfo {
            kind: CapKind::DeviceMmio,
            len: 4096,
            rights: CapRights::READ | CapRights::MAP,
        };
        extern crate std;
        use std::string::ToString;
        assert_eq!(
            info.to_string(),
            "device window, 4096 bytes, rights read map"
        );
        let me = CapInfo {
            kind: CapKind::Task,
            len: 0,
            rights: CapRights::empty(),
        };
        assert_eq!(me.to_string(), "the task itself");
    }

    #[test]
    fn kind_codes_are_pinned() {
        assert_eq!(CapKind::Task as usize, 1);
        assert_eq!(CapKind::DeviceMmio as usize, 2);
        assert_eq!(CapKind::from_code(1), Some(CapKind::Task));
        assert_eq!(CapKind::Dma as usize, 3);
        assert_eq!(CapKind::from_code(2), Some(CapKind::DeviceMmio));
        assert_eq!(CapKind::from_code(3), Some(CapKind::Dma));
        assert_eq!(CapKind::from_code(0), None);
        assert_eq!(CapKind::Irq as usize, 4);
        assert_eq!(CapKind::TaskControl as usize, 5);
        assert_eq!(CapKind::from_code(4), Some(CapKind::Irq));
        assert_eq!(CapKind::from_code(5), Some(CapKind::TaskControl));
        assert_eq!(CapKind::Channel as usize, 6);
        assert_eq!(CapKind::from_code(6), Some(CapKind::Channel));
        assert_eq!(CapKind::from_code(7), None);
    }

    #[test]
    fn rights_bits_are_pinned() {
        assert_eq!(CapRights::READ.bits(), 1);
        assert_eq!(CapRights::WRITE.bits(), 2);
        assert_eq!(CapRights::MAP.bits(), 4);
        assert_eq!(CapRights::DERIVE.bits(), 8);
        assert_eq!(CapRights::TRANSFER.bits(), 16);
    }
}
