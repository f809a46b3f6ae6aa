//! A task's address space: its page table and the regions the kernel
//! chooses addresses in, with the device-mapping operations on top.

use nexus_abi::layout::{
    DEVICE_REGION_BASE, DEVICE_REGION_SIZE, PAGE_SIZE, STACK_SIZE, STACK_TOP, is_user_range,
};
use nexus_abi::{CapRights, MapProt, SysError};

use crate::bitmap::RunAllocator;
use crate::cap::{CapTable, Object};
use crate::elf::Program;
use crate::mem::Memory;
use crate::pagetable::{MapError, PageTable};
use crate::pte::{Owner, Pte};

/// Pages in the device-mapping region.
const DEVICE_PAGES: usize = DEVICE_REGION_SIZE / PAGE_SIZE;

/// A user address space.
pub struct AddressSpace {
    pt: PageTable,
    /// Device-region pages in use. A mapping takes its pages plus one
    /// unmapped guard page after them, so reading past a window faults.
    /// Pages of mappings removed by revocation stay taken forever: a
    /// register handle that outlived its capability must fault, never reach
    /// a later mapping.
    device_va: RunAllocator<{ DEVICE_PAGES / 64 }>,
}

impl From<MapError> for SysError {
    fn from(e: MapError) -> SysError {
        match e {
            MapError::AlreadyMapped => SysError::AlreadyMapped,
            MapError::OutOfMemory => SysError::OutOfMemory,
            MapError::BadAddress => SysError::BadAddress,
        }
    }
}

impl AddressSpace {
    /// An empty address space sharing the kernel's part of `kernel`.
    pub fn new(mem: &mut impl Memory, kernel: &PageTable) -> Result<AddressSpace, SysError> {
        let mut pt = PageTable::new(mem).ok_or(SysError::OutOfMemory)?;
        pt.share_kernel(kernel, mem);
        Ok(AddressSpace {
            pt,
            device_va: RunAllocator::new(DEVICE_PAGES),
        })
    }

    /// The page table (its root goes in `satp`).
    pub fn page_table(&self) -> &PageTable {
        &self.pt
    }

