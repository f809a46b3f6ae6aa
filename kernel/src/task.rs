//! Tasks: the saved user context, resources and lifecycle of a program.

use nexus_abi::SysError;

use crate::cap::CapTable;
use crate::notify::Notification;
use crate::space::AddressSpace;

/// The most tasks the kernel runs.
pub const MAX_TASKS: usize = 24;

/// A task's user registers while it is not running. The layout is used by
/// the trap entry code: `regs[i]` is `x{i}` (`regs[0]` unused), then `pc`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    /// General-purpose registers x0..x31.
    pub regs: [usize; 32],
    /// The user pc to return to (`sepc`).
    pub pc: usize,
}

/// Register numbers of the ABI names used by the system-call boundary.
pub mod reg {
    /// Stack pointer.
    pub const SP: usize = 2;
    /// First argument / return register.
    pub const A0: usize = 10;
    /// Syscall number.
    pub const A7: usize = 17;
}

impl TrapFrame {
    /// A frame that starts at `entry` with stack pointer `sp`.
    pub fn new(entry: usize, sp: usize) -> TrapFrame {
        let mut regs = [0; 32];
        regs[reg::SP] = sp;
        TrapFrame { regs, pc: entry }
    }

    /// The system-call number and arguments `a0..a5`.
    pub fn syscall_args(&self) -> (usize, [usize; 6]) {
        let a = &self.regs[reg::A0..reg::A0 + 6];
        (self.regs[reg::A7], [a[0], a[1], a[2], a[3], a[4], a[5]])
    }

    /// Writes a system call's status and results to `a0..a3`.
    pub fn set_return(&mut self, ret: [usize; 4]) {
        self.regs[reg::A0..reg::A0 + 4].copy_from_slice(&ret);
    }
}

/// How a task is expected to end (from the system description).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Exit with code 0.
    Exit0,
    /// Be killed by the kernel for a fault.
    Killed,
    /// Be refused by the loader: never run at all.
    Refused,
    /// Never end: serve until the machine is stopped from outside. Ending
    /// in any way is a failure.
    Serve,
}

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Ready to run.
    Runnable,
    /// Blocked in `wait` (what for is in its notification).
    Blocked,
    /// Ended by `exit(code)`.
    Exited(i32),
    /// Killed by the kernel for a fault.
    Killed,
}

impl State {
    /// Whether the task has ended (exited or been killed).
    pub fn has_ended(self) -> bool {
        matches!(self, State::Exited(_) | State::Killed)
    }
}

/// A loaded task. In declaration order (`repr(C)`): the registers and the
/// capabilities, which every system call touches, come first.
#[repr(C)]
pub struct Task {
    /// Its saved registers.
    pub frame: TrapFrame,
    /// Its capabilities.
    pub caps: CapTable,
    /// Its name, from the system description.
    pub name: &'static str,
    /// Its address space (taken when the task ends and its memory is freed).
    pub space: Option<AddressSpace>,
    /// Its state.
    pub state: State,
    /// How it should end.
    pub expect: Expect,
    /// Pages of DMA memory it may hold at once.
    pub dma_quota: usize,
    /// Its notification word.
    pub notify: Notification,
}

impl Task {
    /// Whether it ended as the system description expects.
    pub fn ended_as_expected(&self) -> bool {
        ended_as_expected(self.state, self.expect)
    }

    /// Ends the task's `wait` with `bits`: it becomes runnable and the call
    /// returns them, with `stamp` (the `instret` value when the kernel took
    /// the interrupt that woke it) in `a2`.
    pub fn wake(&mut self, bits: u64, stamp: u64) {
        self.frame.set_return([0, bits as usize, stamp as usize, 0]);
        self.state = State::Runnable;
    }

    /// Ends the task's `wait` with `TimedOut`.
    pub fn time_out(&mut self) {
        self.frame.set_return([SysError::TimedOut.code(), 0, 0, 0]);
        self.state = State::Runnable;
    }
}

/// The system's verdict so far, from each task's state and expectation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A task that is expected to end is still running.
    Pending,
    /// Every task expected to end has ended as expected, and every serving
    /// task is still alive; `serving` of them go on.
    Passed {
        /// How many tasks keep serving.
        serving: usize,
    },
    /// `bad` tasks ended (or are running) against their expectation.
    Failed {
        /// How many.
        bad: usize,
    },
}

/// Judges the tasks: pending while any task expected to end is still
/// running, then passed only if each ended as expected and no serving task
/// has ended. A serving task that ended fails the system at once.
pub fn verdict(tasks: impl Iterator<Item = (State, Expect)> + Clone) -> Verdict {
    let serving_ended = |(s, e): &(State, Expect)| *e == Expect::Serve && s.has_ended();
    let bad = tasks.clone().filter(serving_ended).count();
    if bad > 0 {
        return Verdict::Failed { bad };
    }
    if tasks
        .clone()
        .any(|(s, e)| e != Expect::Serve && !s.has_ended())
    {
        return Verdict::Pending;
    }
    let bad = tasks
        .clone()
        .filter(|&(s, e)| e != Expect::Serve && !ended_as_expected(s, e))
        .count();
    if bad > 0 {
        Verdict::Failed { bad }
    } else {
        Verdict::Passed {
            serving: tasks.filter(|&(_, e)| e == Expect::Serve).count(),
        }
    }
}

