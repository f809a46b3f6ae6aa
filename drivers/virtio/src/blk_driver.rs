//! The virtio-blk driver: one request queue, zero-copy reads and writes of 512-byte sectors.
//!
//! A request is a chain of three descriptors (virtio 1.2, section 5.2.6):
//! a 16-byte header the device reads (type, reserved, sector), the caller's
//! data buffer (device-writable for reads), and a status byte the device
//! writes. Headers and status bytes live in the queue's scratch area, one
//! per head descriptor. Flush is header and status only.
//!
//! Each request owns a fixed run of three descriptors of the queue (see
//! [`SplitQueue`]): its header descriptor and the status descriptor of a
//! data request never change, so they are written once at initialisation,
//! and a request writes only its middle descriptor (the data buffer, or
//! the status byte for a flush).
//!
//! The split API ([`VirtioBlk::submit_read`], [`VirtioBlk::submit_write`],
//! [`VirtioBlk::submit_flush`], [`VirtioBlk::poll`]) never blocks; the
//! blocking calls submit one request and spin on [`VirtioBlk::poll`].

use core::fmt;

use mmio_types::DmaRegion;

use crate::blk::{self, BlkFeatures, DEVICE_ID};
use crate::blk_error::BlkError;
use crate::device::{self, Transport};
use crate::features::Features;
use crate::irq::{IrqDevice, IrqError, IrqSys, Pending};
use crate::mmio::VirtioMmioWindow;
use crate::queue::{DmaRange, QueueError, QueueLayout, Segment, SplitQueue};
use crate::status::DeviceStatus;

/// Bytes per sector.
pub const SECTOR_SIZE: usize = 512;

const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;

const S_OK: u8 = 0;
const S_IOERR: u8 = 1;
const S_UNSUPP: u8 = 2;
/// Written to the status byte before submission: no valid status.
const S_UNSET: u8 = 0xff;

/// Header bytes per request.
const HEADER_LEN: usize = 16;
/// Scratch bytes per descriptor: a header and a status byte.
const SCRATCH_PER_ENTRY: usize = HEADER_LEN + 1;
/// The request queue.
const QUEUE: u16 = 0;
/// Descriptors of a request with data: header, data, status.
const REQ_DESCS: u16 = 3;
/// Spins of a blocking call between checks for `DEVICE_NEEDS_RESET`.
const STATUS_CHECK_INTERVAL: u32 = 1 << 16;

/// Bytes of queue memory a queue of `size` entries takes (a power of two,
/// at most [`MAX_QUEUE_SIZE`](crate::queue::MAX_QUEUE_SIZE)); what is left
/// of the region after it becomes the bounce buffer.
pub const fn queue_bytes(size: u16) -> Option<usize> {
    match QueueLayout::new(size, SCRATCH_PER_ENTRY) {
        Some(layout) => Some(layout.len()),
        None => None,
    }
}

/// A transport to a block device: the generic operations plus the device's
/// configuration space.
pub trait BlkTransport: Transport {
    /// `capacity` in 512-byte sectors, read consistently (inside a
    /// `ConfigGeneration` check).
    fn blk_capacity(&self) -> u64;
}

impl BlkTransport for VirtioMmioWindow {
    #[inline]
    fn blk_capacity(&self) -> u64 {
        blk::capacity(self)
    }
}

/// A request in flight, as [`VirtioBlk::poll`] reports it done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReqId(u16);

impl ReqId {
    /// The head descriptor's index (below the queue size).
    pub fn index(self) -> u16 {
        self.0
    }
}

/// A failed [`VirtioBlk::new`]: the error, and the parts given to it.
pub struct InitFailure<T> {
    /// What went wrong.
    pub error: BlkError,
    /// The transport (the device is reset or marked `FAILED`).
    pub transport: T,
    /// The queue memory, no longer known to the device.
    pub queue_mem: DmaRegion,
}

impl<T> fmt::Debug for InitFailure<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitFailure")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> From<InitFailure<T>> for BlkError {
    fn from(failure: InitFailure<T>) -> Self {
        failure.error
    }
}

