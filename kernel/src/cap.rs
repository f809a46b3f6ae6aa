//! Capability tables: what a task may name, derive and revoke.

use nexus_abi::layout::PAGE_SIZE;
use nexus_abi::{CapKind, CapRights, SysError};

/// Slots per task.
pub const CAP_SLOTS: usize = 32;

/// Slot 0 of every task: the task itself.
pub const SELF_SLOT: usize = 0;

/// The object a capability names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// The task holding it.
    Task,
    /// A device MMIO window `[base, base + len)` of physical addresses,
    /// page-aligned. Only the kernel mints these, from its device table.
    DeviceMmio {
        /// Physical base (never revealed to userspace).
        base: usize,
        /// Length in bytes.
        len: usize,
    },
    /// Physically contiguous DMA memory `[base, base + len)`, owned by the
    /// holder and freed with the capability.
    Dma {
        /// Physical base (revealed as the device address).
        base: usize,
        /// Length in bytes.
        len: usize,
    },
    /// A device's interrupt line: entry `index` of the kernel's irq table,
    /// bound to a bit of its owner's notification. Only the kernel mints
    /// these, from the device table.
    Irq {
        /// The irq table entry.
        index: usize,
    },
    /// Control over another task (`task_kill`), minted from the system
    /// description.
    TaskControl {
        /// The task's index.
        task: usize,
    },
    /// One end of a channel: entry `index` of the kernel's channel table,
    /// side `side` (0 or 1), over the channel's frames `[base, base + len)`.
    /// Only the kernel mints these, from the system description.
    Channel {
        /// The channel table entry.
        index: usize,
        /// Which end.
        side: usize,
        /// Physical base of the shared frames (revealed only for `dma`).
        base: usize,
        /// Length in bytes.
        len: usize,
        /// Whether devices may be given the frames' address.
        dma: bool,
    },
}

/// One capability. In declaration order (`repr(C)`): the object's kind
/// comes first, where a lookup reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Cap {
    /// What it names.
    pub object: Object,
    /// What it allows.
    pub rights: CapRights,
    /// The slot it was derived from (`None` for caps minted by the kernel).
    pub parent: Option<usize>,
    /// Where it is mapped in the holder's address space, if it is.
    pub mapped_at: Option<usize>,
    /// For a copy received through `cap_transfer`: the sending task and
    /// the slot it was copied from (revoking that revokes the copy).
    pub origin: Option<(usize, usize)>,
}

impl Cap {
    /// A capability minted by the kernel.
    pub fn minted(object: Object, rights: CapRights) -> Cap {
        Cap {
            object,
            rights,
            parent: None,
            mapped_at: None,
            origin: None,
        }
    }

    /// The kind reported by `cap_info`.
    pub fn kind(&self) -> CapKind {
        match self.object {
            Object::Task => CapKind::Task,
            Object::DeviceMmio { .. } => CapKind::DeviceMmio,
            Object::Dma { .. } => CapKind::Dma,
            Object::Irq { .. } => CapKind::Irq,
            Object::TaskControl { .. } => CapKind::TaskControl,
            Object::Channel { .. } => CapKind::Channel,
        }
    }

    /// The window length reported by `cap_info` (0 for kinds without one).
    #[allow(clippy::len_without_is_empty, reason = "a length, not a collection")]
    pub fn len(&self) -> usize {
        match self.object {
            Object::Task | Object::Irq { .. } | Object::TaskControl { .. } => 0,
            Object::DeviceMmio { len, .. }
            | Object::Dma { len, .. }
            | Object::Channel { len, .. } => len,
        }
    }
}

/// A task's capability table.
#[derive(Clone, Debug)]
pub struct CapTable {
    slots: [Option<Cap>; CAP_SLOTS],
}

impl Default for CapTable {
    fn default() -> Self {
        CapTable::new()
    }
}

impl CapTable {
    /// A table holding only the self capability in slot 0.
    pub fn new() -> CapTable {
        let mut slots = [None; CAP_SLOTS];
        slots[SELF_SLOT] = Some(Cap::minted(Object::Task, CapRights::empty()));
        CapTable { slots }
    }

