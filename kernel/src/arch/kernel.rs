//! The kernel's global state and the scheduler's hand-over to U-mode.

use core::cell::UnsafeCell;

use crate::cap::Object;
use crate::channel::{ChannelTable, MAX_CHANNELS};
use crate::device::DeviceTable;
use crate::mem::Memory;
use crate::notify::{Claimed, IrqTable};
use crate::pagetable::PageTable;
use crate::pci::Functions;
use crate::system::{ChannelSpec, TaskSpec};
use crate::task::{
    Expect, MAX_TASKS, State, Survey, Task, TrapFrame, Verdict, next_runnable, survey,
    timer_needs_programming, verdict,
};

use super::console::kprintln;
use super::cpu;
use super::ecam::Ecam;
use super::phys::PhysMemory;
use super::plic::Plic;

/// Everything the kernel owns after boot. In declaration order (`repr(C)`):
/// what every system call reads first comes first, at small offsets.
#[repr(C)]
pub struct Kernel {
    /// The task running (or last run).
    pub current: usize,
    /// The tasks, in system-description order.
    pub tasks: [Option<Task>; MAX_TASKS],
    /// Physical memory.
    pub mem: PhysMemory,
    /// The kernel's own page table (its low part is shared by every task).
    pub kernel_pt: Option<PageTable>,
    /// Timer ticks per time slice.
    pub quantum: u64,
    /// When the timer was last programmed to fire (`u64::MAX`: never).
    pub timer: u64,
    /// `instret` that passed while the kernel idled in `wfi`, and how many
    /// times it idled (`idle_stats`).
    pub idle_instret: u64,
    pub idle_waits: u64,
    /// Boot-time failures: refused programs, unresolvable grants.
    pub boot_failures: usize,
    /// The page-table root in `satp` (0 before the first task runs).
    pub active_root: usize,
    /// Whether the verdict was given while serving tasks go on.
    pub judged: bool,
    /// The device windows found at boot.
    pub devices: DeviceTable,
    /// Interrupt lines bound to tasks' notifications.
    pub irqs: IrqTable,
    /// The interrupt controller (`None`: none found; drivers poll).
    pub plic: Option<Plic>,
    /// The PCI functions found at boot.
    pub pci: Functions,
    /// Configuration space of the PCIe host bridge, if there is one.
    pub ecam: Option<Ecam>,
    /// The channels between tasks.
    pub channels: ChannelTable,
    /// The system description's programs (a restart loads one again).
    pub specs: &'static [TaskSpec],
    /// The system description's channels.
    pub channel_specs: &'static [ChannelSpec],
    /// For each declared channel, its index in `channels` (`None`: not made).
    pub channel_of: [Option<usize>; MAX_CHANNELS],
}

/// Where the trap entry goes after the handler (returned in `a0`/`a1`).
#[repr(C)]
pub struct Next {
    /// The frame to return to U-mode with.
    pub resume: *const TrapFrame,
    /// On a task switch, the frame of the task left, where the trap entry
    /// stores the registers it did not save (null: no switch, `resume` is
    /// the frame the trap was saved in).
    pub save: *mut TrapFrame,
}

impl Next {
    /// Back to the task whose registers are in `frame`, without a switch.
    pub fn same(frame: *mut TrapFrame) -> Next {
        Next {
            resume: frame,
            save: core::ptr::null_mut(),
        }
    }
}

struct Global(UnsafeCell<Kernel>);

// SAFETY: NEURON runs on one hart and the kernel never takes an interrupt
// (sstatus.SIE is clear in S-mode), so the state is only ever touched by one
// flow of control at a time: `kmain`, then one trap handler at a time.
unsafe impl Sync for Global {}

static KERNEL: Global = Global(UnsafeCell::new(Kernel {
    current: 0,
    tasks: [const { None }; MAX_TASKS],
    mem: PhysMemory::new(0, 0),
    kernel_pt: None,
    quantum: 0,
    timer: u64::MAX,
    idle_instret: 0,
    idle_waits: 0,
    boot_failures: 0,
    active_root: 0,
    judged: false,
    devices: DeviceTable::new(),
    irqs: IrqTable::new(),
    plic: None,
    pci: Functions::new(),
    ecam: None,
    channels: ChannelTable::new(),
    specs: &[],
    channel_specs: &[],
    channel_of: [None; MAX_CHANNELS],
}));