/// Whether a task in `state` ended as `expect` asks (a serving task never
/// does: it must not end).
fn ended_as_expected(state: State, expect: Expect) -> bool {
    matches!(
        (state, expect),
        (State::Exited(0), Expect::Exit0) | (State::Killed, Expect::Killed)
    )
}

/// What the scheduler needs to know of the tasks, gathered in one pass
/// ([`survey`]): every switch, block and wakeup asks, so it costs one walk
/// over the task table, not one per question.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Survey {
    /// Bit `i`: task `i` is runnable.
    pub runnable: u32,
    /// Whether some task is blocked in `wait`.
    pub blocked: bool,
    /// The nearest deadline of a blocked task.
    pub deadline: Option<u64>,
}

const _: () = assert!(
    MAX_TASKS <= u32::BITS as usize,
    "Survey::runnable has a bit per task"
);

/// Surveys tasks given as `(state, deadline of its wait)` in slot order,
/// an empty slot as `None`. The deadline is asked for only of a blocked
/// task (the scheduler calls this on every switch).
pub fn survey<F: FnOnce() -> Option<u64>>(
    tasks: impl Iterator<Item = Option<(State, F)>>,
) -> Survey {
    let mut s = Survey::default();
    for (i, t) in tasks.enumerate() {
        match t {
            Some((State::Runnable, _)) if i < MAX_TASKS => s.runnable |= 1 << i,
            Some((State::Blocked, deadline)) => {
                s.blocked = true;
                if let Some(d) = deadline() {
                    s.deadline = Some(s.deadline.map_or(d, |m: u64| m.min(d)));
                }
            }
            _ => {}
        }
    }
    s
}

/// Round robin: the next runnable task after `current` (wrapping, and
/// `current` itself last), if any, from a [`Survey::runnable`] mask.
pub fn next_runnable(runnable: u32, current: usize) -> Option<usize> {
    let after = runnable
        .checked_shr(current as u32 + 1)
        .unwrap_or(0)
        .checked_shl(current as u32 + 1)
        .unwrap_or(0);
    match (after, runnable) {
        (0, 0) => None,
        (0, all) => Some(all.trailing_zeros() as usize),
        (later, _) => Some(later.trailing_zeros() as usize),
    }
}

