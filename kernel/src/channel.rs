//! Channels: memory shared by two tasks, and a notification bit each way.
//!
//! A channel is declared in the system description: two tasks, a size in
//! pages and whether its memory must be reachable by devices (`dma`). At
//! boot the kernel allocates and zeroes its frames (physically contiguous)
//! and gives each side a channel capability naming its end. Each end has
//! the bit that the *peer's* `channel_signal` raises in this end's
//! notification.
//!
//! The frames belong to the channel, not to either task: a task that ends
//! gives up its end, the kernel raises the live peer's bit (so a peer
//! blocked in `wait` learns of it at once) and the peer's `channel_signal`
//! answers `PeerEnded` from then on. The frames go back only when both ends
//! have ended, so a driver whose client died can still let its device finish
//! writing into them.
//!
//! A task that is restarted (`task_restart`) gets its ends back *waiting*:
//! the kernel raises the survivor's bit, and the restarted task may neither
//! map nor signal through its end (`ResetPending`) until the survivor calls
//! `channel_reset`, once nothing of its own (a device finishing a request,
//! say) still uses the memory for the previous life. The reset zeroes the
//! frames, makes the end live again and raises the restarted task's bit.

use nexus_abi::SysError;
use nexus_abi::notify::NOTIFY_BITS;

/// The most channels the kernel keeps.
pub const MAX_CHANNELS: usize = 16;

/// One side of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct End {
    /// The task (index) holding this end.
    pub task: usize,
    /// The bit the peer's signal raises in this task's notification.
    pub bit: u32,
    /// Whether the task holds this end and may use it.
    pub alive: bool,
    /// The task was restarted after this end ended: it holds the end again
    /// but may not use it until the peer resets the channel.
    pub waiting: bool,
}

/// A channel's memory and its two ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Channel {
    /// Physical base of its contiguous, zeroed frames.
    pub base: usize,
    /// Its length in pages.
    pub pages: usize,
    /// Whether a device may be told its physical address.
    pub dma: bool,
    /// Side 0 and side 1.
    pub ends: [End; 2],
}

/// A channel reset: the frames to zero, and whom to tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reset {
    /// Physical base of the channel's frames.
    pub base: usize,
    /// Their number.
    pub pages: usize,
    /// The restarted task, whose end is live again.
    pub peer: usize,
    /// The bits to raise in its notification.
    pub bits: u64,
}

/// Why a channel could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateError {
    /// Both ends name the same task.
    SameTask,
    /// A bit is not below [`NOTIFY_BITS`].
    BadBit,
    /// [`MAX_CHANNELS`] channels exist.
    Full,
}

/// Every channel.
#[derive(Clone, Copy, Debug)]
pub struct ChannelTable {
    chans: [Option<Channel>; MAX_CHANNELS],
}

impl Default for ChannelTable {
    fn default() -> Self {
        ChannelTable::new()
    }
}

impl ChannelTable {
    /// No channel.
    pub const fn new() -> ChannelTable {
        ChannelTable {
            chans: [None; MAX_CHANNELS],
        }
    }

    /// Records a channel over `pages` frames at `base` between
    /// `ends[0] = (task, bit)` and `ends[1]`; returns its index.
    pub fn create(
        &mut self,
        base: usize,
        pages: usize,
        dma: bool,
        ends: [(usize, u32); 2],
    ) -> Result<usize, CreateError> {
        if ends[0].0 == ends[1].0 {
            return Err(CreateError::SameTask);
        }
        if ends.iter().any(|&(_, bit)| bit >= NOTIFY_BITS) {
            return Err(CreateError::BadBit);
        }
        let free = self
            .chans
            .iter()
            .position(Option::is_none)
            .ok_or(CreateError::Full)?;
        let end = |(task, bit)| End {
            task,
            bit,
            alive: true,
            waiting: false,
        };
        self.chans[free] = Some(Channel {
            base,
            pages,
            dma,
            ends: [end(ends[0]), end(ends[1])],
        });
        Ok(free)
    }

    /// The channel at `index`, if it exists.
    pub fn get(&self, index: usize) -> Option<&Channel> {
        self.chans.get(index)?.as_ref()
    }