/// A virtio-blk device driven through transport `T`.
pub struct VirtioBlk<T: BlkTransport> {
    transport: T,
    queue: SplitQueue,
    features: Features,
    capacity: u64,
    /// Offsets of the header and status arrays in the queue region.
    headers: usize,
    statuses: usize,
    /// Device address of the status bytes.
    statuses_dev: u64,
    /// The bounce buffer: the rest of the queue region.
    bounce: usize,
    bounce_len: usize,
    /// Set once the device misbehaved and was reset: why.
    broken: Option<BlkError>,
    /// Requests were made available since the device was last notified
    /// (submitted through a [`Batch`]).
    unannounced: bool,
}

/// Submissions announced to the device together (see
/// [`VirtioBlk::batch`]): each is made available at once; dropping the
/// batch notifies the device of all of them. A batch leaked with
/// `mem::forget` leaves its requests available but unannounced until the
/// driver's next notification (any later submission, or batch's end).
#[must_use = "the batch notifies the device when it is dropped"]
pub struct Batch<'a, T: BlkTransport> {
    blk: &'a mut VirtioBlk<T>,
}

impl<T: BlkTransport> Batch<'_, T> {
    /// [`VirtioBlk::submit_read`], announced with the batch.
    #[inline]
    pub fn submit_read(&mut self, sector: u64, buf: DmaRange) -> Result<ReqId, BlkError> {
        self.blk.read_request(sector, buf)
    }

    /// [`VirtioBlk::submit_write`], announced with the batch.
    #[inline]
    pub fn submit_write(&mut self, sector: u64, buf: DmaRange) -> Result<ReqId, BlkError> {
        self.blk.write_request(sector, buf)
    }

    /// [`VirtioBlk::submit_flush`], announced with the batch.
    #[inline]
    pub fn submit_flush(&mut self) -> Result<ReqId, BlkError> {
        self.blk.flush_request()
    }

    /// Notifies the device now of what the batch submitted so far (the
    /// batch goes on): to let the device start on part of a long batch.
    #[inline]
    pub fn announce(&mut self) {
        self.blk.announce();
    }

    /// The driver, for everything but submitting (capacity, flags).
    #[inline]
    pub fn driver(&self) -> &VirtioBlk<T> {
        self.blk
    }
}

impl<T: BlkTransport> Drop for Batch<'_, T> {
    fn drop(&mut self) {
        self.blk.announce();
    }
}

