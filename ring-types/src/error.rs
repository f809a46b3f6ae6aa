//! What goes wrong on a ring: the peer broke the protocol, or the caller
//! asked for something the layout does not allow.

use core::fmt;

use mmio_types::DmaError;

/// Why a ring operation failed. The `Peer*` errors mean the other side
/// wrote something no honest peer writes; the channel should be given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// The shared memory is smaller than the layout needs.
    TooSmall {
        /// Bytes the layout needs.
        need: usize,
        /// Bytes there are.
        have: usize,
    },
    /// The peer's index claims more entries than the ring holds.
    PeerIndex {
        /// The index read.
        index: u32,
        /// Our own index it was compared with.
        ours: u32,
    },
    /// An entry names a buffer that does not exist, or that the peer does
    /// not hold.
    PeerBuffer(u8),
    /// An entry's length is larger than its buffer.
    PeerLength(u32),
    /// No room: the ring is full.
    Full,
    /// A byte range outside the buffer.
    OutOfBuffer,
    /// Buffers are still lent to this end: the ring cannot start over.
    Leased(usize),
}

impl RingError {
    /// Whether the peer broke the protocol (rather than the caller).
    pub fn is_peer_fault(self) -> bool {
        matches!(
            self,
            RingError::PeerIndex { .. } | RingError::PeerBuffer(_) | RingError::PeerLength(_)
        )
    }
}

impl From<DmaError> for RingError {
    fn from(_: DmaError) -> Self {
        RingError::OutOfBuffer
    }
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingError::TooSmall { need, have } => {
                write!(f, "shared memory of {have} bytes, the layout needs {need}")
            }
            RingError::PeerIndex { index, ours } => {
                write!(f, "peer index {index} is impossible against ours {ours}")
            }
            RingError::PeerBuffer(b) => write!(f, "peer named buffer {b}, which it does not hold"),
            RingError::PeerLength(l) => write!(f, "peer length {l} exceeds the buffer"),
            RingError::Full => write!(f, "the ring is full"),
            RingError::OutOfBuffer => write!(f, "range outside the buffer"),
            RingError::Leased(n) => write!(f, "{n} buffer(s) still lent to this end"),
        }
    }
}
