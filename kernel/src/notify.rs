//! Notifications and interrupt lines: the kernel's one blocking primitive.
//!
//! Every task has one [`Notification`]: a word of signal bits and, while the
//! task is blocked in `wait`, what it waits for. Interrupts, and later any
//! other event source, wake a task only by raising bits there.
//!
//! The [`IrqTable`] binds each granted interrupt line to one bit of its
//! owner's notification. A line that fires is masked until its owner
//! acknowledges it (`irq_ack`); a line whose owner ended is released and
//! stays masked for good.

use nexus_abi::SysError;
use nexus_abi::notify::{NO_DEADLINE, NOTIFY_BITS};

/// What a blocked task waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wait {
    /// The bits that end the wait.
    pub mask: u64,
    /// The `time` value at which the wait ends with `TimedOut`
    /// ([`NO_DEADLINE`]: never).
    pub deadline: u64,
}

/// How a `wait` call starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStart {
    /// Bits of the mask were already pending: the call returns them at once.
    Ready(u64),
    /// Nothing pending: the task blocks.
    Blocked,
}

/// A task's notification word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Notification {
    pending: u64,
    waiting: Option<Wait>,
}

impl Notification {
    /// The bits raised and not yet taken.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// What the task waits for, while it is blocked.
    pub fn waiting(&self) -> Option<Wait> {
        self.waiting
    }

    /// Starts a `wait` at time `now`. Checks, in order: an empty mask is
    /// `InvalidArgument`; pending bits of the mask are taken and returned at
    /// once; a deadline already reached is `TimedOut`; otherwise the task
    /// blocks.
    pub fn wait(&mut self, mask: u64, deadline: u64, now: u64) -> Result<WaitStart, SysError> {
        if mask == 0 {
            return Err(SysError::InvalidArgument);
        }
        let ready = self.take(mask);
        if ready != 0 {
            return Ok(WaitStart::Ready(ready));
        }
        if deadline <= now {
            return Err(SysError::TimedOut);
        }
        self.waiting = Some(Wait { mask, deadline });
        Ok(WaitStart::Blocked)
    }

    /// Takes and returns the pending bits of `mask` (`poll`; 0 if none).
    pub fn take(&mut self, mask: u64) -> u64 {
        let ready = self.pending & mask;
        self.pending &= !ready;
        ready
    }

    /// Raises `bits`. If that ends the wait in progress, the waiter takes
    /// the pending bits of its mask: they are returned, and the task must be
    /// woken with them.
    pub fn signal(&mut self, bits: u64) -> Option<u64> {
        self.pending |= bits;
        let wait = self.waiting?;
        let ready = self.take(wait.mask);
        if ready == 0 {
            return None;
        }
        self.waiting = None;
        Some(ready)
    }

    /// Ends the wait in progress if its deadline is at or before `now`;
    /// returns whether it did (the task must be woken with `TimedOut`).
    pub fn expire(&mut self, now: u64) -> bool {
        match self.waiting {
            Some(w) if w.deadline <= now => {
                self.waiting = None;
                true
            }
            _ => false,
        }
    }

    /// The deadline of the wait in progress, if it has one.
    pub fn deadline(&self) -> Option<u64> {
        self.waiting
            .map(|w| w.deadline)
            .filter(|&d| d != NO_DEADLINE)
    }

    /// Forgets everything (the task ended).
    pub fn clear(&mut self) {
        *self = Notification::default();
    }
}

/// The most interrupt lines bound at once.
pub const MAX_LINES: usize = 16;

/// Where a bound line is in its cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineState {
    /// Enabled at the interrupt controller: the next interrupt signals the
    /// owner.
    Armed,
    /// Fired and masked: waiting for the owner's `irq_ack`.
    Fired,
    /// Its owner ended: masked for good.
    Released,
}

/// An interrupt line bound to a bit of a task's notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqLine {
    /// The interrupt controller's source number.
    pub line: u32,
    /// The task (index) whose notification it signals.
    pub owner: usize,
    /// The bit it raises there.
    pub bit: u32,
    /// Its state.
    pub state: LineState,
}

/// Why a line could not be bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindError {
    /// Source 0 is "no interrupt" on the PLIC; never bound.
    NoLine,
    /// The bit is not below [`NOTIFY_BITS`].
    BadBit,
    /// The line is already bound (lines are exclusive).
    Taken,
    /// The owner already has a line on this bit.
    BitTaken,
    /// [`MAX_LINES`] lines are bound.
    Full,
}

