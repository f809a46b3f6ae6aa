//! The errors of the virtio-blk driver.

use mmio_types::DmaError;

use crate::device::InitError;
use crate::queue::QueueError;

/// Why a virtio-blk operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlkError {
    /// Identification, reset, feature negotiation or queue discovery failed.
    Init(InitError),
    /// The queue memory cannot hold even a one-entry queue.
    QueueMemoryTooSmall,
    /// Not enough free descriptors: wait for completions and retry.
    QueueFull,
    /// The sectors lie (partly) past the end of the device.
    OutOfRange,
    /// The length is 0 or not a multiple of 512 bytes.
    BadLength,
    /// The device is read-only (`VIRTIO_BLK_F_RO`).
    ReadOnly,
    /// Flush without `VIRTIO_BLK_F_FLUSH` negotiated.
    FlushNotNegotiated,
    /// A blocking call was made while split-API requests are in flight.
    Busy,
    /// No bounce buffer: the queue memory has no room left after the queue.
    NoBounceBuffer,
    /// The device answered `VIRTIO_BLK_S_IOERR`.
    IoError,
    /// The device answered `VIRTIO_BLK_S_UNSUPP`.
    Unsupported,
    /// The device wrote a status byte that is none of OK, IOERR, UNSUPP
    /// (or did not write it at all).
    BadStatus(u8),
    /// The device returned a used id that is no request in flight; the
    /// device has been reset and every request in flight fails.
    BadUsedId(u32),
    /// The device moved `used.idx` past the requests in flight; the device
    /// has been reset and every request in flight fails.
    BadUsedIdx(u16),
    /// The device reported writing more bytes than the request offered.
    BadUsedLen(u32),
    /// The device set `DEVICE_NEEDS_RESET`; it has been reset and every
    /// request in flight fails.
    NeedsReset,
    /// The device was given up on earlier (after one of the errors above);
    /// no new requests are accepted.
    Broken,
    /// A buffer range lies outside its DMA region.
    Dma(DmaError),
}

impl core::fmt::Display for BlkError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            BlkError::Init(e) => write!(f, "{e}"),
            BlkError::QueueMemoryTooSmall => write!(f, "the queue memory is too small"),
            BlkError::QueueFull => write!(f, "the queue is full"),
            BlkError::OutOfRange => write!(f, "the sectors lie past the end of the disk"),
            BlkError::BadLength => write!(f, "the length is no whole number of sectors"),
            BlkError::ReadOnly => write!(f, "the disk is read-only (VIRTIO_BLK_F_RO)"),
            BlkError::FlushNotNegotiated => write!(f, "the device offers no flush"),
            BlkError::Busy => write!(f, "requests are still in flight"),
            BlkError::NoBounceBuffer => write!(f, "no room for a bounce buffer"),
            BlkError::IoError => write!(f, "the device reported an I/O error"),
            BlkError::Unsupported => write!(f, "the device does not support the request"),
            BlkError::BadStatus(s) => write!(f, "the device wrote status byte {s:#x}"),
            BlkError::BadUsedId(id) => write!(f, "the device returned unknown used id {id}"),
            BlkError::BadUsedIdx(idx) => write!(f, "the device moved used.idx to {idx}"),
            BlkError::BadUsedLen(len) => {
                write!(
                    f,
                    "the device reported writing {len} bytes, more than offered"
                )
            }
            BlkError::NeedsReset => write!(f, "the device needs a reset"),
            BlkError::Broken => write!(f, "the device was given up on after an earlier error"),
            BlkError::Dma(e) => write!(f, "a buffer lies outside its DMA region ({e:?})"),
        }
    }
}

impl From<InitError> for BlkError {
    fn from(e: InitError) -> Self {
        BlkError::Init(e)
    }
}

impl From<DmaError> for BlkError {
    fn from(e: DmaError) -> Self {
        BlkError::Dma(e)
    }
}

impl From<QueueError> for BlkError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Full => BlkError::QueueFull,
            QueueError::BadChain => BlkError::BadLength,
            QueueError::BadUsedIdx(idx) => BlkError::BadUsedIdx(idx),
            QueueError::BadUsedId(id) => BlkError::BadUsedId(id),
            QueueError::BadUsedLen { len, .. } => BlkError::BadUsedLen(len),
            QueueError::Dma(e) => BlkError::Dma(e),
        }
    }
}