/// The kernel state.
///
/// # Safety
/// Call only within an entry into the kernel (`kmain`, each trap), and
/// never hold two of the returned references at once: a second call is
/// allowed once the first reference is no longer used.
pub unsafe fn kernel() -> &'static mut Kernel {
    // SAFETY: single hart, no kernel preemption, one live reference at a
    // time, as the caller guarantees.
    unsafe { &mut *KERNEL.0.get() }
}

impl Kernel {
    /// Ends task `i` with `state` and frees its memory, then judges the
    /// system.
    #[inline(never)]
    pub fn end_task(&mut self, i: usize, state: State) {
        self.release_task(i, state);
        self.judge();
    }

    /// Ends task `i` with `state` and frees its memory.
    fn release_task(&mut self, i: usize, state: State) {
        let Some(task) = self.tasks[i].as_mut() else {
            return;
        };
        task.state = state;
        task.notify.clear();
        if let State::Exited(code) = state {
            kprintln!("neuron: task {} exited with code {}", task.name, code);
        }
        // Its interrupt lines are masked for good before anything else: a
        // device of a dead driver must not interrupt anyone.
        let plic = self.plic;
        self.irqs.release(i, |line| {
            if let Some(p) = plic {
                p.disable(line);
            }
        });
        // Stop every virtio device the task drove before its memory goes
        // back: a device must not keep writing into frames handed out again.
        // A PCI function loses memory decoding and bus mastering.
        for (_, cap) in task.caps.iter() {
            let (Object::DeviceMmio { base, .. }, None) = (cap.object, cap.parent) else {
                continue;
            };
            let Some(dev) = self.devices.at(base) else {
                continue;
            };
            if dev.class.is_virtio() {
                cpu::reset_virtio_device(base);
            } else if let (Some(bar), Some(ecam)) = (dev.class.pci(), self.ecam.as_mut())
                && let Some(f) = self.pci.get(usize::from(bar.function))
            {
                ecam.quiesce(f.bdf);
            }
        }
        if let Some(space) = task.space.take() {
            if let Some(kpt) = &self.kernel_pt {
                // SAFETY: the kernel table maps the kernel exactly as every
                // task table does (they share its root entries).
                unsafe { cpu::switch_page_table(kpt.root()) };
                self.active_root = kpt.root();
            }
            space.destroy(&mut self.mem);
        }
        // Its channel ends go last, after its devices stopped: a live peer
        // is told (its bit raised) and a channel with no live end left
        // gives its frames back.
        let (tasks, mem) = (&mut self.tasks, &mut self.mem);
        self.channels.end_task(
            i,
            |peer, bits| {
                if let Some(t) = tasks.get_mut(peer).and_then(Option::as_mut)
                    && !t.state.has_ended()
                    && let Some(ready) = t.notify.signal(bits)
                {
                    t.wake(ready, 0);
                }
            },
            |base, pages| mem.free_frames(base, pages),
        );
    }

    /// Judges the system (after boot and whenever a task ends): a mismatch
    /// fails the machine at once; once every task expected to end has
    /// ended as expected, reports success, and stops the machine unless
    /// tasks that serve until it is stopped go on.
    pub fn judge(&mut self) {
        let states = self.tasks.iter().flatten().map(|t| (t.state, t.expect));
        match verdict(states) {
            Verdict::Pending => {}
            Verdict::Passed { serving } if serving > 0 && self.boot_failures == 0 => {
                if !self.judged {
                    self.judged = true;
                    kprintln!("neuron: all tasks ended as expected");
                    for t in self.tasks.iter().flatten() {
                        if t.expect == Expect::Serve {
                            kprintln!("neuron: task {} serves until the machine stops", t.name);
                        }
                    }
                }
            }
            Verdict::Passed { .. } | Verdict::Failed { .. } => self.finish(),
        }
    }

