//! The requesting end of a channel: owns the buffers, lends them with
//! requests and gets them back with completions.

use mmio_types::DmaRegion;

use crate::desc::Desc;
use crate::error::RingError;
use crate::layout::Layout;
use crate::ring::{Consumer, Producer};

/// One of the client's buffers, held by the client. Neither `Copy` nor
/// `Clone`: [`Client::submit`] takes it, so once a buffer is lent to the
/// server no code of the client can name it until a completion hands it
/// back from [`Client::poll`].
#[must_use = "a buffer not submitted or released stays held"]
#[derive(Debug, PartialEq, Eq)]
pub struct Buf {
    index: u8,
    /// The channel it belongs to (its shared memory's address).
    owner: usize,
}

impl Buf {
    /// Which buffer of the channel it is.
    pub fn index(&self) -> usize {
        usize::from(self.index)
    }
}

/// The client end of a channel laid out as [`Layout<N, BUFS, BUF_SIZE>`]:
/// produces requests, consumes completions.
#[derive(Debug)]
pub struct Client<const N: usize, const BUFS: usize, const BUF_SIZE: usize> {
    mem: DmaRegion,
    requests: Producer,
    completions: Consumer,
    /// Buffers in the pool, held as tokens, and lent to the server (each
    /// buffer is in exactly one of the three).
    free: u64,
    held: u64,
    lent: u64,
}

impl<const N: usize, const BUFS: usize, const BUF_SIZE: usize> Client<N, BUFS, BUF_SIZE> {
    /// The client end over a fresh (zeroed) channel's memory; every buffer
    /// starts in its pool.
    pub fn new(mem: DmaRegion) -> Result<Self, RingError> {
        let () = Layout::<N, BUFS, BUF_SIZE>::CHECK;
        let need = Layout::<N, BUFS, BUF_SIZE>::TOTAL;
        if mem.len() < need {
            return Err(RingError::TooSmall {
                need,
                have: mem.len(),
            });
        }
        Ok(Client {
            mem,
            requests: Producer::new(Layout::<N, BUFS, BUF_SIZE>::REQUESTS, N),
            completions: Consumer::new(Layout::<N, BUFS, BUF_SIZE>::COMPLETIONS, N),
            free: mask(BUFS),
            held: 0,
            lent: 0,
        })
    }

    fn owner(&self) -> usize {
        self.mem.addr()
    }

    fn is_mine(&self, buf: &Buf, set: u64) -> bool {
        buf.owner == self.owner() && usize::from(buf.index) < BUFS && set & bit(buf.index) != 0
    }

    /// Takes a buffer from the pool (the lowest free one).
    pub fn alloc(&mut self) -> Option<Buf> {
        if self.free == 0 {
            return None;
        }
        let index = self.free.trailing_zeros() as u8;
        self.free &= !bit(index);
        self.held |= bit(index);
        Some(Buf {
            index,
            owner: self.owner(),
        })
    }

    /// Puts a held buffer back in the pool. A token of another channel is
    /// given back as `Err`.
    pub fn release(&mut self, buf: Buf) -> Result<(), Buf> {
        if !self.is_mine(&buf, self.held) {
            return Err(buf);
        }
        self.held &= !bit(buf.index);
        self.free |= bit(buf.index);
        Ok(())
    }

    fn range(&self, buf: &Buf, offset: usize, len: usize) -> Result<usize, RingError> {
        if !self.is_mine(buf, self.held) {
            return Err(RingError::OutOfBuffer);
        }
        match offset.checked_add(len) {
            Some(end) if end <= BUF_SIZE => {}
            _ => return Err(RingError::OutOfBuffer),
        }
        Ok(Layout::<N, BUFS, BUF_SIZE>::buffer(usize::from(buf.index)) + offset)
    }

    /// Copies `data` into `buf` at `offset`.
    pub fn write(&mut self, buf: &mut Buf, offset: usize, data: &[u8]) -> Result<(), RingError> {
        let at = self.range(buf, offset, data.len())?;
        Ok(self.mem.write_bytes(at, data)?)
    }

    /// Copies `out.len()` bytes of `buf` from `offset` into `out`.
    pub fn read(&self, buf: &Buf, offset: usize, out: &mut [u8]) -> Result<(), RingError> {
        let at = self.range(buf, offset, out.len())?;
        Ok(self.mem.read_bytes(at, out)?)
    }

    /// Lends `buf` to the server with request `desc` (`desc.len` at most
    /// the buffer size). On failure (ring full, a token of another channel,
    /// a broken ring) the buffer comes back with the error.
    pub fn submit(&mut self, desc: Desc, buf: Buf) -> Result<(), (RingError, Buf)> {
        if !self.is_mine(&buf, self.held) || desc.len as usize > BUF_SIZE {
            return Err((RingError::OutOfBuffer, buf));
        }
        if let Err(e) = self.requests.push(&mut self.mem, desc.encode(buf.index)) {
            return Err((e, buf));
        }
        self.held &= !bit(buf.index);
        self.lent |= bit(buf.index);
        Ok(())
    }

    /// Whether the server said it may be blocked: signal it after
    /// submitting (signalling an awake server is wasted work).
    pub fn server_sleeping(&self) -> bool {
        self.requests.peer_sleeping(&self.mem)
    }

    /// Takes the next completion, if any, with the buffer it returns. A
    /// completion naming a buffer the server does not hold, or a length
    /// beyond the buffer, is the server's fault: an error, nothing handed
    /// out.
    pub fn poll(&mut self) -> Result<Option<(Desc, Buf)>, RingError> {
        let Some(words) = self.completions.pop(&mut self.mem)? else {
            return Ok(None);
        };
        let (desc, index) = Desc::decode(words);
        if usize::from(index) >= BUFS || self.lent & bit(index) == 0 {
            return Err(RingError::PeerBuffer(index));
        }
        if desc.len as usize > BUF_SIZE {
            return Err(RingError::PeerLength(desc.len));
        }
        self.lent &= !bit(index);
        self.held |= bit(index);
        Ok(Some((
            desc,
            Buf {
                index,
                owner: self.owner(),
            },
        )))
    }

    /// Before blocking for completions: `Ok(true)` if none arrived and the
    /// caller may `wait` for its bit (the server will signal);
    /// `Ok(false)` if some arrived meanwhile. Call [`Client::woke`] after
    /// the wait.
    pub fn prepare_sleep(&mut self) -> Result<bool, RingError> {
        self.completions.prepare_sleep(&mut self.mem)
    }

    /// Back from `wait`: the server need not signal any more.
    pub fn woke(&mut self) -> Result<(), RingError> {
        self.completions.woke(&mut self.mem)
    }

    /// Buffers lent to the server.
    pub fn in_flight(&self) -> usize {
        self.lent.count_ones() as usize
    }
}

/// The bit of buffer `index`.
pub(crate) fn bit(index: u8) -> u64 {
    1u64.checked_shl(u32::from(index)).unwrap_or(0)
}

/// The bits of buffers `0..n` (`n <= 64`).
pub(crate) fn mask(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}