/// What the kernel does with a source the interrupt controller claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claimed {
    /// Mask the line and raise `bits` in task `owner`'s notification.
    Signal {
        /// The owning task.
        owner: usize,
        /// The bit mask to raise.
        bits: u64,
    },
    /// Not a line anyone may receive now (unbound, released, or already
    /// fired): mask it.
    Mask,
}

/// Every bound interrupt line.
#[derive(Clone, Copy, Debug)]
pub struct IrqTable {
    lines: [Option<IrqLine>; MAX_LINES],
}

impl Default for IrqTable {
    fn default() -> Self {
        IrqTable::new()
    }
}

impl IrqTable {
    /// No line bound.
    pub const fn new() -> IrqTable {
        IrqTable {
            lines: [None; MAX_LINES],
        }
    }

    /// Binds `line` to bit `bit` of task `owner`'s notification, armed;
    /// returns the index an irq capability names.
    pub fn bind(&mut self, line: u32, owner: usize, bit: u32) -> Result<usize, BindError> {
        if line == 0 {
            return Err(BindError::NoLine);
        }
        if bit >= NOTIFY_BITS {
            return Err(BindError::BadBit);
        }
        for l in self.lines.iter().flatten() {
            if l.line == line {
                return Err(BindError::Taken);
            }
            if l.owner == owner && l.bit == bit && l.state != LineState::Released {
                return Err(BindError::BitTaken);
            }
        }
        let free = self
            .lines
            .iter()
            .position(Option::is_none)
            .ok_or(BindError::Full)?;
        self.lines[free] = Some(IrqLine {
            line,
            owner,
            bit,
            state: LineState::Armed,
        });
        Ok(free)
    }

    /// The line at `index`, if bound.
    pub fn get(&self, index: usize) -> Option<&IrqLine> {
        self.lines.get(index)?.as_ref()
    }

    /// The interrupt controller reported `line`: an armed line becomes
    /// fired and signals its owner; anything else is only masked.
    pub fn claimed(&mut self, line: u32) -> Claimed {
        let found = self
            .lines
            .iter_mut()
            .flatten()
            .find(|l| l.line == line && l.state == LineState::Armed);
        match found {
            Some(l) => {
                l.state = LineState::Fired;
                Claimed::Signal {
                    owner: l.owner,
                    bits: 1 << l.bit,
                }
            }
            None => Claimed::Mask,
        }
    }

    /// `irq_ack` of the line at `index` by task `caller`: only its owner may,
    /// and only once it fired. Returns the source to unmask.
    pub fn ack(&mut self, index: usize, caller: usize) -> Result<u32, SysError> {
        let l = self
            .lines
            .get_mut(index)
            .and_then(Option::as_mut)
            .ok_or(SysError::NotOwner)?;
        if l.owner != caller || l.state == LineState::Released {
            return Err(SysError::NotOwner);
        }
        if l.state != LineState::Fired {
            return Err(SysError::NotPending);
        }
        l.state = LineState::Armed;
        Ok(l.line)
    }

    /// Releases every line of task `owner` (it ended); calls `mask` for
    /// each so the controller never delivers it again.
    pub fn release(&mut self, owner: usize, mut mask: impl FnMut(u32)) {
        for l in self.lines.iter_mut().flatten() {
            if l.owner == owner && l.state != LineState::Released {
                l.state = LineState::Released;
                mask(l.line);
            }
        }
    }

