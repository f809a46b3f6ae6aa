//! When netd hands the hart to a relay's client.
//!
//! netd signals a relay's client for a datagram and, when the client said
//! it was asleep, yields at once so the client answers in the same round
//! (see `serve_relays` in the task). A client that says it is asleep and
//! then keeps the hart turns that courtesy into a weapon: every datagram
//! to its port would cost netd a whole time slice. So netd times each
//! handoff, and stops handing off to a client whose handoffs keep netd
//! off the hart too long, [`STRIKES`] times in a row. Such a client is
//! still served: it is signalled, and runs when the scheduler's round
//! robin comes to it, like any other task.

/// A handoff that keeps netd off the hart longer than this (in `time`
/// ticks of the 10 MHz timer: 1 ms) is a strike. An honest client answers
/// a datagram in a few microseconds.
pub const LIMIT_TICKS: u64 = 10_000;

/// Strikes in a row after which netd no longer hands off to the client.
/// One slow handoff can be the host's doing (QEMU descheduled); three in a
/// row are the client's.
pub const STRIKES: u8 = 3;

/// One relay's handoff record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Handoff {
    strikes: u8,
    off: bool,
}

impl Handoff {
    /// Whether netd may still yield to this client after signalling it.
    pub fn allowed(&self) -> bool {
        !self.off
    }

    /// Records a handoff that kept netd off the hart for `ticks`. Returns
    /// true when this one turned handoffs off (report it once).
    pub fn record(&mut self, ticks: u64) -> bool {
        if self.off {
            return false;
        }
        if ticks <= LIMIT_TICKS {
            self.strikes = 0;
            return false;
        }
        self.strikes += 1;
        self.off = self.strikes >= STRIKES;
        self.off
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_honest_client_keeps_its_handoffs() {
        let mut h = Handoff::default();
        for _ in 0..1000 {
            assert!(!h.record(30));
        }
        assert!(h.allowed());
    }

    #[test]
    fn a_slow_handoff_now_and_then_is_forgiven() {
        let mut h = Handoff::default();
        for _ in 0..100 {
            assert!(!h.record(LIMIT_TICKS + 1));
            assert!(!h.record(LIMIT_TICKS + 1));
            assert!(!h.record(LIMIT_TICKS));
        }
        assert!(h.allowed());
    }

    #[test]
    fn a_client_that_keeps_the_hart_loses_its_handoffs_once() {
        let mut h = Handoff::default();
        assert!(!h.record(100_000));
        assert!(!h.record(100_000));
        assert!(h.record(100_000), "the third strike in a row turns it off");
        assert!(!h.allowed());
        // Reported once; a fast handoff later does not turn it back on.
        assert!(!h.record(100_000));
        assert!(!h.record(1));
        assert!(!h.allowed());
    }
}
