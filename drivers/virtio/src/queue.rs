//! The split virtqueue (virtio 1.2, section 2.7) in one DMA region.
//!
//! One [`DmaRegion`] holds the descriptor table (16-byte aligned), the
//! available ring (2-byte aligned), the used ring (4-byte aligned, placed so
//! its 8-byte elements are 8-byte aligned) and a scratch area with a few
//! bytes per descriptor for the driver's own use (request headers, status
//! bytes). All bookkeeping (free list, chain lengths) lives on the driver's
//! side: nothing the device writes is ever used as an index without being
//! checked first, so a misbehaving device yields a [`QueueError`], never a
//! panic or an out-of-bounds access.

use core::sync::atomic::{Ordering, fence};

use mmio_types::{DmaError, DmaRegion};

/// Largest queue size this driver uses (a power of two).
pub const MAX_QUEUE_SIZE: u16 = 128;

/// Descriptor flag: the chain continues at `next`.
const DESC_F_NEXT: u64 = 1;
/// Descriptor flag: the buffer is device-writable.
const DESC_F_WRITE: u64 = 2;
/// Available ring flag: the driver does not want used-buffer interrupts.
const AVAIL_F_NO_INTERRUPT: u16 = 1;
/// Used ring flag: the device does not want available-buffer notifications.
const USED_F_NO_NOTIFY: u16 = 1;

/// Index into the driver-side arrays. Every index stored is below the
/// queue size, so the mask changes nothing; it lets the compiler drop the
/// bounds checks.
#[inline(always)]
const fn ix(i: u16) -> usize {
    (i & (MAX_QUEUE_SIZE - 1)) as usize
}

const fn align_up(x: usize, align: usize) -> usize {
    (x + align - 1) & !(align - 1)
}

/// Where the parts of a split virtqueue of a given size lie in its region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueLayout {
    size: u16,
    avail: usize,
    used: usize,
    scratch: usize,
    len: usize,
}

impl QueueLayout {
    /// The layout of a queue of `size` entries (a power of two, at most
    /// [`MAX_QUEUE_SIZE`]) with `scratch_per_entry` scratch bytes per
    /// descriptor; `None` for an invalid size.
    pub const fn new(size: u16, scratch_per_entry: usize) -> Option<QueueLayout> {
        if size == 0 || size > MAX_QUEUE_SIZE || !size.is_power_of_two() {
            return None;
        }
        let n = size as usize;
        let avail = 16 * n;
        let avail_end = avail + 6 + 2 * n;
        // 4-aligned, and `used + 4` (the first element) 8-aligned.
        let used = align_up(avail_end + 4, 8) - 4;
        let used_end = used + 6 + 8 * n;
        let scratch = align_up(used_end, 16);
        let len = scratch + scratch_per_entry * n;
        Some(QueueLayout {
            size,
            avail,
            used,
            scratch,
            len,
        })
    }

    /// The largest queue (a power of two, at most `min(num_max,
    /// MAX_QUEUE_SIZE)`) whose layout fits in `region_len` bytes.
    pub fn fit(num_max: u16, region_len: usize, scratch_per_entry: usize) -> Option<QueueLayout> {
        let limit = num_max.min(MAX_QUEUE_SIZE);
        if limit == 0 {
            return None;
        }
        let mut size = 1u16 << (15 - limit.leading_zeros());
        while size > 0 {
            match QueueLayout::new(size, scratch_per_entry) {
                Some(layout) if layout.len <= region_len => return Some(layout),
                _ => size /= 2,
            }
        }
        None
    }

    /// Number of entries.
    pub const fn size(&self) -> u16 {
        self.size
    }

    /// Offset of the available ring (the descriptor table is at 0).
    pub const fn avail(&self) -> usize {
        self.avail
    }

    /// Offset of the used ring.
    pub const fn used(&self) -> usize {
        self.used
    }

    /// Offset of the scratch area (16-byte aligned).
    pub const fn scratch(&self) -> usize {
        self.scratch
    }

    /// Bytes the whole layout takes.
    #[allow(clippy::len_without_is_empty, reason = "a layout is never empty")]
    pub const fn len(&self) -> usize {
        self.len
    }
}

/// Device addresses of a queue's three areas, as the transport is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueAreas {
    /// Descriptor table.
    pub desc: u64,
    /// Driver area: the available ring.
    pub driver: u64,
    /// Device area: the used ring.
    pub device: u64,
}