    /// `channel_signal` through side `side` of channel `index`: the peer's
    /// task and the bits to raise in its notification, or `PeerEnded`.
    /// A side or index that names no live end is `PeerEnded` too (a
    /// capability always names a real one; nothing here trusts that).
    /// The caller's own end comes first: a waiting end is `ResetPending`.
    pub fn signal(&self, index: usize, side: usize) -> Result<(usize, u64), SysError> {
        self.usable(index, side)?;
        let c = self.get(index).ok_or(SysError::PeerEnded)?;
        let peer = c.ends.get(side ^ 1).ok_or(SysError::PeerEnded)?;
        if side > 1 || !peer.alive {
            return Err(SysError::PeerEnded);
        }
        Ok((peer.task, 1 << peer.bit))
    }

    /// Whether side `side` of channel `index` may be mapped or signalled
    /// through by its holder: `ResetPending` while it waits for the peer's
    /// reset; `PeerEnded` for a channel that is gone (both ends ended
    /// while one waited) or a side that names no end.
    pub fn usable(&self, index: usize, side: usize) -> Result<(), SysError> {
        let c = self.get(index).ok_or(SysError::PeerEnded)?;
        let end = c.ends.get(side).ok_or(SysError::PeerEnded)?;
        if end.waiting {
            return Err(SysError::ResetPending);
        }
        Ok(())
    }

    /// Task `task` was restarted (after [`ChannelTable::end_task`]): each
    /// of its ended ends comes back waiting, and `peer(task, bits)` raises
    /// the live peer's bit so that it learns of the new life.
    pub fn restart_task(&mut self, task: usize, mut peer: impl FnMut(usize, u64)) {
        for c in self.chans.iter_mut().flatten() {
            for side in 0..2 {
                let end = &mut c.ends[side];
                if end.task == task && !end.alive {
                    end.waiting = true;
                    let other = c.ends[side ^ 1];
                    if other.alive {
                        peer(other.task, 1 << other.bit);
                    }
                }
            }
        }
    }

    /// `channel_reset` through side `side` of channel `index`: the caller's
    /// end must be usable (`ResetPending`) and the peer must be waiting
    /// after a restart (`NotRestarted` while it holds its end, `PeerEnded`
    /// once it ended without a new life). Makes the peer's end live again
    /// and returns the frames to zero and the peer's task and bit to raise.
    pub fn reset(&mut self, index: usize, side: usize) -> Result<Reset, SysError> {
        self.usable(index, side)?;
        let c = self
            .chans
            .get_mut(index)
            .and_then(Option::as_mut)
            .ok_or(SysError::PeerEnded)?;
        let peer = c.ends.get_mut(side ^ 1).ok_or(SysError::PeerEnded)?;
        if peer.alive {
            return Err(SysError::NotRestarted);
        }
        if !peer.waiting {
            return Err(SysError::PeerEnded);
        }
        peer.waiting = false;
        peer.alive = true;
        Ok(Reset {
            base: c.base,
            pages: c.pages,
            peer: peer.task,
            bits: 1 << peer.bit,
        })
    }

    /// Task `task` ended: each of its ends is given up. For each live peer,
    /// `peer(task, bits)` raises the peer's bit; for each channel whose
    /// ends have now both ended, `free(base, pages)` returns its frames and
    /// the channel is forgotten.
    pub fn end_task(
        &mut self,
        task: usize,
        mut peer: impl FnMut(usize, u64),
        mut free: impl FnMut(usize, usize),
    ) {
        for slot in self.chans.iter_mut() {
            let Some(c) = slot else { continue };
            let mut touched = false;
            for side in 0..2 {
                if c.ends[side].task == task && (c.ends[side].alive || c.ends[side].waiting) {
                    c.ends[side].alive = false;
                    c.ends[side].waiting = false;
                    touched = true;
                    let other = c.ends[side ^ 1];
                    if other.alive {
                        peer(other.task, 1 << other.bit);
                    }
                }
            }
            if touched && c.ends.iter().all(|e| !e.alive) {
                free(c.base, c.pages);
                *slot = None;
            }
        }
    }

