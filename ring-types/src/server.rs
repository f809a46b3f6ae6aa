//! The serving end of a channel: takes requests, each with a lease on the
//! client buffer it names, and returns the lease with the completion.

use mmio_types::DmaRegion;

use crate::client::{bit, mask};
use crate::desc::Desc;
use crate::error::RingError;
use crate::layout::Layout;
use crate::ring::{Consumer, Producer};

/// The server's hold on one client buffer, for one request. Neither `Copy`
/// nor `Clone`: [`Server::complete`] (or [`Server::reclaim`]) consumes it,
/// so a buffer is answered at most once.
#[must_use = "a lease not completed or reclaimed keeps the client's buffer"]
#[derive(Debug, PartialEq, Eq)]
pub struct Lease {
    index: u8,
    /// The channel it belongs to.
    owner: usize,
}

impl Lease {
    /// Which buffer of the channel it is.
    pub fn index(&self) -> usize {
        usize::from(self.index)
    }
}

/// The server end of a channel laid out as [`Layout<N, BUFS, BUF_SIZE>`]:
/// consumes requests, produces completions. Everything it reads was
/// written by the client and is checked: indices against the ring size,
/// buffer ids against the buffers and the leases already out, lengths
/// against the buffer size.
#[derive(Debug)]
pub struct Server<const N: usize, const BUFS: usize, const BUF_SIZE: usize> {
    mem: DmaRegion,
    requests: Consumer,
    completions: Producer,
    leased: u64,
}

impl<const N: usize, const BUFS: usize, const BUF_SIZE: usize> Server<N, BUFS, BUF_SIZE> {
    /// The server end over the channel's memory.
    pub fn new(mem: DmaRegion) -> Result<Self, RingError> {
        let () = Layout::<N, BUFS, BUF_SIZE>::CHECK;
        let need = Layout::<N, BUFS, BUF_SIZE>::TOTAL;
        if mem.len() < need {
            return Err(RingError::TooSmall {
                need,
                have: mem.len(),
            });
        }
        Ok(Server {
            mem,
            requests: Consumer::new(Layout::<N, BUFS, BUF_SIZE>::REQUESTS, N),
            completions: Producer::new(Layout::<N, BUFS, BUF_SIZE>::COMPLETIONS, N),
            leased: 0,
        })
    }

    fn owner(&self) -> usize {
        self.mem.addr()
    }

    fn is_mine(&self, lease: &Lease) -> bool {
        lease.owner == self.owner()
            && usize::from(lease.index) < BUFS
            && self.leased & bit(lease.index) != 0
    }

    /// Takes the next request, if any, with a lease on its buffer.
    /// A buffer that does not exist or is already leased, or a length
    /// beyond the buffer, is the client's fault: an error, no lease.
    pub fn take_request(&mut self) -> Result<Option<(Desc, Lease)>, RingError> {
        let Some(words) = self.requests.pop(&mut self.mem)? else {
            return Ok(None);
        };
        let (desc, index) = Desc::decode(words);
        if usize::from(index) >= BUFS || self.leased & bit(index) != 0 {
            return Err(RingError::PeerBuffer(index));
        }
        if desc.len as usize > BUF_SIZE {
            return Err(RingError::PeerLength(desc.len));
        }
        self.leased |= bit(index);
        Ok(Some((
            desc,
            Lease {
                index,
                owner: self.owner(),
            },
        )))
    }

    /// Byte offset of the leased buffer in the channel's memory (with
    /// [`Server::region`], what a device is given).
    pub fn offset(&self, lease: &Lease) -> usize {
        Layout::<N, BUFS, BUF_SIZE>::buffer(usize::from(lease.index).min(BUFS - 1))
    }

    /// The channel's memory, to build device ranges over leased buffers.
    pub fn region(&self) -> &DmaRegion {
        &self.mem
    }

    fn range(&self, lease: &Lease, offset: usize, len: usize) -> Result<usize, RingError> {
        if !self.is_mine(lease) {
            return Err(RingError::OutOfBuffer);
        }
        match offset.checked_add(len) {
            Some(end) if end <= BUF_SIZE => Ok(self.offset(lease) + offset),
            _ => Err(RingError::OutOfBuffer),
        }
    }

    /// Copies `out.len()` bytes of the leased buffer from `offset`.
    pub fn read(&self, lease: &Lease, offset: usize, out: &mut [u8]) -> Result<(), RingError> {
        let at = self.range(lease, offset, out.len())?;
        Ok(self.mem.read_bytes(at, out)?)
    }

    /// Copies `data` into the leased buffer at `offset`.
    pub fn write(
        &mut self,
        lease: &mut Lease,
        offset: usize,
        data: &[u8],
    ) -> Result<(), RingError> {
        let at = self.range(lease, offset, data.len())?;
        Ok(self.mem.write_bytes(at, data)?)
    }

    /// Answers the lease's request with `desc` and hands the buffer back.
    /// The lease is gone either way; an error means the client broke the
    /// ring (it claims to have consumed completions it has not), so give
    /// the channel up.
    pub fn complete(&mut self, lease: Lease, desc: Desc) -> Result<(), RingError> {
        if !self.is_mine(&lease) {
            return Err(RingError::OutOfBuffer);
        }
        self.leased &= !bit(lease.index);
        let desc = Desc {
            len: desc.len.min(BUF_SIZE as u32),
            ..desc
        };
        self.completions
            .push(&mut self.mem, desc.encode(lease.index))
    }

    /// Gives a lease back without answering (the client is gone).
    pub fn reclaim(&mut self, lease: Lease) {
        if self.is_mine(&lease) {
            self.leased &= !bit(lease.index);
        }
    }

    /// Starts the ring over, as [`Server::new`] over the same memory would:
    /// for a channel reset after the client was restarted (the kernel's
    /// `channel_reset` zeroes the memory). Refused with
    /// [`RingError::Leased`] while a lease is out: a buffer that a device
    /// may still write into is not handed to the client's new life.
    pub fn start_over(&mut self) -> Result<(), RingError> {
        match self.leased() {
            0 => {
                self.requests = Consumer::new(Layout::<N, BUFS, BUF_SIZE>::REQUESTS, N);
                self.completions = Producer::new(Layout::<N, BUFS, BUF_SIZE>::COMPLETIONS, N);
                Ok(())
            }
            n => Err(RingError::Leased(n)),
        }
    }

    /// Leases out (requests taken and not yet completed or reclaimed).
    pub fn leased(&self) -> usize {
        (self.leased & mask(BUFS)).count_ones() as usize
    }

    /// Whether the client said it may be blocked: signal it after
    /// completing.
    pub fn client_sleeping(&self) -> bool {
        self.completions.peer_sleeping(&self.mem)
    }

    /// Before blocking for requests: `Ok(true)` if none arrived and the
    /// caller may `wait` for its bit; `Ok(false)` if some arrived. Call
    /// [`Server::woke`] after the wait.
    pub fn prepare_sleep(&mut self) -> Result<bool, RingError> {
        self.requests.prepare_sleep(&mut self.mem)
    }

    /// Back from `wait`.
    pub fn woke(&mut self) -> Result<(), RingError> {
        self.requests.woke(&mut self.mem)
    }

    /// Gives the memory back.
    pub fn into_region(self) -> DmaRegion {
        self.mem
    }
}