    /// Every bound line.
    pub fn iter(&self) -> impl Iterator<Item = &IrqLine> {
        self.lines.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_returns_pending_bits_at_once_and_takes_them() {
        let mut n = Notification::default();
        assert_eq!(n.signal(0b101), None, "nobody waits");
        assert_eq!(n.wait(0b100, NO_DEADLINE, 0), Ok(WaitStart::Ready(0b100)));
        assert_eq!(n.pending(), 0b001, "bits outside the mask stay");
        assert_eq!(n.waiting(), None);
    }

    #[test]
    fn wait_checks_mask_then_pending_then_deadline() {
        let mut n = Notification::default();
        assert_eq!(n.wait(0, 100, 0), Err(SysError::InvalidArgument));
        n.signal(1);
        assert_eq!(n.wait(1, 5, 10), Ok(WaitStart::Ready(1)), "pending wins");
        assert_eq!(n.wait(1, 10, 10), Err(SysError::TimedOut));
        assert_eq!(n.wait(1, 11, 10), Ok(WaitStart::Blocked));
        assert_eq!(
            n.waiting(),
            Some(Wait {
                mask: 1,
                deadline: 11
            })
        );
    }

    #[test]
    fn signal_wakes_only_for_awaited_bits() {
        let mut n = Notification::default();
        assert_eq!(n.wait(0b10, NO_DEADLINE, 0), Ok(WaitStart::Blocked));
        assert_eq!(n.signal(0b01), None);
        assert!(n.waiting().is_some());
        assert_eq!(n.signal(0b10), Some(0b10));
        assert_eq!(n.waiting(), None);
        assert_eq!(n.pending(), 0b01);
    }

    #[test]
    fn deadlines_expire_and_no_deadline_never_does() {
        let mut n = Notification::default();
        n.wait(1, 50, 0).unwrap();
        assert_eq!(n.deadline(), Some(50));
        assert!(!n.expire(49));
        assert!(n.expire(50));
        assert_eq!(n.waiting(), None);
        n.wait(1, NO_DEADLINE, 0).unwrap();
        assert_eq!(n.deadline(), None);
        assert!(!n.expire(u64::MAX - 1));
    }

    #[test]
    fn lines_are_exclusive_and_checked() {
        let mut t = IrqTable::default();
        assert_eq!(t.bind(0, 0, 0), Err(BindError::NoLine));
        assert_eq!(t.bind(8, 0, 64), Err(BindError::BadBit));
        assert_eq!(t.bind(8, 1, 0), Ok(0));
        assert_eq!(t.bind(8, 2, 0), Err(BindError::Taken));
        assert_eq!(t.bind(7, 1, 0), Err(BindError::BitTaken));
        assert_eq!(t.bind(7, 1, 1), Ok(1));
        for line in 20..(20 + MAX_LINES as u32 - 2) {
            t.bind(line, 3, line - 20).unwrap();
        }
        assert_eq!(t.bind(99, 4, 0), Err(BindError::Full));
    }

    #[test]
    fn a_fired_line_stays_masked_until_its_owner_acks() {
        let mut t = IrqTable::default();
        let i = t.bind(8, 1, 3).unwrap();
        assert_eq!(t.ack(i, 1), Err(SysError::NotPending), "nothing fired");
        assert_eq!(t.claimed(8), Claimed::Signal { owner: 1, bits: 8 });
        assert_eq!(t.claimed(8), Claimed::Mask, "fired lines do not signal");
        assert_eq!(t.ack(i, 2), Err(SysError::NotOwner));
        assert_eq!(t.ack(i, 1), Ok(8));
        assert_eq!(t.ack(i, 1), Err(SysError::NotPending), "acked twice");
        assert_eq!(t.claimed(8), Claimed::Signal { owner: 1, bits: 8 });
        assert_eq!(t.claimed(9), Claimed::Mask, "unbound");
        assert_eq!(t.ack(MAX_LINES, 1), Err(SysError::NotOwner));
        assert_eq!(t.ack(usize::MAX, 1), Err(SysError::NotOwner));
    }

    #[test]
    fn release_masks_the_owners_lines_for_good() {
        let mut t = IrqTable::default();
        let a = t.bind(8, 1, 0).unwrap();
        let b = t.bind(7, 2, 0).unwrap();
        t.claimed(8);
        let mut masked = Vec::new();
        t.release(1, |l| masked.push(l));
        assert_eq!(masked, [8]);
        assert_eq!(t.claimed(8), Claimed::Mask);
        assert_eq!(t.ack(a, 1), Err(SysError::NotOwner));
        assert_eq!(t.get(b).unwrap().state, LineState::Armed, "others go on");
        t.release(1, |_| panic!("released twice"));
    }
}

/// A model check: random sequences of the operations the kernel performs on
/// notifications and lines, against the properties the interrupt contract
/// promises.
#[cfg(test)]
mod model {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    const TASKS: usize = 2;
    /// Line `l` belongs to task `l % TASKS`, on bit `l`.
    const LINES: [u32; 3] = [5, 6, 7];