/// A range of DMA memory as the device addresses it, checked to lie inside
/// a [`DmaRegion`] when made.
///
/// It does not borrow the region: whoever submits it must keep the region
/// alive (and leave it to the device) until the request completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaRange {
    addr: u64,
    len: u32,
}

impl DmaRange {
    /// The device's view of `region[offset .. offset + len]`.
    #[inline]
    pub fn new(region: &DmaRegion, offset: usize, len: usize) -> Result<DmaRange, DmaError> {
        let len32 = u32::try_from(len).map_err(|_| DmaError::OutOfBounds)?;
        let end = offset.checked_add(len).ok_or(DmaError::OutOfBounds)?;
        region.device_addr(end)?;
        Ok(DmaRange {
            addr: region.device_addr(offset)?,
            len: len32,
        })
    }

    /// A range of memory the driver itself checked (its own queue region).
    #[inline]
    pub(crate) fn from_parts(addr: u64, len: u32) -> DmaRange {
        DmaRange { addr, len }
    }

    /// Device address of the first byte.
    #[inline]
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// Length in bytes.
    #[inline]
    #[allow(clippy::len_without_is_empty, reason = "mirrors the descriptor field")]
    pub fn len(&self) -> u32 {
        self.len
    }
}

/// One buffer of a descriptor chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The memory.
    pub range: DmaRange,
    /// Whether the device writes it (otherwise it reads it).
    pub device_writes: bool,
}

/// A chain the device has finished with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Used {
    /// Head descriptor of the chain (as returned by [`SplitQueue::add`]).
    pub head: u16,
    /// Bytes the device reports having written.
    pub len: u32,
}

/// Why a queue operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// Not enough free descriptors for the chain.
    Full,
    /// A chain must have 1 ..= size segments.
    BadChain,
    /// The device moved `used.idx` past the chains in flight.
    BadUsedIdx(u16),
    /// The device returned an id that is not the head of a chain in flight.
    BadUsedId(u32),
    /// The device reported writing more than the chain's writable bytes
    /// (the chain is freed all the same).
    BadUsedLen {
        /// Head of the chain.
        head: u16,
        /// The length reported.
        len: u32,
    },
    /// The region is too small for the layout.
    Dma(DmaError),
}

impl From<DmaError> for QueueError {
    fn from(e: DmaError) -> Self {
        QueueError::Dma(e)
    }
}

/// A split virtqueue owned by the driver.
///
/// Its descriptors are cut into chains of consecutive descriptors, each
/// `chain_capacity` long and headed by its first: chain `k` owns descriptors
/// `k * cap .. (k + 1) * cap`. A chain in flight always uses its own
/// descriptors, in order, so descriptors that never change from one request
/// to the next (a driver's header or status descriptors) can be written once
/// with [`write_desc`](Self::write_desc), and only the rest per request.
pub struct SplitQueue {
    mem: DmaRegion,
    layout: QueueLayout,
    mask: u16,
    /// Descriptors of each chain.
    chain_cap: u16,
    /// Number of chains.
    chains: u16,
    /// First free chain (meaningless if none is free).
    free_head: u16,
    /// Free chains.
    num_free: u16,
    in_flight: u16,
    /// Shadow of `avail.idx`: the driver never reads it back.
    avail_idx: u16,
    /// Next used-ring entry to consume.
    last_used: u16,
    /// Where the rings' fields lie, as indices of `u16`s (`u64`s for used
    /// elements) in the region.
    at: RingIndices,
    /// Driver-side state of each chain, by head.
    heads: [HeadState; MAX_QUEUE_SIZE as usize],
}

/// Positions of the ring fields, in units of the field's size.
#[derive(Clone, Copy, Debug)]
struct RingIndices {
    /// `avail.idx` (`u16`).
    avail_idx: usize,
    /// `avail.ring[0]` (`u16`).
    avail_ring: usize,
    /// `used.flags` (`u16`).
    used_flags: usize,
    /// `used.idx` (`u16`).
    used_idx: usize,
    /// `used.ring[0]` (`u64`: id and len).
    used_ring: usize,
}