    /// Picks the next runnable task after `after` (or `after` itself if it
    /// is the only one) and makes it the current one; returns its frame for
    /// the trap entry to restore. While every task left is blocked, the hart
    /// sleeps until an interrupt or a deadline wakes one. When no task is
    /// left at all, ends the machine.
    pub fn schedule(&mut self, after: usize) -> *const TrapFrame {
        loop {
            let tasks = self.survey();
            if let Some(i) = next_runnable(tasks.runnable, after) {
                return self.run(i, &tasks);
            }
            if !tasks.blocked {
                self.finish()
            }
            if let Some(i) = self.idle(tasks.deadline) {
                // The one task made runnable, by its interrupt: the timer
                // already fires no later than any deadline left (see
                // `set_timer`), and there is no other task to slice with.
                return self.enter(i);
            }
        }
    }

    /// Which tasks are runnable, whether any is blocked, and the nearest
    /// deadline, in one pass over the task table.
    fn survey(&self) -> Survey {
        survey(
            self.tasks
                .iter()
                .map(|t| t.as_ref().map(|t| (t.state, || t.notify.deadline()))),
        )
    }

    /// Arms the timer and enters runnable task `i`. Each task switched to
    /// gets a whole time slice; the timer fires earlier for the nearest
    /// deadline of a blocked task. A task that is the only runnable one
    /// runs until a deadline (none: without interruptions, since tasks are
    /// never added and only an interrupt can make another runnable).
    fn run(&mut self, i: usize, tasks: &Survey) -> *const TrapFrame {
        let others = tasks.runnable & !(1 << i) != 0;
        let now = cpu::now();
        let slice = others.then(|| now.wrapping_add(self.quantum));
        let want = [slice, tasks.deadline].into_iter().flatten().min();
        self.set_timer(want.unwrap_or(u64::MAX), now);
        self.enter(i)
    }

    /// `idle_stats`: answers the current task with how much `instret`
    /// passed while the kernel idled, and how many times it did.
    #[inline(never)]
    pub fn answer_idle_stats(&mut self, saved: *mut TrapFrame) -> Next {
        let (instret, waits) = (self.idle_instret, self.idle_waits);
        if let Some(task) = self.tasks[self.current].as_mut() {
            crate::syscall::reply(task, Ok([instret as usize, waits as usize, 0]));
        }
        Next::same(saved)
    }

    /// Every task blocked: sleep until an interrupt is pending (`deadline`,
    /// the nearest of a blocked task, arms the timer), then deliver what
    /// woke the hart.
    /// Returns the task woken if exactly one was, by an interrupt.
    fn idle(&mut self, deadline: Option<u64>) -> Option<usize> {
        self.set_timer(deadline.unwrap_or(u64::MAX), cpu::now());
        let before = cpu::instret();
        cpu::wait_for_interrupt();
        // The hart took no trap: the instruction after `wfi` is where the
        // interrupt entered the kernel.
        let stamp = cpu::instret();
        self.idle_instret = self.idle_instret.wrapping_add(stamp.wrapping_sub(before));
        self.idle_waits = self.idle_waits.wrapping_add(1);
        let (woken, count) = self.external_interrupts(stamp);
        // The timer fires no later than the nearest deadline, so none can
        // have passed before it is due.
        let timed_out = cpu::now() >= self.timer && self.expire_deadlines() > 0;
        woken.filter(|_| count == 1 && !timed_out)
    }

    /// Makes the timer fire no later than `want` (`u64::MAX`: never),
    /// reprogramming it (an SBI call, hundreds of instructions) only when
    /// [`timer_needs_programming`] says so.
    pub fn set_timer(&mut self, want: u64, now: u64) {
        if timer_needs_programming(self.timer, want, now) {
            cpu::set_timer_at(want);
            self.timer = want;
        }
    }

    /// Wakes, with `TimedOut`, every blocked task whose deadline passed.
    /// Returns how many.
    pub fn expire_deadlines(&mut self) -> usize {
        let now = cpu::now();
        let mut woken = 0;
        for t in self.tasks.iter_mut().flatten() {
            if t.state == State::Blocked && t.notify.expire(now) {
                t.time_out();
                woken += 1;
            }
        }
        woken
    }