impl<T: BlkTransport> fmt::Debug for VirtioBlk<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtioBlk")
            .field("capacity", &self.capacity)
            .field("features", &self.features)
            .field("queue", &self.queue)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl<T: BlkTransport> VirtioBlk<T> {
    /// Initialises the device: identification (magic, version 2, device
    /// id 2), reset, ACKNOWLEDGE, DRIVER, features (`VERSION_1`, and `FLUSH`
    /// and `RO` if offered), FEATURES_OK, queue 0 in `queue_mem`, capacity,
    /// DRIVER_OK.
    ///
    /// The queue takes `min(QueueNumMax, 128, what fits in queue_mem)`
    /// entries (a power of two): one page gives 64, two pages 128. Bytes
    /// left after the queue become the bounce buffer of
    /// [`read_to_slice`](Self::read_to_slice). Used-buffer interrupts are
    /// suppressed: the driver polls. On failure the device is marked
    /// `FAILED` (unless it was not identified) and the parts come back.
    pub fn new(mut transport: T, queue_mem: DmaRegion) -> Result<Self, InitFailure<T>> {
        let wanted = Features::VERSION_1
            | Features::from_bits_retain((BlkFeatures::FLUSH | BlkFeatures::RO).bits());
        let fail = |transport, queue_mem, error: BlkError| {
            Err(InitFailure {
                error,
                transport,
                queue_mem,
            })
        };
        let features = match device::negotiate(&mut transport, DEVICE_ID, wanted) {
            Ok(features) => features,
            Err(e) => return fail(transport, queue_mem, e.into()),
        };
        let num_max = match device::queue_num_max(&mut transport, QUEUE) {
            Ok(n) => n,
            Err(e) => return fail(transport, queue_mem, e.into()),
        };
        let Some(layout) = QueueLayout::fit(num_max, queue_mem.len(), SCRATCH_PER_ENTRY) else {
            let error = device::fail(&mut transport, BlkError::QueueMemoryTooSmall);
            return fail(transport, queue_mem, error);
        };
        let mut queue = match SplitQueue::new(queue_mem, layout, REQ_DESCS, false) {
            Ok(queue) => queue,
            Err((e, queue_mem)) => {
                let error = device::fail(&mut transport, e.into());
                return fail(transport, queue_mem, error);
            }
        };
        let size = usize::from(layout.size());
        let headers = layout.scratch();
        let statuses = headers + HEADER_LEN * size;
        let bounce = (statuses + size).next_multiple_of(64);
        let region_len = queue.mem().len();
        let bounce_len = region_len.saturating_sub(bounce) / SECTOR_SIZE * SECTOR_SIZE;
        let addrs = (|| {
            Ok::<_, QueueError>((
                queue.areas()?,
                queue.mem().device_addr(headers)?,
                queue.mem().device_addr(statuses)?,
            ))
        })();
        let (areas, headers_dev, statuses_dev) = match addrs {
            Ok(addrs) => addrs,
            Err(e) => {
                let error = device::fail(&mut transport, e.into());
                return fail(transport, queue.into_region(), error);
            }
        };
        if let Err(e) = write_fixed_descs(&mut queue, headers_dev, statuses_dev) {
            let error = device::fail(&mut transport, e.into());
            return fail(transport, queue.into_region(), error);
        }
        transport.activate_queue(QUEUE, layout.size(), areas);
        let capacity = transport.blk_capacity();
        device::driver_ok(&mut transport);
        Ok(VirtioBlk {
            transport,
            queue,
            features,
            capacity,
            headers,
            statuses,
            statuses_dev,
            bounce,
            bounce_len,
            broken: None,
            unannounced: false,
        })
    }

    /// Asks the device to interrupt (or not) when it completes requests
    /// (the available ring's `NO_INTERRUPT` hint; off after [`new`](Self::new)).
    pub fn set_interrupts(&mut self, on: bool) -> Result<(), BlkError> {
        self.queue.set_interrupts(on).map_err(Into::into)
    }

    /// Capacity in 512-byte sectors, as read at initialisation.
    #[inline]
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The negotiated feature bits (device-independent and blk bits).
    #[inline]
    pub fn features(&self) -> Features {
        self.features
    }

    /// Whether the device is read-only.
    #[inline]
    pub fn read_only(&self) -> bool {
        self.features.bits() & BlkFeatures::RO.bits() != 0
    }

    /// Whether flush was negotiated.
    #[inline]
    pub fn can_flush(&self) -> bool {
        self.features.bits() & BlkFeatures::FLUSH.bits() != 0
    }

    /// Entries in the request queue. A read or write takes three, a flush two.
    #[inline]
    pub fn queue_size(&self) -> u16 {
        self.queue.size()
    }

    /// Requests submitted and not yet returned by [`poll`](Self::poll).
    #[inline]
    pub fn in_flight(&self) -> u16 {
        self.queue.in_flight()
    }

    /// Bytes of the internal bounce buffer (a multiple of 512; 0 if none).
    #[inline]
    pub fn bounce_len(&self) -> usize {
        self.bounce_len
    }

    /// Submits a read of `buf.len() / 512` sectors from `sector` into
    /// `buf`. The device writes `buf` directly; the memory must stay
    /// allocated until [`poll`](Self::poll) returns the request.
    #[inline]
    pub fn submit_read(&mut self, sector: u64, buf: DmaRange) -> Result<ReqId, BlkError> {
        let id = self.read_request(sector, buf)?;
        self.announce();
        Ok(id)
    }

    #[inline]
    fn read_request(&mut self, sector: u64, buf: DmaRange) -> Result<ReqId, BlkError> {
        self.check_range(sector, buf)?;
        self.submit(
            T_IN,
            sector,
            Some(Segment {
                range: buf,
                device_writes: true,
            }),
        )
    }

    /// Submits a write of `buf` to `buf.len() / 512` sectors from `sector`.
    /// The device reads `buf` directly; leave it unchanged until
    /// [`poll`](Self::poll) returns the request.
    #[inline]
    pub fn submit_write(&mut self, sector: u64, buf: DmaRange) -> Result<ReqId, BlkError> {
        let id = self.write_request(sector, buf)?;
        self.announce();
        Ok(id)
    }

    #[inline]
    fn write_request(&mut self, sector: u64, buf: DmaRange) -> Result<ReqId, BlkError> {
        if self.read_only() {
            return Err(BlkError::ReadOnly);
        }
        self.check_range(sector, buf)?;
        self.submit(
            T_OUT,
            sector,
            Some(Segment {
                range: buf,
                device_writes: false,
            }),
        )
    }

    /// Submits a cache flush; needs `VIRTIO_BLK_F_FLUSH`.
    #[inline]
    pub fn submit_flush(&mut self) -> Result<ReqId, BlkError> {
        let id = self.flush_request()?;
        self.announce();
        Ok(id)
    }

    #[inline]
    fn flush_request(&mut self) -> Result<ReqId, BlkError> {
        if !self.can_flush() {
            return Err(BlkError::FlushNotNegotiated);
        }
        self.submit(T_FLUSH, 0, None)
    }

    /// Starts a batch of submissions: requests submitted through it are
    /// made available at once, and the device is notified once, when the
    /// batch ends (is dropped), instead of once per request. A device that
    /// handles a notification synchronously (QEMU's, under TCG) then sees
    /// the whole batch in one pass, and can merge adjacent requests.
    #[inline]
    pub fn batch(&mut self) -> Batch<'_, T> {
        Batch { blk: self }
    }

    /// Notifies the device of the requests made available since it was
    /// last notified, if it wants notifications (its `NO_NOTIFY` hint).
    #[inline]
    fn announce(&mut self) {
        if core::mem::take(&mut self.unannounced) && self.queue.should_notify() {
            self.transport.notify(QUEUE);
        }
    }

    /// Takes one completed request, if any: its id and its outcome (from
    /// the status byte). Never blocks.
    ///
    /// If the device breaks the queue protocol (a used id that is no
    /// request in flight, a used index running ahead), it is reset at once,
    /// so it no longer touches any buffer, and every request still in
    /// flight is returned failed with that error, one per call.
    #[inline]
    pub fn poll(&mut self) -> Option<(ReqId, Result<(), BlkError>)> {
        if self.broken.is_none() {
            match self.queue.pop_used()? {
                Ok(used) => return Some((ReqId(used.head), self.status(used.head))),
                Err(QueueError::BadUsedLen { head, len }) => {
                    return Some((ReqId(head), Err(BlkError::BadUsedLen(len))));
                }
                Err(e) => self.give_up(e.into()),
            }
        }
        let cause = self.broken.unwrap_or(BlkError::Broken);
        self.queue
            .reclaim_one()
            .map(|head| (ReqId(head), Err(cause)))
    }

    /// Checks the device's `Status` (one register read): if it set
    /// `DEVICE_NEEDS_RESET`, gives up on it as [`poll`](Self::poll) does on
    /// a protocol violation, and the requests in flight come back failed
    /// with [`BlkError::NeedsReset`]. For split-API users that wait long;
    /// the blocking calls do it themselves now and then.
    pub fn check_device(&mut self) -> Result<(), BlkError> {
        if self.broken.is_some() {
            return Err(BlkError::Broken);
        }
        if self
            .transport
            .status()
            .contains(DeviceStatus::DEVICE_NEEDS_RESET)
        {
            self.give_up(BlkError::NeedsReset);
            return Err(BlkError::NeedsReset);
        }
        Ok(())
    }

    /// Reads `len` bytes (a multiple of 512) from `sector` into
    /// `buf[offset .. offset + len]`, waiting for completion.
    pub fn read(
        &mut self,
        sector: u64,
        buf: &mut DmaRegion,
        offset: usize,
        len: usize,
    ) -> Result<(), BlkError> {
        self.idle()?;
        let id = self.submit_read(sector, DmaRange::new(buf, offset, len)?)?;
        self.wait(id)
    }

    /// Writes `buf[offset .. offset + len]` (a multiple of 512 bytes) to
    /// `sector` on, waiting for completion.
    pub fn write(
        &mut self,
        sector: u64,
        buf: &DmaRegion,
        offset: usize,
        len: usize,
    ) -> Result<(), BlkError> {
        self.idle()?;
        let id = self.submit_write(sector, DmaRange::new(buf, offset, len)?)?;
        self.wait(id)
    }

    /// Flushes the device's write cache, waiting for completion.
    pub fn flush(&mut self) -> Result<(), BlkError> {
        self.idle()?;
        let id = self.submit_flush()?;
        self.wait(id)
    }

    /// Reads `buf.len()` bytes (a multiple of 512) from `sector` into an
    /// ordinary slice, through the bounce buffer (one request per
    /// [`bounce_len`](Self::bounce_len) bytes), waiting for completion.
    pub fn read_to_slice(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlkError> {
        self.check_slice(sector, buf.len())?;
        let mut sector = sector;
        for chunk in buf.chunks_mut(self.bounce_len) {
            let range = DmaRange::new(self.queue.mem(), self.bounce, chunk.len())?;
            let id = self.submit_read(sector, range)?;
            self.wait(id)?;
            self.queue.mem().read_bytes(self.bounce, chunk)?;
            sector += (chunk.len() / SECTOR_SIZE) as u64;
        }
        Ok(())
    }

    /// Writes `data` (a multiple of 512 bytes) to `sector` on from an
    /// ordinary slice, through the bounce buffer, waiting for completion.
    pub fn write_from_slice(&mut self, sector: u64, data: &[u8]) -> Result<(), BlkError> {
        self.check_slice(sector, data.len())?;
        if self.read_only() {
            return Err(BlkError::ReadOnly);
        }
        let mut sector = sector;
        for chunk in data.chunks(self.bounce_len) {
            self.queue.mem_mut().write_bytes(self.bounce, chunk)?;
            let range = DmaRange::new(self.queue.mem(), self.bounce, chunk.len())?;
            let id = self.submit_write(sector, range)?;
            self.wait(id)?;
            sector += (chunk.len() / SECTOR_SIZE) as u64;
        }
        Ok(())
    }

    /// Resets the device (it stops using the queue and every buffer) and
    /// gives back the transport and the queue memory. Requests in flight
    /// are abandoned.
    pub fn into_parts(mut self) -> (T, DmaRegion) {
        device::reset(&mut self.transport);
        (self.transport, self.queue.into_region())
    }

    #[inline]
    fn check_range(&self, sector: u64, buf: DmaRange) -> Result<(), BlkError> {
        let len = buf.len() as usize;
        if len == 0 || !len.is_multiple_of(SECTOR_SIZE) {
            return Err(BlkError::BadLength);
        }
        match sector.checked_add((len / SECTOR_SIZE) as u64) {
            Some(end) if end <= self.capacity => Ok(()),
            _ => Err(BlkError::OutOfRange),
        }
    }

    fn check_slice(&self, sector: u64, len: usize) -> Result<(), BlkError> {
        if len == 0 || !len.is_multiple_of(SECTOR_SIZE) {
            return Err(BlkError::BadLength);
        }
        match sector.checked_add((len / SECTOR_SIZE) as u64) {
            Some(end) if end <= self.capacity => {}
            _ => return Err(BlkError::OutOfRange),
        }
        if self.bounce_len == 0 {
            return Err(BlkError::NoBounceBuffer);
        }
        self.idle()
    }

    /// Fills the header and status byte of the next request, writes its
    /// middle descriptor (`data`, or the status byte for a flush), then
    /// makes it available; the caller announces it.
    #[inline]
    fn submit(&mut self, kind: u32, sector: u64, data: Option<Segment>) -> Result<ReqId, BlkError> {
        if self.broken.is_some() {
            return Err(BlkError::Broken);
        }
        let descs = if data.is_some() { REQ_DESCS } else { 2 };
        let Some(head) = self.queue.next_head() else {
            return Err(BlkError::QueueFull);
        };
        if self.queue.chain_capacity() < descs {
            return Err(BlkError::QueueFull);
        }
        let at = usize::from(head);
        let mem = self.queue.mem_mut();
        mem.write_elems::<u64, 2>(
            (self.headers + HEADER_LEN * at) / 8,
            [u64::from(kind).to_le(), sector.to_le()],
        )?;
        mem.write_elem::<u8>(self.statuses + at, S_UNSET)?;

        let (middle, next, writable) = match data {
            Some(data) => {
                let writable = if data.device_writes {
                    data.range.len().saturating_add(1)
                } else {
                    1
                };
                (data, Some(head + 2), writable)
            }
            None => (status_segment(self.statuses_dev, head), None, 1),
        };
        self.queue.write_desc(head + 1, middle, next)?;
        let head = self.queue.push(descs, writable)?;
        self.unannounced = true;
        Ok(ReqId(head))
    }

    /// The outcome of the request headed by `head`, from its status byte.
    #[inline]
    fn status(&self, head: u16) -> Result<(), BlkError> {
        match self
            .queue
            .mem()
            .read_elem::<u8>(self.statuses + usize::from(head))?
        {
            S_OK => Ok(()),
            S_IOERR => Err(BlkError::IoError),
            S_UNSUPP => Err(BlkError::Unsupported),
            other => Err(BlkError::BadStatus(other)),
        }
    }

    /// Gives up on a misbehaving device: resets it (so it stops DMA) and
    /// marks it `FAILED`; requests in flight will fail with `cause`.
    fn give_up(&mut self, cause: BlkError) {
        self.broken = Some(cause);
        device::reset(&mut self.transport);
        self.transport.set_status(DeviceStatus::FAILED);
    }

    fn idle(&self) -> Result<(), BlkError> {
        if self.queue.in_flight() != 0 {
            return Err(BlkError::Busy);
        }
        Ok(())
    }

    /// Spins on [`poll`](Self::poll) until request `id` completes, checking
    /// now and then whether the device needs a reset.
    fn wait(&mut self, id: ReqId) -> Result<(), BlkError> {
        let mut spins = 0u32;
        loop {
            if let Some((done, result)) = self.poll() {
                if done == id {
                    return result;
                }
                continue;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(STATUS_CHECK_INTERVAL) {
                // A failure shows up through `poll` on the next turn.
                let _ = self.check_device();
            }
        }
    }
}

/// The device-writable status byte of the request headed by `head`.
#[inline]
fn status_segment(statuses_dev: u64, head: u16) -> Segment {
    Segment {
        range: DmaRange::from_parts(statuses_dev + u64::from(head), 1),
        device_writes: true,
    }
}

/// Writes the descriptors every request of a head shares: the header
/// (continuing at the next descriptor) and, if a data request fits, the
/// status byte after the data descriptor.
fn write_fixed_descs(
    queue: &mut SplitQueue,
    headers_dev: u64,
    statuses_dev: u64,
) -> Result<(), QueueError> {
    let data_fits = queue.chain_capacity() >= REQ_DESCS;
    for head in queue.heads() {
        let header = Segment {
            range: DmaRange::from_parts(
                headers_dev + (HEADER_LEN as u64) * u64::from(head),
                HEADER_LEN as u32,
            ),
            device_writes: false,
        };
        if queue.chain_capacity() >= 2 {
            queue.write_desc(head, header, Some(head + 1))?;
        }
        if data_fits {
            queue.write_desc(head + 2, status_segment(statuses_dev, head), None)?;
        }
    }
    Ok(())
}

impl<T: BlkTransport, S: IrqSys> VirtioBlk<IrqDevice<T, S>> {
    /// Blocks until the device interrupts (or `time` reaches `deadline`);
    /// see [`crate::irq`] for what to do with the token.
    pub fn wait_interrupt(&mut self, deadline: u64) -> Result<Pending<'_, T, S>, IrqError> {
        self.transport.wait(deadline)
    }

    /// Blocks until the device interrupts or a bit of `also` is raised (or
    /// `time` reaches `deadline`); see [`IrqDevice::wait_also`].
    pub fn wait_interrupt_also(
        &mut self,
        also: u64,
        deadline: u64,
    ) -> Result<(Option<Pending<'_, T, S>>, u64), IrqError> {
        self.transport.wait_also(also, deadline)
    }
}