    #[derive(Clone, Debug)]
    enum Op {
        /// The controller reports line `LINES[i]`.
        Claim(usize),
        /// Task `t` calls `irq_ack` for line index `i`.
        Ack(usize, usize),
        /// Task `t` waits for `mask` until `deadline` (a relative tick).
        Wait(usize, u64, u64),
        /// Task `t` polls `mask`.
        Poll(usize, u64),
        /// Time passes by `ticks`, deadlines expire.
        Tick(u64),
        /// Task `t` ends.
        End(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let t = 0..TASKS;
        let mask = prop_oneof![Just(0u64), 1u64..16, any::<u64>()];
        prop_oneof![
            3 => (0..LINES.len()).prop_map(Op::Claim),
            2 => (0..TASKS, 0..LINES.len() + 1).prop_map(|(t, i)| Op::Ack(t, i)),
            2 => (t.clone(), mask.clone(), 0u64..20).prop_map(|(t, m, d)| Op::Wait(t, m, d)),
            1 => (t.clone(), mask).prop_map(|(t, m)| Op::Poll(t, m)),
            2 => (0u64..10).prop_map(Op::Tick),
            1 => t.prop_map(Op::End),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn interrupts_are_delivered_once_per_ack_and_never_lost(ops in vec(op(), 1..80)) {
            let mut table = IrqTable::new();
            let mut notes = [Notification::default(); TASKS];
            let mut ended = [false; TASKS];
            let mut now = 0u64;
            // Per line: signals sent since its last ack (at most one).
            let mut unacked = [0u32; LINES.len()];
            // Per task: bits raised while not pending, and bits handed out.
            let mut raised = [[0u32; 64]; TASKS];
            let mut handed = [[0u32; 64]; TASKS];
            let count = |c: &mut [u32; 64], bits: u64| {
                for (b, n) in c.iter_mut().enumerate() {
                    *n += (bits >> b & 1) as u32;
                }
            };
            for (i, &line) in LINES.iter().enumerate() {
                prop_assert_eq!(table.bind(line, i % TASKS, i as u32), Ok(i));
            }
            for op in ops {
                match op {
                    Op::Claim(i) => {
                        match table.claimed(LINES[i]) {
                            Claimed::Signal { owner, bits } => {
                                prop_assert_eq!(owner, i % TASKS);
                                prop_assert_eq!(bits, 1 << i);
                                prop_assert!(!ended[owner], "a dead task's line signalled");
                                unacked[i] += 1;
                                prop_assert!(unacked[i] <= 1, "signalled twice without an ack");
                                let n = &mut notes[owner];
                                if n.pending() & bits == 0 {
                                    count(&mut raised[owner], bits);
                                }
                                if let Some(got) = n.signal(bits) {
                                    count(&mut handed[owner], got);
                                }
                            }
                            Claimed::Mask => {}
                        }
                    }
                    Op::Ack(t, i) => {
                        let r = table.ack(i, t);
                        if i >= LINES.len() || i % TASKS != t || ended[t] {
                            prop_assert_eq!(r, Err(SysError::NotOwner));
                        } else if unacked[i] == 0 {
                            prop_assert_eq!(r, Err(SysError::NotPending));
                        } else {
                            prop_assert_eq!(r, Ok(LINES[i]));
                            unacked[i] = 0;
                        }
                    }
                    Op::Wait(t, mask, d) => {
                        let n = &mut notes[t];
                        if ended[t] || n.waiting().is_some() {
                            continue;
                        }
                        let ready = n.pending() & mask;
                        match n.wait(mask, now + d, now) {
                            Ok(WaitStart::Ready(bits)) => {
                                prop_assert_eq!(bits, ready);
                                count(&mut handed[t], bits);
                            }
                            Ok(WaitStart::Blocked) => prop_assert!(ready == 0 && mask != 0 && d > 0),
                            Err(SysError::InvalidArgument) => prop_assert_eq!(mask, 0),
                            Err(SysError::TimedOut) => prop_assert!(ready == 0 && d == 0),
                            Err(e) => prop_assert!(false, "unexpected {e:?}"),
                        }
                    }
                    Op::Poll(t, mask) => {
                        if ended[t] || notes[t].waiting().is_some() {
                            continue;
                        }
                        let got = notes[t].take(mask);
                        count(&mut handed[t], got);
                    }
                    Op::Tick(ticks) => {
                        now += ticks;
                        for n in notes.iter_mut() {
                            let deadline = n.waiting().map(|w| w.deadline);
                            if n.expire(now) {
                                prop_assert!(deadline.is_some_and(|d| d <= now));
                            }
                        }
                    }
                    Op::End(t) => {
                        ended[t] = true;
                        notes[t].clear();
                        raised[t] = [0; 64];
                        handed[t] = [0; 64];
                        table.release(t, |_| {});
                    }
                }
                // Nothing lost, nothing handed out twice: every bit raised
                // was handed out once or is still pending.
                for t in 0..TASKS {
                    for b in 0..64 {
                        let pending = (notes[t].pending() >> b & 1) as u32;
                        prop_assert_eq!(raised[t][b], handed[t][b] + pending, "task {} bit {}", t, b);
                    }
                    // A blocked task never waits for bits already pending.
                    if let Some(w) = notes[t].waiting() {
                        prop_assert_eq!(notes[t].pending() & w.mask, 0);
                    }
                }
            }
        }
    }
}