    /// Maps fresh, zeroed frames over `[va, va + len)` with `prot`, then
    /// copies `init` to the start. Nothing is visible to the task before it
    /// runs, so zeroing before copying is enough.
    fn map_anon(
        &mut self,
        mem: &mut impl Memory,
        va: usize,
        len: usize,
        prot: MapProt,
        init: &[u8],
    ) -> Result<(), SysError> {
        let mut page = va;
        while page < va + len {
            let frame = mem.alloc_frame().ok_or(SysError::OutOfMemory)?;
            let leaf = match Pte::leaf(frame, prot, Owner::User) {
                Ok(leaf) => leaf,
                Err(_) => {
                    mem.free_frames(frame, 1);
                    return Err(SysError::InvalidArgument);
                }
            };
            if let Err(e) = self.pt.map(mem, page, leaf) {
                mem.free_frames(frame, 1);
                return Err(e.into());
            }
            let off = page - va;
            if off < init.len() {
                let end = (off + PAGE_SIZE).min(init.len());
                mem.write_bytes(frame, &init[off..end]);
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }

    /// Maps a checked program and its stack (with an unmapped guard page
    /// below it). On error the caller destroys the space.
    pub fn load(
        &mut self,
        mem: &mut impl Memory,
        program: &Program,
        elf: &[u8],
    ) -> Result<(), SysError> {
        for seg in program.segments.iter().flatten() {
            let init = &elf[seg.offset..seg.offset + seg.filesz];
            let len = seg.memsz.next_multiple_of(PAGE_SIZE);
            self.map_anon(mem, seg.vaddr, len, seg.prot, init)?;
        }
        self.map_anon(mem, STACK_TOP - STACK_SIZE, STACK_SIZE, MapProt::RW, &[])
    }

    /// `mmio_map`: maps the whole window of the device capability in `slot`
    /// at an address chosen here; returns `(address, length)`.
    pub fn mmio_map(
        &mut self,
        caps: &mut CapTable,
        mem: &mut impl Memory,
        slot: usize,
        prot: usize,
    ) -> Result<(usize, usize), SysError> {
        let cap = *caps.get(slot)?;
        let Object::DeviceMmio { base, len } = cap.object else {
            return Err(SysError::WrongKind);
        };
        let prot = MapProt::from_bits(prot).ok_or(SysError::InvalidArgument)?;
        if prot.contains(MapProt::EXEC) {
            return Err(SysError::ExecNotAllowed);
        }
        if prot.is_empty() {
            return Err(SysError::InvalidArgument);
        }
        if !prot.contains(MapProt::READ) {
            return Err(SysError::WriteOnly);
        }
        let mut need = CapRights::MAP | CapRights::READ;
        need.set(CapRights::WRITE, prot.contains(MapProt::WRITE));
        if !cap.rights.contains(need) {
            return Err(SysError::RightsExceeded);
        }
        if cap.mapped_at.is_some() {
            return Err(SysError::AlreadyMapped);
        }
        let pages = len / PAGE_SIZE;
        let first = self
            .device_va
            .alloc(pages + 1)
            .ok_or(SysError::NoVirtualSpace)?;
        let va = DEVICE_REGION_BASE + first * PAGE_SIZE;
        for i in 0..pages {
            let result = Pte::device(base + i * PAGE_SIZE, prot)
                .map_err(|_| SysError::InvalidArgument)
                .and_then(|leaf| Ok(self.pt.map(mem, va + i * PAGE_SIZE, leaf)?));
            if let Err(e) = result {
                for j in 0..i {
                    self.pt.unmap(mem, va + j * PAGE_SIZE);
                }
                // These pages were allocated just above.
                let _ = self.device_va.free(first, pages + 1);
                return Err(e);
            }
        }
        caps.get_mut(slot)?.mapped_at = Some(va);
        Ok((va, len))
    }

    fn unmap_window(&mut self, mem: &mut impl Memory, va: usize, len: usize) {
        for i in 0..len / PAGE_SIZE {
            self.pt.unmap(mem, va + i * PAGE_SIZE);
        }
    }

    /// `mmio_unmap`: removes the device mapping starting at `va` and makes
    /// its addresses reusable.
    pub fn mmio_unmap(
        &mut self,
        caps: &mut CapTable,
        mem: &mut impl Memory,
        va: usize,
    ) -> Result<(), SysError> {
        let slot = caps.mapped_at(va).ok_or(SysError::NotMapped)?;
        let cap = caps.get_mut(slot)?;
        cap.mapped_at = None;
        let len = cap.len();
        self.unmap_window(mem, va, len);
        let first = (va - DEVICE_REGION_BASE) / PAGE_SIZE;
        // The range was allocated by mmio_map; a failure here is impossible.
        let _ = self.device_va.free(first, len / PAGE_SIZE + 1);
        Ok(())
    }

    /// `cap_revoke`: deletes every capability derived from `slot` and
    /// unmaps what they had mapped. Returns how many capabilities went.
    pub fn revoke(
        &mut self,
        caps: &mut CapTable,
        mem: &mut impl Memory,
        slot: usize,
    ) -> Result<usize, SysError> {
        caps.get(slot)?;
        let doomed = caps.descendants(slot);
        for i in 0..64 {
            if doomed & (1 << i) == 0 {
                continue;
            }
            if let Some(cap) = caps.take(i)
                && let Some(va) = cap.mapped_at
            {
                self.unmap_window(mem, va, cap.len());
            }
        }
        Ok(doomed.count_ones() as usize)
    }

    /// `vm_query`: what the task itself may do with the page at `va`.
    pub fn query(&self, mem: &mut impl Memory, va: usize) -> Result<MapProt, SysError> {
        if !is_user_range(va, 1) {
            return Err(SysError::NotMapped);
        }
        match self.pt.lookup(mem, va).map(Pte::user_prot) {
            Some(p) if !p.is_empty() => Ok(p),
            _ => Err(SysError::NotMapped),
        }
    }

    /// Checks that the task may read all of `[va, va + len)` as ordinary
    /// memory (device windows excluded), then hands it to `sink` page by
    /// page. Nothing is copied unless the whole range is valid.
    pub fn read_user(
        &self,
        mem: &mut impl Memory,
        va: usize,
        len: usize,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<(), SysError> {
        if len == 0 {
            return Ok(());
        }
        if !is_user_range(va, len) {
            return Err(SysError::BadAddress);
        }
        let device_end = DEVICE_REGION_BASE + DEVICE_REGION_SIZE;
        if va < device_end && DEVICE_REGION_BASE < va + len {
            return Err(SysError::BadAddress);
        }
        let first = va & !(PAGE_SIZE - 1);
        let mut page = first;
        while page < va + len {
            let ok = self
                .pt
                .lookup(mem, page)
                .is_some_and(|pte| pte.user_prot().contains(MapProt::READ));
            if !ok {
                return Err(SysError::BadAddress);
            }
            page += PAGE_SIZE;
        }
        let mut buf = [0u8; 256];
        let mut at = va;
        while at < va + len {
            let chunk = (va + len - at)
                .min(buf.len())
                .min(PAGE_SIZE - at % PAGE_SIZE);
            // Checked above: every page of the range has a user leaf.
            let Some(pte) = self.pt.lookup(mem, at) else {
                return Err(SysError::BadAddress);
            };
            mem.read_bytes(pte.phys() + at % PAGE_SIZE, &mut buf[..chunk]);
            sink(&buf[..chunk]);
            at += chunk;
        }
        Ok(())
    }

    /// Frees every frame the task owns and every table. Device pages are
    /// unmapped, never freed: they are not RAM.
    pub fn destroy(self, mem: &mut impl Memory) {
        let device = DEVICE_REGION_BASE..DEVICE_REGION_BASE + DEVICE_REGION_SIZE;
        let mut owned = [0usize; 64];
        loop {
            // Collect in batches: the walk borrows `mem` immutably in spirit,
            // freeing happens after it.
            let mut n = 0;
            self.pt.for_each_user_leaf(mem, |va, _| {
                if !device.contains(&va) && n < owned.len() {
                    owned[n] = va;
                    n += 1;
                }
            });
            if n == 0 {
                break;
            }
            let mut pt = self.pt;
            for &va in &owned[..n] {
                if let Some(pte) = pt.unmap(mem, va) {
                    mem.free_frames(pte.phys(), 1);
                }
            }
        }
        self.pt.destroy(mem);
    }
}