    /// Every channel.
    pub fn iter(&self) -> impl Iterator<Item = &Channel> {
        self.chans.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_checks_ends_bits_and_room() {
        let mut t = ChannelTable::new();
        assert_eq!(
            t.create(0x8000_0000, 1, false, [(1, 0), (1, 1)]),
            Err(CreateError::SameTask)
        );
        assert_eq!(
            t.create(0x8000_0000, 1, false, [(1, 64), (2, 1)]),
            Err(CreateError::BadBit)
        );
        for i in 0..MAX_CHANNELS {
            assert_eq!(t.create(0x8000_0000, 1, false, [(1, 0), (2, 1)]), Ok(i));
        }
        assert_eq!(
            t.create(0x8000_0000, 1, false, [(1, 0), (2, 1)]),
            Err(CreateError::Full)
        );
    }

    #[test]
    fn signal_raises_the_peers_bit_until_it_ends() {
        let mut t = ChannelTable::new();
        let c = t.create(0x8000_0000, 2, true, [(3, 4), (5, 6)]).unwrap();
        assert_eq!(t.signal(c, 0), Ok((5, 1 << 6)));
        assert_eq!(t.signal(c, 1), Ok((3, 1 << 4)));
        assert_eq!(t.signal(c, 2), Err(SysError::PeerEnded));
        assert_eq!(t.signal(c, usize::MAX), Err(SysError::PeerEnded));
        assert_eq!(t.signal(c + 1, 0), Err(SysError::PeerEnded));
        assert_eq!(t.signal(usize::MAX, 0), Err(SysError::PeerEnded));
        let (mut raised, mut freed) = (vec![], vec![]);
        t.end_task(5, |p, b| raised.push((p, b)), |b, n| freed.push((b, n)));
        assert_eq!(raised, [(3, 1 << 4)], "the live peer learns of it");
        assert!(freed.is_empty(), "the peer still holds the memory");
        assert_eq!(t.signal(c, 0), Err(SysError::PeerEnded));
        assert_eq!(
            t.signal(c, 1),
            Ok((3, 1 << 4)),
            "signalling itself is no use, but valid"
        );
        t.end_task(
            5,
            |_, _| panic!("ended twice"),
            |_, _| panic!("freed twice"),
        );
        t.end_task(3, |_, _| panic!("no live peer"), |b, n| freed.push((b, n)));
        assert_eq!(freed, [(0x8000_0000, 2)]);
        assert!(t.get(c).is_none());
        t.end_task(3, |_, _| panic!(), |_, _| panic!("freed twice"));
    }
}

/// A model check: random interleavings of signals, waits, polls and task
/// ends over channels between three tasks, against what the channel
/// contract promises.
#[cfg(test)]
mod model {
    use super::*;
    use crate::notify::{Notification, WaitStart};
    use proptest::collection::vec;
    use proptest::prelude::*;

    const TASKS: usize = 3;
    /// Channel `i` joins `PAIRS[i].0` (side 0) and `PAIRS[i].1` (side 1);
    /// side `s` of channel `i` is woken on bit `2 * i + s`.
    const PAIRS: [(usize, usize); 3] = [(0, 1), (1, 2), (0, 2)];

    #[derive(Clone, Debug)]
    enum Op {
        /// Side `s` of channel `c` signals.
        Signal(usize, usize),
        /// Task `t` waits for `mask`.
        Wait(usize, u64),
        /// Task `t` polls `mask`.
        Poll(usize, u64),
        /// Task `t` ends.
        End(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        let mask = prop_oneof![Just(u64::MAX), 1u64..64, any::<u64>()];
        prop_oneof![
            4 => (0..PAIRS.len(), 0usize..2).prop_map(|(c, s)| Op::Signal(c, s)),
            2 => (0..TASKS, mask.clone()).prop_map(|(t, m)| Op::Wait(t, m)),
            1 => (0..TASKS, mask).prop_map(|(t, m)| Op::Poll(t, m)),
            1 => (0..TASKS).prop_map(Op::End),
        ]
    }