impl RingIndices {
    const fn of(layout: &QueueLayout) -> RingIndices {
        RingIndices {
            avail_idx: layout.avail / 2 + 1,
            avail_ring: layout.avail / 2 + 2,
            used_flags: layout.used / 2,
            used_idx: layout.used / 2 + 1,
            used_ring: (layout.used + 4) / 8,
        }
    }
}

/// What the driver knows of the chain headed by a descriptor.
#[derive(Clone, Copy, Debug, Default)]
struct HeadState {
    /// The next free chain while this one is free.
    next_free: u16,
    /// Descriptors in the chain while in flight; 0 otherwise.
    len: u16,
    /// Device-writable bytes of the chain in flight.
    writable: u32,
}

impl core::fmt::Debug for SplitQueue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SplitQueue")
            .field("layout", &self.layout)
            .field("chain_capacity", &self.chain_cap)
            .field("num_free", &self.num_free)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl SplitQueue {
    /// Lays a queue out in `mem` (zeroing the layout's bytes) with every
    /// chain free. Each chain gets `max_chain` descriptors, or the whole
    /// queue if it is smaller. `interrupts` clears or sets the available
    /// ring's `NO_INTERRUPT` hint.
    pub fn new(
        mut mem: DmaRegion,
        layout: QueueLayout,
        max_chain: u16,
        interrupts: bool,
    ) -> Result<SplitQueue, (QueueError, DmaRegion)> {
        if max_chain == 0 {
            return Err((QueueError::BadChain, mem));
        }
        if let Err(e) = mem.fill(0, layout.len, 0) {
            return Err((e.into(), mem));
        }
        let flags = if interrupts { 0 } else { AVAIL_F_NO_INTERRUPT };
        if let Err(e) = mem.write::<u16>(layout.avail, flags.to_le()) {
            return Err((e.into(), mem));
        }
        let size = layout.size;
        let chain_cap = max_chain.min(size);
        let chains = size / chain_cap;
        let mut heads = [HeadState::default(); MAX_QUEUE_SIZE as usize];
        for k in 0..chains {
            heads[ix(k * chain_cap)].next_free = (k + 1) * chain_cap;
        }
        Ok(SplitQueue {
            mem,
            layout,
            mask: size - 1,
            chain_cap,
            chains,
            free_head: 0,
            num_free: chains,
            in_flight: 0,
            avail_idx: 0,
            last_used: 0,
            at: RingIndices::of(&layout),
            heads,
        })
    }

    /// Sets or clears the available ring's `NO_INTERRUPT` hint: whether the
    /// device should interrupt when it uses buffers.
    pub fn set_interrupts(&mut self, on: bool) -> Result<(), QueueError> {
        let flags = if on { 0 } else { AVAIL_F_NO_INTERRUPT };
        self.mem.write::<u16>(self.layout.avail, flags.to_le())?;
        Ok(())
    }

    /// The layout.
    #[inline]
    pub fn layout(&self) -> &QueueLayout {
        &self.layout
    }

    /// Number of entries.
    #[inline]
    pub const fn size(&self) -> u16 {
        self.layout.size
    }

    /// Descriptors of each chain.
    #[inline]
    pub fn chain_capacity(&self) -> u16 {
        self.chain_cap
    }

    /// The head of every chain, in order.
    pub fn heads(&self) -> impl Iterator<Item = u16> + use<> {
        let cap = self.chain_cap;
        (0..self.chains).map(move |k| k * cap)
    }

    /// Free chains.
    #[inline]
    pub fn num_free(&self) -> u16 {
        self.num_free
    }

    /// Chains made available and not yet returned.
    #[inline]
    pub fn in_flight(&self) -> u16 {
        self.in_flight
    }

    /// Whether `head` heads a chain in flight.
    #[inline]
    pub fn is_in_flight(&self, head: u16) -> bool {
        self.heads
            .get(usize::from(head))
            .is_some_and(|h| h.len != 0)
    }

    /// The head of the chain the next [`push`](Self::push) or
    /// [`add`](Self::add) will use, so its descriptors and scratch bytes can
    /// be filled first; `None` if every chain is in flight.
    #[inline]
    pub fn next_head(&self) -> Option<u16> {
        if self.num_free == 0 {
            None
        } else {
            Some(self.free_head)
        }
    }

    /// Device addresses of the three areas.
    pub fn areas(&self) -> Result<QueueAreas, DmaError> {
        Ok(QueueAreas {
            desc: self.mem.device_addr(0)?,
            driver: self.mem.device_addr(self.layout.avail)?,
            device: self.mem.device_addr(self.layout.used)?,
        })
    }

    /// The region (to reach the scratch area).
    #[inline]
    pub fn mem(&self) -> &DmaRegion {
        &self.mem
    }

    /// The region, mutably (to fill the scratch area).
    #[inline]
    pub fn mem_mut(&mut self) -> &mut DmaRegion {
        &mut self.mem
    }

    /// Writes descriptor `desc` for `seg`, continuing at `next` if any.
    /// Descriptors of a chain in flight must be left alone until it
    /// returns.
    #[inline]
    pub fn write_desc(
        &mut self,
        desc: u16,
        seg: Segment,
        next: Option<u16>,
    ) -> Result<(), QueueError> {
        let mut flags = if seg.device_writes { DESC_F_WRITE } else { 0 };
        let next = match next {
            Some(next) => {
                flags |= DESC_F_NEXT;
                next
            }
            None => 0,
        };
        if desc > self.mask || next > self.mask {
            return Err(QueueError::BadChain);
        }
        let word = u64::from(seg.range.len) | flags << 32 | u64::from(next) << 48;
        self.mem.write_elems::<u64, 2>(
            2 * usize::from(desc),
            [seg.range.addr.to_le(), word.to_le()],
        )?;
        Ok(())
    }

    /// Makes the chain at [`next_head`](Self::next_head) available with its
    /// first `len` descriptors, already written (see
    /// [`write_desc`](Self::write_desc)), `writable` of whose bytes the
    /// device may write: the ring entry, then a release fence, then
    /// `avail.idx`. Returns the head. Does not notify: see
    /// [`should_notify`](Self::should_notify).
    #[inline(always)]
    pub fn push(&mut self, len: u16, writable: u32) -> Result<u16, QueueError> {
        if len == 0 || len > self.chain_cap {
            return Err(QueueError::BadChain);
        }
        if self.num_free == 0 {
            return Err(QueueError::Full);
        }
        let head = self.free_head;
        let slot = usize::from(self.avail_idx & self.mask);
        self.mem
            .write_elem::<u16>(self.at.avail_ring + slot, head.to_le())?;
        let state = &mut self.heads[ix(head)];
        self.free_head = state.next_free;
        state.len = len;
        state.writable = writable;
        self.num_free -= 1;
        self.in_flight += 1;

        self.avail_idx = self.avail_idx.wrapping_add(1);
        fence(Ordering::Release);
        self.mem
            .write_elem::<u16>(self.at.avail_idx, self.avail_idx.to_le())?;
        Ok(head)
    }

    /// Writes a chain of descriptors for `segments` (at most
    /// [`chain_capacity`](Self::chain_capacity)) into the next free chain
    /// and makes it available as [`push`](Self::push) does. Returns the head.
    pub fn add(&mut self, segments: &[Segment]) -> Result<u16, QueueError> {
        let n = segments.len();
        if n == 0 || n > usize::from(self.chain_cap) {
            return Err(QueueError::BadChain);
        }
        let head = self.next_head().ok_or(QueueError::Full)?;
        let mut writable = 0u32;
        for (i, seg) in segments.iter().enumerate() {
            if seg.device_writes {
                writable = writable.saturating_add(seg.range.len);
            }
            // `i < n <= chain_cap`: the chain's own descriptors.
            let desc = head + i as u16;
            let next = (i + 1 < n).then_some(desc + 1);
            self.write_desc(desc, *seg, next)?;
        }
        self.push(n as u16, writable)
    }

    /// Whether the device wants a notification for what was just made
    /// available. Issues the full fence the notification needs: `avail.idx`
    /// is visible before `used.flags` is read and before any notify write.
    #[inline]
    pub fn should_notify(&self) -> bool {
        fence(Ordering::SeqCst);
        match self.mem.read_elem::<u16>(self.at.used_flags) {
            Ok(flags) => u16::from_le(flags) & USED_F_NO_NOTIFY == 0,
            Err(_) => true,
        }
    }

    /// Takes the next chain from the used ring, if the device returned one:
    /// reads `used.idx`, then an acquire fence, then the entry. The entry is
    /// checked against the chains in flight before anything is freed.
    #[inline]
    pub fn pop_used(&mut self) -> Option<Result<Used, QueueError>> {
        let idx = match self.mem.read_elem::<u16>(self.at.used_idx) {
            Ok(idx) => u16::from_le(idx),
            Err(e) => return Some(Err(e.into())),
        };
        if idx == self.last_used {
            return None;
        }
        fence(Ordering::Acquire);
        if idx.wrapping_sub(self.last_used) > self.in_flight {
            return Some(Err(QueueError::BadUsedIdx(idx)));
        }
        let slot = usize::from(self.last_used & self.mask);
        let elem = match self.mem.read_elem::<u64>(self.at.used_ring + slot) {
            Ok(elem) => u64::from_le(elem),
            Err(e) => return Some(Err(e.into())),
        };
        self.last_used = self.last_used.wrapping_add(1);
        let id = elem as u32;
        let len = (elem >> 32) as u32;
        let head = match u16::try_from(id) {
            Ok(head) if self.is_in_flight(head) => head,
            _ => return Some(Err(QueueError::BadUsedId(id))),
        };
        let writable = self.heads[ix(head)].writable;
        self.free_chain(head);
        if len > writable {
            return Some(Err(QueueError::BadUsedLen { head, len }));
        }
        Some(Ok(Used { head, len }))
    }

    /// Frees any one chain in flight and returns its head; for giving up on
    /// requests after the device has been reset.
    pub fn reclaim_one(&mut self) -> Option<u16> {
        let head = (0..self.layout.size).find(|&h| self.is_in_flight(h))?;
        self.free_chain(head);
        Some(head)
    }

    #[inline]
    fn free_chain(&mut self, head: u16) {
        let state = &mut self.heads[ix(head)];
        state.next_free = self.free_head;
        state.len = 0;
        self.free_head = head;
        self.num_free += 1;
        self.in_flight -= 1;
    }

    /// Gives the region back. The device must no longer use the queue
    /// (reset it first).
    pub fn into_region(self) -> DmaRegion {
        self.mem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_aligns_each_area() {
        for size in [1, 2, 4, 8, 16, 32, 64, 128] {
            let l = QueueLayout::new(size, 17).unwrap();
            let n = usize::from(size);
            assert!(l.avail >= 16 * n && l.avail.is_multiple_of(16));
            assert!(l.used >= l.avail + 6 + 2 * n && l.used.is_multiple_of(4));
            assert_eq!((l.used + 4) % 8, 0, "used elements are 8-byte aligned");
            assert!(l.scratch >= l.used + 6 + 8 * n && l.scratch.is_multiple_of(16));
            assert_eq!(l.len, l.scratch + 17 * n);
        }
        assert_eq!(QueueLayout::new(64, 17).unwrap().len(), 2784);
        assert_eq!(QueueLayout::new(128, 17).unwrap().len(), 5536);
    }

    #[test]
    fn invalid_sizes_have_no_layout() {
        assert_eq!(QueueLayout::new(0, 0), None);
        assert_eq!(QueueLayout::new(3, 0), None);
        assert_eq!(QueueLayout::new(256, 0), None);
    }

    #[test]
    fn fit_picks_the_largest_power_of_two_that_fits() {
        assert_eq!(QueueLayout::fit(1024, 4096, 17).unwrap().size(), 64);
        assert_eq!(QueueLayout::fit(1024, 8192, 17).unwrap().size(), 128);
        assert_eq!(QueueLayout::fit(100, 8192, 17).unwrap().size(), 64);
        assert_eq!(QueueLayout::fit(1, 4096, 17).unwrap().size(), 1);
        assert_eq!(QueueLayout::fit(0, 4096, 17), None);
        assert_eq!(QueueLayout::fit(64, 20, 17), None);
        assert_eq!(QueueLayout::fit(u16::MAX, 1 << 20, 0).unwrap().size(), 128);
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;
    use mmio_types::FakeDma;

    fn queue(size: u16, max_chain: u16) -> (FakeDma, SplitQueue) {
        let (dev, token) = FakeDma::new(1).expect("fake DMA pool");
        let layout = QueueLayout::new(size, 0).unwrap();
        let q = SplitQueue::new(DmaRegion::new(token), layout, max_chain, false).unwrap();
        (dev, q)
    }

    fn seg(addr: u64, len: u32, device_writes: bool) -> Segment {
        Segment {
            range: DmaRange::from_parts(addr, len),
            device_writes,
        }
    }

    /// Returns `head` with `len` as the device does.
    fn complete(dev: &FakeDma, q: &SplitQueue, used_idx: u16, head: u32, len: u32) {
        let used = dev.device_addr() + q.layout().used() as u64;
        let slot = u64::from((used_idx - 1) & (q.size() - 1));
        dev.write_u64(used + 4 + 8 * slot, u64::from(len) << 32 | u64::from(head));
        dev.write_u16(used + 2, used_idx);
    }

    #[test]
    fn chains_are_runs_of_consecutive_descriptors() {
        let (_, q) = queue(16, 3);
        assert_eq!(q.chain_capacity(), 3);
        assert!(q.heads().eq([0, 3, 6, 9, 12]));
        assert_eq!(q.num_free(), 5);
        let (_, small) = queue(2, 3);
        assert_eq!(small.chain_capacity(), 2);
        assert!(small.heads().eq([0]));
    }

    #[test]
    fn add_writes_the_chain_then_the_ring() {
        let (dev, mut q) = queue(8, 3);
        let base = dev.device_addr();
        let head = q
            .add(&[seg(0x1000, 16, false), seg(0x2000, 512, true)])
            .unwrap();
        assert_eq!(head, 0);
        assert_eq!(dev.read_u64(base), 0x1000);
        assert_eq!(dev.read_u32(base + 8), 16);
        assert_eq!(dev.read_u16(base + 12), 1, "NEXT");
        assert_eq!(dev.read_u16(base + 14), 1);
        assert_eq!(dev.read_u64(base + 16), 0x2000);
        assert_eq!(dev.read_u32(base + 24), 512);
        assert_eq!(dev.read_u16(base + 28), 2, "WRITE, end of chain");
        let avail = base + q.layout().avail() as u64;
        assert_eq!(dev.read_u16(avail), AVAIL_F_NO_INTERRUPT);
        assert_eq!(dev.read_u16(avail + 2), 1);
        assert_eq!(dev.read_u16(avail + 4), 0);
        assert_eq!(q.next_head(), Some(3));
        assert_eq!(q.add(&[seg(0, 1, true); 4]), Err(QueueError::BadChain));
        assert_eq!(q.add(&[]), Err(QueueError::BadChain));
        assert_eq!(q.add(&[seg(0x3000, 1, true)]), Ok(3));
        assert_eq!(q.next_head(), None);
        assert_eq!(q.add(&[seg(0x3000, 1, true)]), Err(QueueError::Full));
        assert_eq!(q.in_flight(), 2);

        assert!(q.pop_used().is_none());
        complete(&dev, &q, 1, 3, 1);
        assert_eq!(q.pop_used(), Some(Ok(Used { head: 3, len: 1 })));
        assert_eq!(q.next_head(), Some(3), "the freed chain is reused first");
        complete(&dev, &q, 2, 0, 513);
        assert_eq!(
            q.pop_used(),
            Some(Err(QueueError::BadUsedLen { head: 0, len: 513 }))
        );
        assert_eq!((q.in_flight(), q.num_free()), (0, 2));
    }

    #[test]
    fn used_entries_are_checked_against_the_chains_in_flight() {
        let (dev, mut q) = queue(8, 3);
        q.add(&[seg(0x1000, 1, true)]).unwrap();
        complete(&dev, &q, 1, 1, 0);
        assert_eq!(q.pop_used(), Some(Err(QueueError::BadUsedId(1))));
        complete(&dev, &q, 3, 0, 0);
        assert_eq!(q.pop_used(), Some(Err(QueueError::BadUsedIdx(3))));
        assert_eq!(q.reclaim_one(), Some(0));
        assert_eq!(q.reclaim_one(), None);
    }

    #[test]
    fn write_desc_stays_in_the_table() {
        let (_, mut q) = queue(8, 3);
        let s = seg(0x1000, 16, false);
        assert_eq!(q.write_desc(8, s, None), Err(QueueError::BadChain));
        assert_eq!(q.write_desc(7, s, Some(8)), Err(QueueError::BadChain));
        assert_eq!(q.write_desc(7, s, Some(0)), Ok(()));
        assert_eq!(q.push(0, 0), Err(QueueError::BadChain));
        assert_eq!(q.push(4, 0), Err(QueueError::BadChain));
    }
}