    /// The capability in `slot`, checked: `BadSlot` beyond the table,
    /// `EmptySlot` for a hole.
    pub fn get(&self, slot: usize) -> Result<&Cap, SysError> {
        self.slots
            .get(slot)
            .ok_or(SysError::BadSlot)?
            .as_ref()
            .ok_or(SysError::EmptySlot)
    }

    /// Mutable [`CapTable::get`].
    pub fn get_mut(&mut self, slot: usize) -> Result<&mut Cap, SysError> {
        self.slots
            .get_mut(slot)
            .ok_or(SysError::BadSlot)?
            .as_mut()
            .ok_or(SysError::EmptySlot)
    }

    /// Puts a kernel-minted capability in a chosen slot (boot-time grants).
    pub fn install(&mut self, slot: usize, cap: Cap) -> Result<(), SysError> {
        let s = self.slots.get_mut(slot).ok_or(SysError::BadSlot)?;
        if s.is_some() {
            return Err(SysError::NoSlot);
        }
        *s = Some(cap);
        Ok(())
    }

    /// Derives a capability for `[offset, offset + len)` of `slot`'s window
    /// with `rights`, never more than the parent has; returns the new slot.
    pub fn derive(
        &mut self,
        slot: usize,
        offset: usize,
        len: usize,
        rights: usize,
    ) -> Result<usize, SysError> {
        let parent = *self.get(slot)?;
        let Object::DeviceMmio { base, len: plen } = parent.object else {
            return Err(SysError::WrongKind);
        };
        if !parent.rights.contains(CapRights::DERIVE) {
            return Err(SysError::RightsExceeded);
        }
        let rights = CapRights::from_bits(rights).ok_or(SysError::InvalidArgument)?;
        if !parent.rights.contains(rights) {
            return Err(SysError::RightsExceeded);
        }
        if len == 0 {
            return Err(SysError::InvalidArgument);
        }
        if !offset.is_multiple_of(PAGE_SIZE) || !len.is_multiple_of(PAGE_SIZE) {
            return Err(SysError::Unaligned);
        }
        let end = offset.checked_add(len).ok_or(SysError::Overflow)?;
        if end > plen {
            return Err(SysError::OutOfWindow);
        }
        let free = self.free_slot()?;
        self.slots[free] = Some(Cap {
            object: Object::DeviceMmio {
                base: base + offset,
                len,
            },
            rights,
            parent: Some(slot),
            mapped_at: None,
            origin: None,
        });
        Ok(free)
    }

    /// The lowest empty slot.
    pub fn free_slot(&self) -> Result<usize, SysError> {
        self.slots
            .iter()
            .position(Option::is_none)
            .ok_or(SysError::NoSlot)
    }

    /// Every slot derived, directly or not, from `slot` (a bit per slot).
    pub fn descendants(&self, slot: usize) -> u64 {
        let mut set: u64 = 0;
        loop {
            let before = set;
            for (i, s) in self.slots.iter().enumerate() {
                if let Some(Cap {
                    parent: Some(p), ..
                }) = s
                    && (*p == slot || set & (1 << p) != 0)
                {
                    set |= 1 << i;
                }
            }
            if set == before {
                return set;
            }
        }
    }

    /// Empties `slot`, returning what it held.
    pub fn take(&mut self, slot: usize) -> Option<Cap> {
        self.slots.get_mut(slot)?.take()
    }