    fn task_of(c: usize, side: usize) -> usize {
        if side == 0 { PAIRS[c].0 } else { PAIRS[c].1 }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn signals_reach_live_peers_once_and_frames_go_back_once(ops in vec(op(), 1..80)) {
            let mut table = ChannelTable::new();
            let mut notes = [Notification::default(); TASKS];
            let mut ended = [false; TASKS];
            // Per task and bit: raised while not pending, and handed out.
            let mut raised = [[0u32; 64]; TASKS];
            let mut handed = [[0u32; 64]; TASKS];
            let mut freed = [0u32; PAIRS.len()];
            for (i, &(a, b)) in PAIRS.iter().enumerate() {
                let ends = [(a, 2 * i as u32), (b, 2 * i as u32 + 1)];
                prop_assert_eq!(table.create(0x1000 * (i + 1), i + 1, i == 0, ends), Ok(i));
            }
            let count = |c: &mut [u32; 64], bits: u64| {
                for (b, n) in c.iter_mut().enumerate() {
                    *n += (bits >> b & 1) as u32;
                }
            };
            let raise = |notes: &mut [Notification; TASKS],
                             raised: &mut [[u32; 64]; TASKS],
                             handed: &mut [[u32; 64]; TASKS],
                             t: usize,
                             bits: u64| {
                if notes[t].pending() & bits == 0 {
                    count(&mut raised[t], bits);
                }
                if let Some(got) = notes[t].signal(bits) {
                    count(&mut handed[t], got);
                }
            };
            for op in ops {
                match op {
                    Op::Signal(c, side) => {
                        let me = task_of(c, side);
                        let peer = task_of(c, side ^ 1);
                        if ended[me] || notes[me].waiting().is_some() {
                            continue;
                        }
                        match table.signal(c, side) {
                            Ok((t, bits)) => {
                                prop_assert_eq!(t, peer);
                                prop_assert_eq!(bits, 1 << (2 * c + (side ^ 1)));
                                prop_assert!(!ended[peer], "a dead peer signalled");
                                raise(&mut notes, &mut raised, &mut handed, t, bits);
                            }
                            Err(e) => {
                                prop_assert_eq!(e, SysError::PeerEnded);
                                prop_assert!(ended[peer], "PeerEnded while the peer lives");
                            }
                        }
                    }
                    Op::Wait(t, mask) => {
                        if ended[t] || notes[t].waiting().is_some() {
                            continue;
                        }
                        if let Ok(WaitStart::Ready(bits)) = notes[t].wait(mask, u64::MAX, 0) {
                            count(&mut handed[t], bits);
                        }
                    }
                    Op::Poll(t, mask) => {
                        if ended[t] || notes[t].waiting().is_some() {
                            continue;
                        }
                        let got = notes[t].take(mask);
                        count(&mut handed[t], got);
                    }
                    Op::End(t) => {
                        if ended[t] {
                            continue;
                        }
                        ended[t] = true;
                        notes[t].clear();
                        raised[t] = [0; 64];
                        handed[t] = [0; 64];
                        let mut peers = Vec::new();
                        let mut frees = Vec::new();
                        table.end_task(t, |p, b| peers.push((p, b)), |b, n| frees.push((b, n)));
                        for (p, bits) in peers {
                            prop_assert!(!ended[p], "a dead peer told of an end");
                            raise(&mut notes, &mut raised, &mut handed, p, bits);
                        }
                        for (base, pages) in frees {
                            let i = base / 0x1000 - 1;
                            prop_assert_eq!(pages, i + 1);
                            freed[i] += 1;
                        }
                    }
                }
                for (i, &(a, b)) in PAIRS.iter().enumerate() {
                    let both = ended[a] && ended[b];
                    prop_assert_eq!(freed[i], u32::from(both), "channel {} freed {} times", i, freed[i]);
                }
                for t in 0..TASKS {
                    for b in 0..64 {
                        let pending = (notes[t].pending() >> b & 1) as u32;
                        prop_assert_eq!(raised[t][b], handed[t][b] + pending, "task {} bit {}", t, b);
                    }
                    if let Some(w) = notes[t].waiting() {
                        prop_assert_eq!(notes[t].pending() & w.mask, 0);
                    }
                }
            }
        }
    }

    /// What the model expects of one end.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Life {
        Live,
        Gone,
        Waiting,
    }

    #[derive(Clone, Debug)]
    enum LifeOp {
        End(usize),
        Restart(usize),
        Reset(usize, usize),
        Signal(usize, usize),
        Usable(usize, usize),
    }