/// Whether the timer, armed for `armed` (`u64::MAX`: not armed), must be
/// reprogrammed (an SBI call) to fire at `want` (`u64::MAX`: never), at
/// time `now`. It need not be when it is already set there, or when it
/// fires earlier but still in the future: that interrupt then finds
/// nothing due, and the scheduler reprograms it. A timer that is due
/// (`armed <= now`) is always reprogrammed, which also clears its pending
/// interrupt.
pub fn timer_needs_programming(armed: u64, want: u64, now: u64) -> bool {
    armed != want && (armed <= now || armed > want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timer_is_programmed_only_when_it_would_fire_late_or_is_due() {
        const NEVER: u64 = u64::MAX;
        // Already where it should be.
        assert!(!timer_needs_programming(500, 500, 100));
        assert!(!timer_needs_programming(NEVER, NEVER, 100));
        // Fires earlier than needed, still in the future: left alone.
        assert!(!timer_needs_programming(500, 900, 100));
        assert!(!timer_needs_programming(500, NEVER, 100));
        // Would fire too late, or not at all: programmed.
        assert!(timer_needs_programming(900, 500, 100));
        assert!(timer_needs_programming(NEVER, 500, 100));
        // Due (its interrupt pending or taken): programmed, also to clear it.
        assert!(timer_needs_programming(100, NEVER, 100));
        assert!(timer_needs_programming(50, 900, 100));
    }

    /// Slots of `(state, deadline)` as `survey` takes them.
    fn slots(
        tasks: &[Option<(State, Option<u64>)>],
    ) -> impl Iterator<Item = Option<(State, impl FnOnce() -> Option<u64>)>> + '_ {
        tasks.iter().map(|t| t.map(|(s, d)| (s, move || d)))
    }

    fn mask(states: &[State]) -> u32 {
        let tasks: Vec<_> = states.iter().map(|&s| Some((s, None))).collect();
        survey(slots(&tasks)).runnable
    }

    #[test]
    fn round_robin_skips_ended_tasks_and_wraps() {
        use State::*;
        let s = mask(&[Runnable, Exited(0), Runnable, Killed, Blocked]);
        assert_eq!(next_runnable(s, 0), Some(2));
        assert_eq!(next_runnable(s, 2), Some(0));
        assert_eq!(next_runnable(s, 3), Some(0));
        assert_eq!(next_runnable(s, 4), Some(0));
        assert_eq!(next_runnable(mask(&[Blocked, Blocked]), 0), None);
        assert_eq!(next_runnable(mask(&[Runnable]), 0), Some(0));
        assert_eq!(next_runnable(mask(&[Killed, Exited(1)]), 0), None);
        // The last slot: only what comes after it by wrapping.
        let last = MAX_TASKS - 1;
        assert_eq!(next_runnable(1 << last, last), Some(last));
        assert_eq!(next_runnable(1 << last | 1 << 3, last), Some(3));
    }

    proptest::proptest! {
        /// The mask's round robin picks what a walk over the slots, from
        /// the one after `current` round to `current` itself, picks.
        #[test]
        fn round_robin_by_mask_is_the_walk_over_the_slots(
            runnable in 0u32..(1 << MAX_TASKS),
            current in 0usize..MAX_TASKS,
        ) {
            let walk = (1..=MAX_TASKS)
                .map(|k| (current + k) % MAX_TASKS)
                .find(|&i| runnable & (1 << i) != 0);
            proptest::prop_assert_eq!(next_runnable(runnable, current), walk);
        }
    }

    #[test]
    fn a_survey_finds_the_runnable_the_blocked_and_the_nearest_deadline() {
        use State::*;
        let tasks = [
            Some((Blocked, Some(900))),
            None,
            Some((Runnable, None)),
            Some((Blocked, None)),
            Some((Blocked, Some(500))),
            Some((Killed, None)),
            Some((Runnable, None)),
        ];
        let s = survey(slots(&tasks));
        assert_eq!(s.runnable, 1 << 2 | 1 << 6);
        assert!(s.blocked);
        assert_eq!(s.deadline, Some(500));
        let idle = survey(slots(&[Some((Blocked, None)), Some((Exited(0), None))]));
        assert_eq!(
            idle,
            Survey {
                runnable: 0,
                blocked: true,
                deadline: None
            }
        );
        assert_eq!(
            survey(slots(&[None, Some((Killed, None))])),
            Survey::default()
        );
        // Only a blocked task is asked for its deadline.
        let asked = core::cell::Cell::new(0);
        let ask = |d| {
            let asked = &asked;
            move || {
                asked.set(asked.get() + 1);
                d
            }
        };
        let s = survey(
            [
                Some((Runnable, ask(Some(1)))),
                Some((Blocked, ask(Some(7)))),
                Some((Exited(0), ask(Some(2)))),
            ]
            .into_iter(),
        );
        assert_eq!((s.deadline, asked.get()), (Some(7), 1));
    }

    #[test]
    fn verdict_waits_for_ending_tasks_and_lets_servers_run() {
        use Expect::{Exit0, Serve};
        use State::{Exited, Killed, Runnable};
        let v = |t: &[(State, Expect)]| verdict(t.iter().copied());
        assert_eq!(v(&[(Runnable, Exit0), (Runnable, Serve)]), Verdict::Pending);
        assert_eq!(
            v(&[
                (Exited(0), Exit0),
                (Killed, Expect::Killed),
                (Runnable, Serve)
            ]),
            Verdict::Passed { serving: 1 }
        );
        assert_eq!(
            v(&[(Exited(0), Exit0), (Killed, Expect::Killed)]),
            Verdict::Passed { serving: 0 }
        );
        assert_eq!(
            v(&[(Exited(1), Exit0), (Killed, Exit0), (Runnable, Serve)]),
            Verdict::Failed { bad: 2 }
        );
        // A serving task that ends fails the system at once, even while
        // other tasks still run.
        assert_eq!(
            v(&[(Runnable, Exit0), (Exited(0), Serve)]),
            Verdict::Failed { bad: 1 }
        );
        assert_eq!(v(&[(Killed, Serve)]), Verdict::Failed { bad: 1 });
    }

    #[test]
    fn syscall_registers_round_trip() {
        let mut f = TrapFrame::new(0x1_0000_0000, 0x3f_0000_0000);
        assert_eq!(f.regs[reg::SP], 0x3f_0000_0000);
        f.regs[reg::A7] = 6;
        f.regs[reg::A0] = 1;
        f.regs[reg::A0 + 5] = 9;
        assert_eq!(f.syscall_args(), (6, [1, 0, 0, 0, 0, 9]));
        f.set_return([0, 7, 8, 9]);
        assert_eq!(&f.regs[10..14], &[0, 7, 8, 9]);
    }

    #[test]
    fn expectations() {
        let mut t = Task {
            name: "t",
            caps: CapTable::new(),
            space: None,
            frame: TrapFrame::default(),
            state: State::Exited(0),
            expect: Expect::Exit0,
            dma_quota: 0,
            notify: Notification::default(),
        };
        assert!(t.ended_as_expected());
        t.state = State::Exited(1);
        assert!(!t.ended_as_expected());
        t.state = State::Killed;
        assert!(!t.ended_as_expected());
        t.expect = Expect::Killed;
        assert!(t.ended_as_expected());
        t.expect = Expect::Serve;
        assert!(!t.ended_as_expected());
    }
}
