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
pub struct SplitQueue {
    mem: DmaRegion,
    layout: QueueLayout,
    mask: u16,
    free_head: u16,
    num_free: u16,
    in_flight: u16,
    /// Shadow of `avail.idx`: the driver never reads it back.
    avail_idx: u16,
    /// Next used-ring entry to consume.
    last_used: u16,
    /// Driver-side descriptor links: the free list, and each chain in flight.
    next: [u16; MAX_QUEUE_SIZE as usize],
    /// Descriptors in the chain headed here; 0 if not a head in flight.
    chain_len: [u16; MAX_QUEUE_SIZE as usize],
    /// Device-writable bytes of the chain headed here.
    writable: [u32; MAX_QUEUE_SIZE as usize],
}

impl core::fmt::Debug for SplitQueue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SplitQueue")
            .field("layout", &self.layout)
            .field("num_free", &self.num_free)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl SplitQueue {
    /// Lays a queue out in `mem` (zeroing the layout's bytes) with every
    /// descriptor free. `interrupts` clears or sets the available ring's
    /// `NO_INTERRUPT` hint.
    pub fn new(
        mut mem: DmaRegion,
        layout: QueueLayout,
        interrupts: bool,
    ) -> Result<SplitQueue, (QueueError, DmaRegion)> {
        if let Err(e) = mem.fill(0, layout.len, 0) {
            return Err((e.into(), mem));
        }
        let flags = if interrupts { 0 } else { AVAIL_F_NO_INTERRUPT };
        if let Err(e) = mem.write::<u16>(layout.avail, flags.to_le()) {
            return Err((e.into(), mem));
        }
        let size = layout.size;
        Ok(SplitQueue {
            mem,
            layout,
            mask: size - 1,
            free_head: 0,
            num_free: size,
            in_flight: 0,
            avail_idx: 0,
            last_used: 0,
            next: core::array::from_fn(|i| (i as u16 + 1) & (size - 1)),
            chain_len: [0; MAX_QUEUE_SIZE as usize],
            writable: [0; MAX_QUEUE_SIZE as usize],
        })
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

    /// Free descriptors.
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
        self.chain_len
            .get(usize::from(head))
            .is_some_and(|&n| n != 0)
    }

    /// The head descriptor the next [`add`](Self::add) will use, so its
    /// scratch bytes can be filled first. Meaningless if no descriptor is free.
    #[inline]
    pub fn next_head(&self) -> u16 {
        self.free_head
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

    /// Writes a chain of descriptors for `segments` and makes it available:
    /// descriptors first, then the ring entry, then a release fence, then
    /// `avail.idx`. Returns the head. Does not notify: see
    /// [`should_notify`](Self::should_notify).
    #[inline]
    pub fn add(&mut self, segments: &[Segment]) -> Result<u16, QueueError> {
        let n = segments.len();
        if n == 0 || n > usize::from(self.layout.size) {
            return Err(QueueError::BadChain);
        }
        if n > usize::from(self.num_free) {
            return Err(QueueError::Full);
        }
        let head = self.free_head;
        let mut desc = head;
        let mut writable = 0u32;
        for (i, seg) in segments.iter().enumerate() {
            let next = self.next[ix(desc)];
            let mut flags = 0;
            if seg.device_writes {
                flags |= DESC_F_WRITE;
                writable = writable.saturating_add(seg.range.len);
            }
            if i + 1 < n {
                flags |= DESC_F_NEXT;
            }
            let off = 16 * usize::from(desc);
            let word = u64::from(seg.range.len) | flags << 32 | u64::from(next) << 48;
            self.mem.write::<u64>(off, seg.range.addr.to_le())?;
            self.mem.write::<u64>(off + 8, word.to_le())?;
            if i + 1 < n {
                desc = next;
            }
        }
        let slot = usize::from(self.avail_idx & self.mask);
        self.mem
            .write::<u16>(self.layout.avail + 4 + 2 * slot, head.to_le())?;

        self.free_head = self.next[ix(desc)];
        self.num_free -= n as u16;
        self.in_flight += 1;
        self.chain_len[ix(head)] = n as u16;
        self.writable[ix(head)] = writable;

        self.avail_idx = self.avail_idx.wrapping_add(1);
        fence(Ordering::Release);
        self.mem
            .write::<u16>(self.layout.avail + 2, self.avail_idx.to_le())?;
        Ok(head)
    }

    /// Whether the device wants a notification for what was just made
    /// available. Issues the full fence the notification needs: `avail.idx`
    /// is visible before `used.flags` is read and before any notify write.
    #[inline]
    pub fn should_notify(&self) -> bool {
        fence(Ordering::SeqCst);
        match self.mem.read::<u16>(self.layout.used) {
            Ok(flags) => u16::from_le(flags) & USED_F_NO_NOTIFY == 0,
            Err(_) => true,
        }
    }

    /// Takes the next chain from the used ring, if the device returned one:
    /// reads `used.idx`, then an acquire fence, then the entry. The entry is
    /// checked against the chains in flight before anything is freed.
    #[inline]
    pub fn pop_used(&mut self) -> Option<Result<Used, QueueError>> {
        let idx = match self.mem.read::<u16>(self.layout.used + 2) {
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
        let elem = match self.mem.read::<u64>(self.layout.used + 4 + 8 * slot) {
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
        let writable = self.writable[ix(head)];
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

    fn free_chain(&mut self, head: u16) {
        let n = self.chain_len[ix(head)];
        let mut tail = head;
        for _ in 1..n {
            tail = self.next[ix(tail)];
        }
        self.next[ix(tail)] = self.free_head;
        self.free_head = head;
        self.num_free += n;
        self.in_flight -= 1;
        self.chain_len[ix(head)] = 0;
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