    fn life_op() -> impl Strategy<Value = LifeOp> {
        let end = (0..PAIRS.len(), 0usize..3);
        prop_oneof![
            1 => (0..TASKS).prop_map(LifeOp::End),
            1 => (0..TASKS).prop_map(LifeOp::Restart),
            2 => end.clone().prop_map(|(c, s)| LifeOp::Reset(c, s)),
            2 => end.clone().prop_map(|(c, s)| LifeOp::Signal(c, s)),
            1 => end.prop_map(|(c, s)| LifeOp::Usable(c, s)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Restarts and resets against the contract: a restarted end
        /// waits (`ResetPending`) until its live peer resets the channel;
        /// a reset succeeds only for a waiting peer; the survivor is told
        /// of every end and every restart; frames go back once, when no
        /// end is live.
        #[test]
        fn restarted_ends_wait_for_the_peers_reset(ops in vec(life_op(), 1..80)) {
            let mut table = ChannelTable::new();
            let mut alive = [true; TASKS];
            let mut life = [[Life::Live; 2]; PAIRS.len()];
            let mut freed = [false; PAIRS.len()];
            for (i, &(a, b)) in PAIRS.iter().enumerate() {
                let ends = [(a, 2 * i as u32), (b, 2 * i as u32 + 1)];
                prop_assert_eq!(table.create(0x1000 * (i + 1), i + 1, false, ends), Ok(i));
            }
            let bit = |c: usize, side: usize| 1u64 << (2 * c + side);
            for op in ops {
                match op {
                    LifeOp::End(t) | LifeOp::Restart(t) => {
                        if alive[t] {
                            let (mut told, mut frees) = (Vec::new(), Vec::new());
                            table.end_task(t, |p, b| told.push((p, b)), |b, n| frees.push((b, n)));
                            let mut want_told = Vec::new();
                            let mut want_frees = Vec::new();
                            for c in 0..PAIRS.len() {
                                for side in 0..2 {
                                    if task_of(c, side) != t || freed[c] || life[c][side] == Life::Gone {
                                        continue;
                                    }
                                    life[c][side] = Life::Gone;
                                    if life[c][side ^ 1] == Life::Live {
                                        want_told.push((task_of(c, side ^ 1), bit(c, side ^ 1)));
                                    } else {
                                        freed[c] = true;
                                        want_frees.push((0x1000 * (c + 1), c + 1));
                                    }
                                }
                            }
                            prop_assert_eq!(told, want_told);
                            prop_assert_eq!(frees, want_frees);
                            alive[t] = false;
                        }
                        if matches!(op, LifeOp::Restart(_)) {
                            let mut told = Vec::new();
                            table.restart_task(t, |p, b| told.push((p, b)));
                            let mut want = Vec::new();
                            for c in 0..PAIRS.len() {
                                for side in 0..2 {
                                    if task_of(c, side) == t && !freed[c] {
                                        prop_assert_eq!(life[c][side], Life::Gone);
                                        life[c][side] = Life::Waiting;
                                        if life[c][side ^ 1] == Life::Live {
                                            want.push((task_of(c, side ^ 1), bit(c, side ^ 1)));
                                        }
                                    }
                                }
                            }
                            prop_assert_eq!(told, want);
                            alive[t] = true;
                        }
                    }
                    LifeOp::Reset(c, side) | LifeOp::Signal(c, side) | LifeOp::Usable(c, side) => {
                        if side < 2 && !alive[task_of(c, side)] {
                            continue;
                        }
                        let own = if side < 2 { Some(life[c][side]) } else { None };
                        let peer = if side < 2 { Some(life[c][side ^ 1]) } else { None };
                        let own_check = if freed[c] || side > 1 {
                            Err(SysError::PeerEnded)
                        } else if own == Some(Life::Waiting) {
                            Err(SysError::ResetPending)
                        } else {
                            Ok(())
                        };
                        match op {
                            LifeOp::Usable(..) => prop_assert_eq!(table.usable(c, side), own_check),
                            LifeOp::Signal(..) => {
                                let want = own_check.and_then(|()| match peer {
                                    Some(Life::Live) => Ok((task_of(c, side ^ 1), bit(c, side ^ 1))),
                                    _ => Err(SysError::PeerEnded),
                                });
                                prop_assert_eq!(table.signal(c, side), want);
                            }
                            _ => {
                                let want = own_check.and_then(|()| match peer {
                                    Some(Life::Live) => Err(SysError::NotRestarted),
                                    Some(Life::Waiting) => Ok(Reset {
                                        base: 0x1000 * (c + 1),
                                        pages: c + 1,
                                        peer: task_of(c, side ^ 1),
                                        bits: bit(c, side ^ 1),
                                    }),
                                    _ => Err(SysError::PeerEnded),
                                });
                                let got = table.reset(c, side);
                                prop_assert_eq!(got, want);
                                if got.is_ok() {
                                    life[c][side ^ 1] = Life::Live;
                                }
                            }
                        }
                    }
                }
                for (c, &gone) in freed.iter().enumerate() {
                    prop_assert_eq!(table.get(c).is_none(), gone);
                }
            }
        }
    }
}
