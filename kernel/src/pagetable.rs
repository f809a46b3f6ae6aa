//! Sv39 page tables: walk, map, unmap and tear down, over any [`Memory`].

use crate::mem::Memory;
use crate::pte::Pte;

/// Page size.
pub const PAGE: usize = 4096;

/// Root entries `0..KERNEL_ROOT_ENTRIES` (the low 4 GiB) belong to the
/// kernel and are shared by every address space; the rest are the task's.
pub const KERNEL_ROOT_ENTRIES: usize = 4;

/// The end of the kernel's part (4 GiB): the kernel identity-maps physical
/// memory below this address only.
pub const KERNEL_MAP_END: usize = KERNEL_ROOT_ENTRIES << 30;

/// Why a mapping could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The page is already mapped: mappings are never silently replaced.
    AlreadyMapped,
    /// No frame for an intermediate table.
    OutOfMemory,
    /// The address is not page-aligned or not in the Sv39 lower half.
    BadAddress,
}

/// One Sv39 page table, named by the physical address of its root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageTable {
    root: usize,
}

fn vpn(va: usize, level: usize) -> usize {
    (va >> (12 + 9 * level)) & 0x1ff
}

impl PageTable {
    /// A new, empty table.
    pub fn new(mem: &mut impl Memory) -> Option<PageTable> {
        Some(PageTable {
            root: mem.alloc_frame()?,
        })
    }

    /// The physical address of the root (what goes in `satp`).
    pub fn root(&self) -> usize {
        self.root
    }

    /// Shares the kernel's root entries (the low 4 GiB) with `kernel`.
    pub fn share_kernel(&mut self, kernel: &PageTable, mem: &mut impl Memory) {
        for i in 0..KERNEL_ROOT_ENTRIES {
            let e = mem.read_u64(kernel.root + i * 8);
            mem.write_u64(self.root + i * 8, e);
        }
    }

    /// The physical address of the leaf slot for `va`, creating tables on
    /// the way if `create`. Without `create`, a missing table is
    /// `BadAddress` (as is an unaligned or upper-half `va`).
    #[inline(always)]
    fn slot(&self, mem: &mut impl Memory, va: usize, create: bool) -> Result<usize, MapError> {
        if !va.is_multiple_of(PAGE) || va >> 38 != 0 {
            return Err(MapError::BadAddress);
        }
        let mut table = self.root;
        for level in [2, 1] {
            let slot = table + vpn(va, level) * 8;
            let pte = Pte(mem.read_u64(slot));
            if pte.is_leaf() {
                // Superpages are never made; a leaf here is a kernel bug.
                return Err(MapError::AlreadyMapped);
            }
            table = if pte.is_valid() {
                pte.phys()
            } else if create {
                let next = mem.alloc_frame().ok_or(MapError::OutOfMemory)?;
                mem.write_u64(slot, Pte::table(next).0);
                next
            } else {
                return Err(MapError::BadAddress);
            };
        }
        Ok(table + vpn(va, 0) * 8)
    }

    /// Installs `leaf` for the page at `va`. Refuses to replace a mapping.
    #[inline]
    pub fn map(&mut self, mem: &mut impl Memory, va: usize, leaf: Pte) -> Result<(), MapError> {
        if self.map_in_place(mem, va, leaf) {
            return Ok(());
        }
        self.map_slow(mem, va, leaf)
    }

    /// Installs `leaf` for the page at `va` if every table on the way
    /// exists and the page is unmapped; otherwise changes nothing and
    /// returns false ([`PageTable::map`] then says why, or makes the
    /// tables). Makes no call, so it costs its caller no saved registers.
    #[inline(always)]
    pub fn map_in_place(&mut self, mem: &mut impl Memory, va: usize, leaf: Pte) -> bool {
        match self.slot(mem, va, false) {
            Ok(slot) if !Pte(mem.read_u64(slot)).is_valid() => {
                mem.write_u64(slot, leaf.0);
                true
            }
            _ => false,
        }
    }

    /// [`PageTable::map`] where [`PageTable::map_in_place`] could not.
    #[cold]
    #[inline(never)]
    fn map_slow(&mut self, mem: &mut impl Memory, va: usize, leaf: Pte) -> Result<(), MapError> {
        let slot = self.slot(mem, va, true)?;
        if Pte(mem.read_u64(slot)).is_valid() {
            return Err(MapError::AlreadyMapped);
        }
        mem.write_u64(slot, leaf.0);
        Ok(())
    }

    /// Removes the mapping of the page at `va` and flushes its TLB entry;
    /// returns the old leaf.
    pub fn unmap(&mut self, mem: &mut impl Memory, va: usize) -> Option<Pte> {
        let slot = self.slot(mem, va, false).ok()?;
        let old = Pte(mem.read_u64(slot));
        if !old.is_valid() {
            return None;
        }
        mem.write_u64(slot, Pte::EMPTY.0);
        mem.flush_page(va);
        Some(old)
    }

    /// The leaf mapping the page containing `va`, if any.
    pub fn lookup(&self, mem: &mut impl Memory, va: usize) -> Option<Pte> {
        let slot = self.slot(mem, va & !(PAGE - 1), false).ok()?;
        let pte = Pte(mem.read_u64(slot));
        pte.is_leaf().then_some(pte)
    }

