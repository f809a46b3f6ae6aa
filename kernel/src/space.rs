//! A task's address space: its page table and the regions the kernel
//! chooses addresses in, with the device-mapping operations on top.

use nexus_abi::layout::{
    DEVICE_REGION_BASE, DEVICE_REGION_SIZE, DMA_MAX_PAGES, DMA_REGION_BASE, DMA_REGION_SIZE,
    PAGE_SIZE, STACK_SIZE, STACK_TOP, is_user_range,
};
use nexus_abi::{CapRights, MapProt, SysError};

use crate::bitmap::RunAllocator;
use crate::cap::{Cap, CapTable, Object};
use crate::elf::Program;
use crate::mem::Memory;
use crate::pagetable::{MapError, PageTable};
use crate::pte::{Owner, Pte, PteError};

/// Pages in the device-mapping region.
const DEVICE_PAGES: usize = DEVICE_REGION_SIZE / PAGE_SIZE;
/// Pages in the DMA region.
const DMA_PAGES: usize = DMA_REGION_SIZE / PAGE_SIZE;

/// A user address space.
pub struct AddressSpace {
    pt: PageTable,
    /// Device-region pages in use. A mapping takes its pages plus one
    /// unmapped guard page after them, so reading past a window faults.
    /// Pages of mappings removed by revocation stay taken forever: a
    /// register handle that outlived its capability must fault, never reach
    /// a later mapping.
    device_va: RunAllocator<{ DEVICE_PAGES / 64 }>,
    /// DMA-region pages in use, each buffer followed by a guard page.
    dma_va: RunAllocator<{ DMA_PAGES / 64 }>,
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
            dma_va: RunAllocator::new(DMA_PAGES),
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
        let cap = caps.get_mut(slot)?;
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
        // Every page goes in without a call while its tables exist; the
        // first one that does not (or any failure) hands the rest to
        // `mmio_map_rest`.
        for i in 0..pages {
            let at = i * PAGE_SIZE;
            let mapped = Pte::device(base + at, prot)
                .is_ok_and(|pte| self.pt.map_in_place(mem, va + at, pte));
            if !mapped {
                return self.mmio_map_rest(cap, mem, va, base, pages, i, prot);
            }
        }
        cap.mapped_at = Some(va);
        Ok((va, len))
    }

    /// Completes `mmio_map` from page `done` on, making the tables it
    /// needs; on failure removes the whole window and gives its addresses
    /// (and guard page) back.
    #[cold]
    #[inline(never)]
    #[allow(
        clippy::too_many_arguments,
        reason = "the state of the map in progress"
    )]
    fn mmio_map_rest(
        &mut self,
        cap: &mut Cap,
        mem: &mut impl Memory,
        va: usize,
        base: usize,
        pages: usize,
        done: usize,
        prot: MapProt,
    ) -> Result<(usize, usize), SysError> {
        let at = done * PAGE_SIZE;
        let rest = pages - done;
        if let Err(e) = self.map_frames(mem, va + at, base + at, rest, |pa| Pte::device(pa, prot)) {
            self.unmap_window(mem, va, at);
            // These pages were allocated by `mmio_map`.
            let first = (va - DEVICE_REGION_BASE) / PAGE_SIZE;
            let _ = self.device_va.free(first, pages + 1);
            return Err(e);
        }
        cap.mapped_at = Some(va);
        Ok((va, cap.len()))
    }

    /// Maps the `pages` frames from `pa` at `va`, each with the leaf `leaf`
    /// makes for it. On failure, removes what it mapped and changes nothing.
    #[inline(always)]
    fn map_frames(
        &mut self,
        mem: &mut impl Memory,
        va: usize,
        pa: usize,
        pages: usize,
        leaf: impl Fn(usize) -> Result<Pte, PteError>,
    ) -> Result<(), SysError> {
        for i in 0..pages {
            let result = leaf(pa + i * PAGE_SIZE)
                .map_err(|_| SysError::InvalidArgument)
                .and_then(|pte| Ok(self.pt.map(mem, va + i * PAGE_SIZE, pte)?));
            if let Err(e) = result {
                return Err(self.unmap_failed(mem, va, i * PAGE_SIZE, e));
            }
        }
        Ok(())
    }

    /// Removes the first `len` bytes of a window whose mapping failed;
    /// returns the failure.
    #[cold]
    #[inline(never)]
    fn unmap_failed(
        &mut self,
        mem: &mut impl Memory,
        va: usize,
        len: usize,
        e: SysError,
    ) -> SysError {
        self.unmap_window(mem, va, len);
        e
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
        if !matches!(cap.object, Object::DeviceMmio { .. }) {
            return Err(SysError::NotMapped);
        }
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
        self.remove_caps(caps, mem, doomed);
        Ok(doomed.count_ones() as usize)
    }

    /// Deletes the capabilities in `slots` (a bit per slot), unmapping
    /// what they had mapped (revocation, here or through a transfer).
    pub fn remove_caps(&mut self, caps: &mut CapTable, mem: &mut impl Memory, slots: u64) {
        for i in 0..64 {
            if slots & (1 << i) == 0 {
                continue;
            }
            if let Some(cap) = caps.take(i)
                && let Some(va) = cap.mapped_at
            {
                self.unmap_window(mem, va, cap.len());
            }
        }
    }

    /// `dma_alloc`: `pages` contiguous zeroed frames mapped read-write at an
    /// address chosen here, recorded as a DMA capability. Returns `(address,
    /// device address, length)`. `quota` is the task's limit in pages.
    pub fn dma_alloc(
        &mut self,
        caps: &mut CapTable,
        mem: &mut impl Memory,
        pages: usize,
        quota: usize,
    ) -> Result<(usize, usize, usize), SysError> {
        if pages == 0 || pages > DMA_MAX_PAGES {
            return Err(SysError::InvalidArgument);
        }
        let used: usize = caps
            .iter()
            .filter_map(|(_, c)| match c.object {
                Object::Dma { len, .. } => Some(len / PAGE_SIZE),
                _ => None,
            })
            .sum();
        if used + pages > quota {
            return Err(SysError::QuotaExceeded);
        }
        let slot = caps.free_slot()?;
        let first = self
            .dma_va
            .alloc(pages + 1)
            .ok_or(SysError::NoVirtualSpace)?;
        let va = DMA_REGION_BASE + first * PAGE_SIZE;
        let Some(pa) = mem.alloc_frames(pages) else {
            let _ = self.dma_va.free(first, pages + 1);
            return Err(SysError::OutOfMemory);
        };
        let user_rw = |pa| Pte::leaf(pa, MapProt::RW, Owner::User);
        if let Err(e) = self.map_frames(mem, va, pa, pages, user_rw) {
            mem.free_frames(pa, pages);
            let _ = self.dma_va.free(first, pages + 1);
            return Err(e);
        }
        let len = pages * PAGE_SIZE;
        let cap = Cap {
            object: Object::Dma { base: pa, len },
            rights: CapRights::READ | CapRights::WRITE | CapRights::MAP,
            parent: None,
            mapped_at: Some(va),
            origin: None,
        };
        caps.install(slot, cap)?;
        Ok((va, pa, len))
    }

    /// `dma_free`: unmaps the DMA buffer at `va`, then returns its frames
    /// and deletes its capability.
    pub fn dma_free(
        &mut self,
        caps: &mut CapTable,
        mem: &mut impl Memory,
        va: usize,
    ) -> Result<(), SysError> {
        let slot = caps.mapped_at(va).ok_or(SysError::NotMapped)?;
        let Object::Dma { base, len } = caps.get(slot)?.object else {
            return Err(SysError::NotMapped);
        };
        caps.take(slot);
        // Unmapped (and flushed) before the frames go back: no frame is ever
        // free while mapped.
        self.unmap_window(mem, va, len);
        mem.free_frames(base, len / PAGE_SIZE);
        let first = (va - DMA_REGION_BASE) / PAGE_SIZE;
        let _ = self.dma_va.free(first, len / PAGE_SIZE + 1);
        Ok(())
    }

    /// `channel_map`: maps the shared frames of the channel end in `slot`
    /// read-write, never executable, in the device region (whose pages a
    /// task's end never frees: the frames belong to the channel). Returns
    /// `(address, length, device address)`; the device address is the
    /// frames' physical address for a `dma` channel and 0 otherwise.
    pub fn channel_map(
        &mut self,
        caps: &mut CapTable,
        mem: &mut impl Memory,
        slot: usize,
    ) -> Result<(usize, usize, usize), SysError> {
        let cap = caps.get_mut(slot)?;
        let Object::Channel { base, len, dma, .. } = cap.object else {
            return Err(SysError::WrongKind);
        };
        if !cap
            .rights
            .contains(CapRights::READ | CapRights::WRITE | CapRights::MAP)
        {
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
        let user_rw = |pa| Pte::leaf(pa, MapProt::RW, Owner::User);
        if let Err(e) = self.map_frames(mem, va, base, pages, user_rw) {
            let _ = self.device_va.free(first, pages + 1);
            return Err(e);
        }
        cap.mapped_at = Some(va);
        Ok((va, len, if dma { base } else { 0 }))
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

#[cfg(test)]
mod dma_tests {
    use super::*;
    use crate::mem::fake::FakeMemory;
    use crate::pte::PteFlags;

    fn setup() -> (FakeMemory, AddressSpace, CapTable) {
        let mut mem = FakeMemory::new(1024);
        let kernel = PageTable::new(&mut mem).unwrap();
        let space = AddressSpace::new(&mut mem, &kernel).unwrap();
        (mem, space, CapTable::new())
    }

    #[test]
    fn alloc_maps_contiguous_zeroed_rw_never_x() {
        let (mut mem, mut space, mut caps) = setup();
        let (va, pa, len) = space.dma_alloc(&mut caps, &mut mem, 3, 16).unwrap();
        assert_eq!(len, 3 * PAGE_SIZE);
        assert!((DMA_REGION_BASE..DMA_REGION_BASE + DMA_REGION_SIZE).contains(&va));
        for i in 0..3 {
            let pte = space
                .page_table()
                .lookup(&mut mem, va + i * PAGE_SIZE)
                .unwrap();
            assert_eq!(pte.phys(), pa + i * PAGE_SIZE, "physically contiguous");
            let f = pte.flags();
            assert!(f.contains(PteFlags::U | PteFlags::R | PteFlags::W));
            assert!(!f.contains(PteFlags::X));
            let mut buf = [0xffu8; 64];
            mem.read_bytes(pte.phys(), &mut buf);
            assert_eq!(buf, [0; 64], "zeroed");
        }
        assert!(
            space.page_table().lookup(&mut mem, va + len).is_none(),
            "guard page"
        );
        let slot = caps.mapped_at(va).unwrap();
        assert_eq!(caps.get(slot).unwrap().kind(), nexus_abi::CapKind::Dma);
    }

    #[test]
    fn free_unmaps_then_returns_frames_and_the_slot() {
        let (mut mem, mut space, mut caps) = setup();
        let before = mem.used();
        let (va, _, _) = space.dma_alloc(&mut caps, &mut mem, 2, 16).unwrap();
        mem.flushed.clear();
        space.dma_free(&mut caps, &mut mem, va).unwrap();
        assert_eq!(mem.flushed, [va, va + PAGE_SIZE]);
        assert!(space.page_table().lookup(&mut mem, va).is_none());
        // Intermediate tables stay; the data frames went back.
        assert!(mem.used() <= before + 2);
        assert_eq!(caps.mapped_at(va), None);
        assert_eq!(
            space.dma_free(&mut caps, &mut mem, va),
            Err(SysError::NotMapped)
        );
        // The same range can be handed out again.
        let (again, _, _) = space.dma_alloc(&mut caps, &mut mem, 2, 16).unwrap();
        assert_eq!(again, va);
    }

    #[test]
    fn quota_limits_and_bad_sizes() {
        let (mut mem, mut space, mut caps) = setup();
        assert_eq!(
            space.dma_alloc(&mut caps, &mut mem, 1, 0),
            Err(SysError::QuotaExceeded)
        );
        space.dma_alloc(&mut caps, &mut mem, 3, 4).unwrap();
        assert_eq!(
            space.dma_alloc(&mut caps, &mut mem, 2, 4),
            Err(SysError::QuotaExceeded)
        );
        space.dma_alloc(&mut caps, &mut mem, 1, 4).unwrap();
        assert_eq!(
            space.dma_alloc(&mut caps, &mut mem, 0, 100),
            Err(SysError::InvalidArgument)
        );
        assert_eq!(
            space.dma_alloc(&mut caps, &mut mem, DMA_MAX_PAGES + 1, 1000),
            Err(SysError::InvalidArgument)
        );
    }

    #[test]
    fn out_of_memory_changes_nothing() {
        let mut mem = FakeMemory::new(8);
        let kernel = PageTable::new(&mut mem).unwrap();
        let mut space = AddressSpace::new(&mut mem, &kernel).unwrap();
        let mut caps = CapTable::new();
        let used = mem.used();
        assert_eq!(
            space.dma_alloc(&mut caps, &mut mem, 7, 100),
            Err(SysError::OutOfMemory)
        );
        assert_eq!(mem.used(), used);
        assert_eq!(caps.iter().count(), 1);
    }

    #[test]
    fn dma_and_device_calls_do_not_mix() {
        let (mut mem, mut space, mut caps) = setup();
        let (va, _, _) = space.dma_alloc(&mut caps, &mut mem, 1, 4).unwrap();
        let slot = caps.mapped_at(va).unwrap();
        assert_eq!(
            space.mmio_unmap(&mut caps, &mut mem, va),
            Err(SysError::NotMapped)
        );
        assert_eq!(
            space.mmio_map(&mut caps, &mut mem, slot, MapProt::READ.bits()),
            Err(SysError::WrongKind)
        );
        assert_eq!(caps.derive(slot, 0, PAGE_SIZE, 1), Err(SysError::WrongKind));
        assert!(space.page_table().lookup(&mut mem, va).is_some());
    }

    #[test]
    fn a_full_table_is_no_slot() {
        let (mut mem, mut space, mut caps) = setup();
        for _ in 1..crate::cap::CAP_SLOTS {
            space.dma_alloc(&mut caps, &mut mem, 1, 100).unwrap();
        }
        assert_eq!(
            space.dma_alloc(&mut caps, &mut mem, 1, 100),
            Err(SysError::NoSlot)
        );
    }

    #[test]
    fn destroy_returns_dma_frames() {
        let mut mem = FakeMemory::new(1024);
        let kernel = PageTable::new(&mut mem).unwrap();
        let baseline = mem.used();
        let mut space = AddressSpace::new(&mut mem, &kernel).unwrap();
        let mut caps = CapTable::new();
        space.dma_alloc(&mut caps, &mut mem, 5, 16).unwrap();
        space.dma_alloc(&mut caps, &mut mem, 2, 16).unwrap();
        space.destroy(&mut mem);
        assert_eq!(mem.used(), baseline);
    }
}