    /// Claims every pending source from the PLIC. A bound, armed line is
    /// masked until its owner's `irq_ack` and raises the owner's bit, which
    /// may wake it; anything else is masked. Returns the last task woken
    /// and how many were.
    /// `stamp` is the `instret` value when the kernel took the interrupt;
    /// a task it wakes gets it from `wait` (`a2`), for latency figures.
    #[inline(always)]
    pub fn external_interrupts(&mut self, stamp: u64) -> (Option<usize>, usize) {
        let Some(plic) = self.plic else {
            return (None, 0);
        };
        let (mut woken, mut count) = (None, 0);
        loop {
            let source = plic.claim();
            if source == 0 {
                return (woken, count);
            }
            // Complete first (a PLIC ignores the completion of a disabled
            // source), then mask: the line stays quiet until acknowledged.
            plic.complete(source);
            plic.disable(source);
            if let Claimed::Signal { owner, bits } = self.irqs.claimed(source)
                && let Some(task) = self.tasks.get_mut(owner).and_then(Option::as_mut)
                && let Some(ready) = task.notify.signal(bits)
            {
                task.wake(ready, stamp);
                woken = Some(owner);
                count += 1;
            }
        }
    }

    /// An external interrupt arrived while a task ran (its registers saved
    /// in `saved`): deliver it, and switch at once to a task it woke.
    pub fn interrupted(&mut self, saved: *mut TrapFrame, stamp: u64) -> Next {
        match self.external_interrupts(stamp).0 {
            Some(woken) if woken != self.current => {
                let tasks = self.survey();
                Next {
                    resume: self.run(woken, &tasks),
                    save: saved,
                }
            }
            _ => Next::same(saved),
        }
    }

    /// `task_kill` by the current task of task `target`: ends it (killed)
    /// and answers the caller, or answers `TaskEnded`.
    #[inline(never)]
    pub fn kill(&mut self, target: usize, saved: *mut TrapFrame) -> Next {
        let me = self.current;
        let alive = self
            .tasks
            .get(target)
            .and_then(Option::as_ref)
            .is_some_and(|t| matches!(t.state, State::Runnable | State::Blocked));
        let caller = self.tasks[me].as_mut().map(|t| {
            let status = if alive {
                Ok([0; 3])
            } else {
                Err(nexus_abi::SysError::TaskEnded)
            };
            crate::syscall::reply(t, status);
            t.name
        });
        if !alive {
            return Next::same(saved);
        }
        if let Some(t) = self.tasks[target].as_ref() {
            let waiting = if t.state == State::Blocked {
                " while waiting"
            } else {
                ""
            };
            kprintln!(
                "neuron: task {} killed by {}{waiting}",
                t.name,
                caller.unwrap_or("?")
            );
        }
        self.end_task(target, State::Killed);
        if target == me {
            self.switch(saved)
        } else {
            self.enter_current(saved)
        }
    }

    /// `task_restart` by the current task of task `target`: ends it if it
    /// runs, starts it again ([`super::boot::restart_task`]) and answers
    /// the caller. A task does not restart itself (`InvalidArgument`); one
    /// that never ran (refused at boot) is `TaskEnded`. Out of line: the
    /// new task is built on the stack, and the trap path that calls this
    /// must not carry that frame on every system call.
    #[inline(never)]
    pub fn restart(&mut self, target: usize, saved: *mut TrapFrame) -> Next {
        let me = self.current;
        let caller = self.tasks[me].as_ref().map_or("?", |t| t.name);
        let old = self
            .tasks
            .get(target)
            .and_then(Option::as_ref)
            .map(|t| (t.name, t.state));
        let allowed = super::boot::restartable(self, target).map(drop);
        let result = match old {
            _ if target == me => Err(nexus_abi::SysError::InvalidArgument),
            None => Err(nexus_abi::SysError::TaskEnded),
            Some(_) if allowed.is_err() => allowed,
            Some((name, state)) if !state.has_ended() => {
                let waiting = if state == State::Blocked {
                    " while waiting"
                } else {
                    ""
                };
                kprintln!("neuron: task {name} killed by {caller}{waiting}, to restart");
                self.release_task(target, State::Killed);
                Ok(())
            }
            Some(_) => Ok(()),
        };
        let result = result.and_then(|()| super::boot::restart_task(self, target));
        if let (Ok(()), Some((name, _))) = (result, old) {
            kprintln!("neuron: task {name} restarted by {caller}");
        }
        if let Some(t) = self.tasks[me].as_mut() {
            crate::syscall::reply(t, result.map(|()| [0; 3]));
        }
        // A restart that failed after the old life ended leaves it ended.
        self.judge();
        self.enter_current(saved)
    }