    /// Calls `f(va, leaf)` for every leaf in the task-owned part.
    pub fn for_each_user_leaf(&self, mem: &mut impl Memory, mut f: impl FnMut(usize, Pte)) {
        for i2 in KERNEL_ROOT_ENTRIES..512 {
            let e2 = Pte(mem.read_u64(self.root + i2 * 8));
            if !e2.is_valid() {
                continue;
            }
            for i1 in 0..512 {
                let e1 = Pte(mem.read_u64(e2.phys() + i1 * 8));
                if !e1.is_valid() {
                    continue;
                }
                for i0 in 0..512 {
                    let e0 = Pte(mem.read_u64(e1.phys() + i0 * 8));
                    if e0.is_leaf() {
                        f((i2 << 30) | (i1 << 21) | (i0 << 12), e0);
                    }
                }
            }
        }
    }

    /// Frees the root and every task-owned intermediate table. Leaves must
    /// already be dealt with; the shared kernel part is left alone.
    pub fn destroy(self, mem: &mut impl Memory) {
        for i2 in KERNEL_ROOT_ENTRIES..512 {
            let e2 = Pte(mem.read_u64(self.root + i2 * 8));
            if !e2.is_valid() {
                continue;
            }
            for i1 in 0..512 {
                let e1 = Pte(mem.read_u64(e2.phys() + i1 * 8));
                if e1.is_valid() {
                    mem.free_frames(e1.phys(), 1);
                }
            }
            mem.free_frames(e2.phys(), 1);
        }
        mem.free_frames(self.root, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::fake::FakeMemory;
    use crate::pte::Owner;
    use nexus_abi::MapProt;

    const VA: usize = 0x1_0000_0000;

    #[test]
    fn map_lookup_unmap_round_trip() {
        let mut mem = FakeMemory::new(64);
        let mut pt = PageTable::new(&mut mem).unwrap();
        let leaf = Pte::leaf(0x8000_5000, MapProt::READ, Owner::User).unwrap();
        pt.map(&mut mem, VA, leaf).unwrap();
        assert_eq!(pt.lookup(&mut mem, VA + 0x123), Some(leaf));
        assert_eq!(pt.lookup(&mut mem, VA + PAGE), None);
        assert_eq!(pt.unmap(&mut mem, VA), Some(leaf));
        assert_eq!(mem.flushed, [VA]);
        assert_eq!(pt.lookup(&mut mem, VA), None);
        assert_eq!(pt.unmap(&mut mem, VA), None);
    }

    #[test]
    fn never_replaces_a_mapping() {
        let mut mem = FakeMemory::new(64);
        let mut pt = PageTable::new(&mut mem).unwrap();
        let a = Pte::leaf(0x8000_5000, MapProt::READ, Owner::User).unwrap();
        let b = Pte::leaf(0x8000_6000, MapProt::RW, Owner::User).unwrap();
        pt.map(&mut mem, VA, a).unwrap();
        assert_eq!(pt.map(&mut mem, VA, b), Err(MapError::AlreadyMapped));
        assert_eq!(pt.lookup(&mut mem, VA), Some(a));
    }

    #[test]
    fn rejects_unaligned_and_upper_half() {
        let mut mem = FakeMemory::new(64);
        let mut pt = PageTable::new(&mut mem).unwrap();
        let a = Pte::leaf(0x8000_5000, MapProt::READ, Owner::User).unwrap();
        assert_eq!(pt.map(&mut mem, VA + 8, a), Err(MapError::BadAddress));
        assert_eq!(pt.map(&mut mem, 1 << 38, a), Err(MapError::BadAddress));
    }

    #[test]
    fn out_of_memory_is_an_error() {
        let mut mem = FakeMemory::new(2);
        let mut pt = PageTable::new(&mut mem).unwrap();
        let a = Pte::leaf(0x8000_5000, MapProt::READ, Owner::User).unwrap();
        assert_eq!(pt.map(&mut mem, VA, a), Err(MapError::OutOfMemory));
    }

    #[test]
    fn destroy_returns_every_table_but_leaves_kernel_part() {
        let mut mem = FakeMemory::new(64);
        let mut kernel = PageTable::new(&mut mem).unwrap();
        let k = Pte::leaf(0x8020_0000, MapProt::READ, Owner::Kernel).unwrap();
        kernel.map(&mut mem, 0x8020_0000, k).unwrap();
        let before = mem.used();
        let mut pt = PageTable::new(&mut mem).unwrap();
        pt.share_kernel(&kernel, &mut mem);
        assert_eq!(pt.lookup(&mut mem, 0x8020_0000), Some(k));
        let a = Pte::leaf(0x8000_5000, MapProt::READ, Owner::User).unwrap();
        pt.map(&mut mem, VA, a).unwrap();
        pt.map(&mut mem, 0x20_0000_0000, a).unwrap();
        let mut leaves = std::vec::Vec::new();
        pt.for_each_user_leaf(&mut mem, |va, _| leaves.push(va));
        assert_eq!(leaves, [VA, 0x20_0000_0000]);
        pt.destroy(&mut mem);
        assert_eq!(mem.used(), before);
        assert_eq!(kernel.lookup(&mut mem, 0x8020_0000), Some(k));
    }
}
