//! One ring's two halves: the producer's and the consumer's view of its
//! indices and entries in shared memory.
//!
//! Each side keeps its own index privately and only *writes* it to shared
//! memory; it never reads it back, since the peer could have overwritten
//! it. The peer's index is read on every use and checked against ours: a
//! ring of `N` entries never holds more than `N`.

use core::sync::atomic::{Ordering, fence};

use mmio_types::DmaRegion;

use crate::error::RingError;
use crate::layout::{ENTRIES, ENTRY, HEAD, SLEEPING, TAIL};

/// The producing side of a ring at byte `base` of the shared memory.
#[derive(Debug)]
pub(crate) struct Producer {
    base: usize,
    n: u32,
    head: u32,
}

impl Producer {
    pub(crate) fn new(base: usize, n: usize) -> Producer {
        Producer {
            base,
            n: n as u32,
            head: 0,
        }
    }

    /// Entries in the ring not yet consumed, from the peer's `tail`.
    fn used(&self, mem: &DmaRegion) -> Result<u32, RingError> {
        let tail: u32 = mem.read(self.base + TAIL)?;
        let used = self.head.wrapping_sub(tail);
        if used > self.n {
            return Err(RingError::PeerIndex {
                index: tail,
                ours: self.head,
            });
        }
        Ok(used)
    }

    /// Writes an entry and publishes it (entry first, then `head`).
    pub(crate) fn push(&mut self, mem: &mut DmaRegion, words: [u64; 2]) -> Result<(), RingError> {
        if self.used(mem)? == self.n {
            return Err(RingError::Full);
        }
        let slot = (self.head % self.n) as usize;
        mem.write_elems::<u64, 2>((self.base + ENTRIES + slot * ENTRY) / 8, words)?;
        // The entry is visible before the index that publishes it.
        fence(Ordering::Release);
        self.head = self.head.wrapping_add(1);
        mem.write::<u32>(self.base + HEAD, self.head)?;
        Ok(())
    }

    /// Whether the consumer said it may be blocked: then it must be
    /// signalled. Ordered after every `head` written before (the other half
    /// of [`Consumer::prepare_sleep`]).
    pub(crate) fn peer_sleeping(&self, mem: &DmaRegion) -> bool {
        fence(Ordering::SeqCst);
        mem.read::<u32>(self.base + SLEEPING).unwrap_or(1) != 0
    }
}

/// The consuming side of a ring at byte `base` of the shared memory.
#[derive(Debug)]
pub(crate) struct Consumer {
    base: usize,
    n: u32,
    tail: u32,
}

impl Consumer {
    pub(crate) fn new(base: usize, n: usize) -> Consumer {
        Consumer {
            base,
            n: n as u32,
            tail: 0,
        }
    }

    /// Entries published and not yet consumed, from the peer's `head`.
    pub(crate) fn available(&self, mem: &DmaRegion) -> Result<u32, RingError> {
        let head: u32 = mem.read(self.base + HEAD)?;
        let avail = head.wrapping_sub(self.tail);
        if avail > self.n {
            return Err(RingError::PeerIndex {
                index: head,
                ours: self.tail,
            });
        }
        Ok(avail)
    }

    /// Takes the next entry, if any: copied out of shared memory once, then
    /// the slot is handed back (`tail` written).
    pub(crate) fn pop(&mut self, mem: &mut DmaRegion) -> Result<Option<[u64; 2]>, RingError> {
        if self.available(mem)? == 0 {
            return Ok(None);
        }
        // The entry is read after the index that published it.
        fence(Ordering::Acquire);
        let slot = (self.tail % self.n) as usize;
        let at = (self.base + ENTRIES + slot * ENTRY) / 8;
        let words = [mem.read_elem::<u64>(at)?, mem.read_elem::<u64>(at + 1)?];
        self.tail = self.tail.wrapping_add(1);
        mem.write::<u32>(self.base + TAIL, self.tail)?;
        Ok(Some(words))
    }

    /// Says "I may block" (`sleeping = 1`), then looks again. `Ok(true)`:
    /// nothing arrived, the caller may `wait` for its bit (a producer that
    /// publishes from now on sees the flag and signals). `Ok(false)`:
    /// entries arrived in between; the flag is cleared again.
    pub(crate) fn prepare_sleep(&mut self, mem: &mut DmaRegion) -> Result<bool, RingError> {
        mem.write::<u32>(self.base + SLEEPING, 1)?;
        // The flag is visible before `head` is read again: with the
        // producer's fence between its `head` write and its flag read, one
        // of the two sides sees the other's write.
        fence(Ordering::SeqCst);
        if self.available(mem)? > 0 {
            mem.write::<u32>(self.base + SLEEPING, 0)?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Awake again: producers need not signal.
    pub(crate) fn woke(&mut self, mem: &mut DmaRegion) -> Result<(), RingError> {
        mem.write::<u32>(self.base + SLEEPING, 0)?;
        Ok(())
    }
}
