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