    /// The slot whose capability is mapped at `va`, if any.
    #[inline]
    pub fn mapped_at(&self, va: usize) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.is_some_and(|c| c.mapped_at == Some(va)))
    }

    /// Iterates over occupied slots.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Cap)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|c| (i, c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: CapRights = CapRights::all();

    fn table_with_window() -> CapTable {
        let mut t = CapTable::new();
        let obj = Object::DeviceMmio {
            base: 0x1000_8000,
            len: 0x4000,
        };
        t.install(1, Cap::minted(obj, ALL)).unwrap();
        t
    }

    #[test]
    fn get_distinguishes_bad_and_empty_slots() {
        let t = table_with_window();
        assert_eq!(t.get(CAP_SLOTS).unwrap_err(), SysError::BadSlot);
        assert_eq!(t.get(usize::MAX).unwrap_err(), SysError::BadSlot);
        assert_eq!(t.get(2).unwrap_err(), SysError::EmptySlot);
        assert_eq!(t.get(SELF_SLOT).unwrap().kind(), CapKind::Task);
    }

    #[test]
    fn derive_narrows_window_and_rights() {
        let mut t = table_with_window();
        let r = (CapRights::READ | CapRights::MAP).bits();
        let s = t.derive(1, 0x1000, 0x2000, r).unwrap();
        let c = t.get(s).unwrap();
        assert_eq!(
            c.object,
            Object::DeviceMmio {
                base: 0x1000_9000,
                len: 0x2000
            }
        );
        assert_eq!(c.rights.bits(), r);
        assert_eq!(c.parent, Some(1));
    }

    #[test]
    fn derive_never_adds_rights() {
        let mut t = table_with_window();
        let ro = t
            .derive(1, 0, 0x1000, (CapRights::READ | CapRights::DERIVE).bits())
            .unwrap();
        assert_eq!(
            t.derive(ro, 0, 0x1000, (CapRights::READ | CapRights::WRITE).bits()),
            Err(SysError::RightsExceeded)
        );
        let nod = t.derive(1, 0, 0x1000, CapRights::READ.bits()).unwrap();
        assert_eq!(
            t.derive(nod, 0, 0x1000, CapRights::READ.bits()),
            Err(SysError::RightsExceeded),
            "no DERIVE right"
        );
        assert_eq!(
            t.derive(1, 0, 0x1000, 1 << 20),
            Err(SysError::InvalidArgument),
            "unknown rights bits"
        );
    }

    #[test]
    fn derive_checks_window_alignment_and_overflow() {
        let mut t = table_with_window();
        let r = ALL.bits();
        assert_eq!(t.derive(1, 0, 0x5000, r), Err(SysError::OutOfWindow));
        assert_eq!(t.derive(1, 0x4000, 0x1000, r), Err(SysError::OutOfWindow));
        assert_eq!(t.derive(1, 0x10, 0x1000, r), Err(SysError::Unaligned));
        assert_eq!(t.derive(1, 0, 0x10, r), Err(SysError::Unaligned));
        assert_eq!(t.derive(1, 0, 0, r), Err(SysError::InvalidArgument));
        assert_eq!(
            t.derive(1, usize::MAX & !0xfff, 0x2000, r),
            Err(SysError::Overflow)
        );
        assert_eq!(t.derive(0, 0, 0x1000, r), Err(SysError::WrongKind));
        assert_eq!(t.derive(5, 0, 0x1000, r), Err(SysError::EmptySlot));
        assert_eq!(t.derive(99, 0, 0x1000, r), Err(SysError::BadSlot));
    }

    #[test]
    fn derive_reports_a_full_table() {
        let mut t = table_with_window();
        for _ in 2..CAP_SLOTS {
            t.derive(1, 0, 0x1000, ALL.bits()).unwrap();
        }
        assert_eq!(t.derive(1, 0, 0x1000, ALL.bits()), Err(SysError::NoSlot));
    }

    #[test]
    fn descendants_are_transitive_and_exclude_siblings() {
        let mut t = table_with_window();
        let a = t.derive(1, 0, 0x2000, ALL.bits()).unwrap();
        let b = t.derive(a, 0, 0x1000, ALL.bits()).unwrap();
        let c = t.derive(b, 0, 0x1000, ALL.bits()).unwrap();
        let other = t.derive(1, 0x2000, 0x1000, ALL.bits()).unwrap();
        let d = t.descendants(a);
        assert_eq!(d, (1 << b) | (1 << c));
        assert_eq!(
            t.descendants(1),
            (1 << a) | (1 << b) | (1 << c) | (1 << other)
        );
        assert_eq!(t.descendants(c), 0);
    }
}