    /// `channel_signal` by the current task succeeded: raise `bits` in task
    /// `peer`'s notification, waking it if that ends its wait, and return
    /// to the caller.
    pub fn signal(&mut self, peer: usize, bits: u64, saved: *mut TrapFrame) -> Next {
        if let Some(t) = self.tasks.get_mut(peer).and_then(Option::as_mut)
            && !t.state.has_ended()
            && let Some(ready) = t.notify.signal(bits)
        {
            t.wake(ready, 0);
        }
        Next::same(saved)
    }

    /// `cap_transfer` by the current task passed its checks: the copy goes
    /// to task `peer`'s lowest free slot (or the caller gets `NoSlot`), and
    /// the peer's channel bit is raised.
    #[inline(never)]
    pub fn transfer(
        &mut self,
        peer: usize,
        bits: u64,
        cap: crate::cap::Cap,
        from: usize,
        saved: *mut TrapFrame,
    ) -> Next {
        let me = self.current;
        let received = match self.tasks.get_mut(peer).and_then(Option::as_mut) {
            Some(t) if !t.state.has_ended() => t.caps.install_copy(cap, me, from),
            _ => Err(nexus_abi::SysError::PeerEnded),
        };
        if received.is_ok() {
            self.signal(peer, bits, saved);
        }
        if let Some(t) = self.tasks[self.current].as_mut() {
            crate::syscall::reply(t, received.map(|slot| [slot, 0, 0]));
        }
        Next::same(saved)
    }

    /// `cap_revoke` by the current task deleted its capabilities in
    /// `slots`: the copies transferred from them go too, in every task,
    /// with their mappings.
    #[inline(never)]
    pub fn revoke_copies(&mut self, slots: u64, saved: *mut TrapFrame) -> Next {
        let me = self.current;
        crate::transfer::revoke_copies(&mut self.tasks, &mut self.mem, me, slots);
        Next::same(saved)
    }

    /// Back to the current task after the kernel switched page tables
    /// (ending another task does): its own table is made active again.
    fn enter_current(&mut self, saved: *mut TrapFrame) -> Next {
        self.enter(self.current);
        Next::same(saved)
    }

    /// Leaves the current task, whose registers were saved in `saved`, for
    /// the next runnable one.
    /// When that is the same task again (it blocked and its interrupt woke
    /// it before anything else ran), its other registers and `sepc` are
    /// still live: the trap entry only restores what it saved.
    pub fn switch(&mut self, saved: *mut TrapFrame) -> Next {
        let resume = self.schedule(self.current);
        if core::ptr::eq(resume, saved) {
            Next::same(saved)
        } else {
            Next {
                resume,
                save: saved,
            }
        }
    }

    /// Makes task `i` the current one and its address space the active
    /// one; returns its frame.
    fn enter(&mut self, i: usize) -> *const TrapFrame {
        self.current = i;
        let Some(task) = self.tasks[i].as_ref() else {
            self.finish()
        };
        let Some(space) = task.space.as_ref() else {
            self.finish()
        };
        let root = space.page_table().root();
        if root != self.active_root {
            // SAFETY: every task table shares the kernel's root entries, so
            // the kernel stays mapped identically across the switch.
            unsafe { cpu::switch_page_table(root) };
            self.active_root = root;
        }
        &task.frame
    }

    /// Reports and stops QEMU, with success only if every task expected to
    /// end ended as the system description expects and no serving task
    /// ended.
    fn finish(&mut self) -> ! {
        let mut bad = self.boot_failures;
        for t in self.tasks.iter().flatten() {
            let ok = match t.expect {
                Expect::Serve => !t.state.has_ended(),
                _ => t.ended_as_expected(),
            };
            if !ok {
                let how = if t.state.has_ended() {
                    "ended"
                } else {
                    "still running:"
                };
                kprintln!(
                    "neuron: task {} {how} {:?}, expected {:?}",
                    t.name,
                    t.state,
                    t.expect
                );
                bad += 1;
            }
        }
        if bad == 0 {
            kprintln!("neuron: all tasks ended as expected");
            cpu::finish(true, 0)
        } else {
            kprintln!("neuron: {bad} failure(s)");
            cpu::finish(false, 1)
        }
    }
}
