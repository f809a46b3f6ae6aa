//! The kernel's global state and the scheduler's hand-over to U-mode.

use core::cell::UnsafeCell;

use crate::cap::Object;
use crate::device::DeviceTable;
use crate::pagetable::PageTable;
use crate::task::{MAX_TASKS, State, Task, TrapFrame, next_runnable};

use super::console::kprintln;
use super::cpu;
use super::phys::PhysMemory;

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
    /// Boot-time failures: refused programs, unresolvable grants.
    pub boot_failures: usize,
    /// The page-table root in `satp` (0 before the first task runs).
    pub active_root: usize,
    /// The device windows found at boot.
    pub devices: DeviceTable,
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
    boot_failures: 0,
    active_root: 0,
    devices: DeviceTable::new(),
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
    /// Ends task `i` with `state` and frees its memory.
    pub fn end_task(&mut self, i: usize, state: State) {
        let Some(task) = self.tasks[i].as_mut() else {
            return;
        };
        task.state = state;
        if let State::Exited(code) = state {
            kprintln!("neuron: task {} exited with code {}", task.name, code);
        }
        // Stop every virtio device the task drove before its memory goes
        // back: a device must not keep writing into frames handed out again.
        for (_, cap) in task.caps.iter() {
            if let (Object::DeviceMmio { base, .. }, None) = (cap.object, cap.parent)
                && self.devices.at(base).is_some_and(|d| d.class.is_virtio())
            {
                cpu::reset_virtio_device(base);
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
    }

    /// Picks the next runnable task after `after` (or `after` itself if it
    /// is the only one) and makes it the current one; returns its frame for
    /// the trap entry to restore. When none is left, ends the machine.
    pub fn schedule(&mut self, after: usize) -> *const TrapFrame {
        let mut states = [State::Killed; MAX_TASKS];
        for (s, t) in states.iter_mut().zip(&self.tasks) {
            if let Some(t) = t {
                *s = t.state;
            }
        }
        match next_runnable(&states, after) {
            Some(i) => {
                // Each task switched to gets a whole time slice; a task that
                // is the only one left runs without interruptions (no task
                // is ever added, so nobody else can need the processor).
                let others = states
                    .iter()
                    .enumerate()
                    .any(|(j, s)| j != i && *s == State::Runnable);
                if others {
                    cpu::set_timer_in(self.quantum);
                } else {
                    cpu::disarm_timer();
                }
                self.enter(i)
            }
            None => self.finish(),
        }
    }

    /// Leaves the current task, whose registers were saved in `saved`, for
    /// the next runnable one.
    pub fn switch(&mut self, saved: *mut TrapFrame) -> Next {
        Next {
            resume: self.schedule(self.current),
            save: saved,
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

    /// Every task has ended: report and stop QEMU, with success only if
    /// each ended as the system description expects.
    fn finish(&mut self) -> ! {
        let mut bad = self.boot_failures;
        for t in self.tasks.iter().flatten() {
            if !t.ended_as_expected() {
                kprintln!(
                    "neuron: task {} ended {:?}, expected {:?}",
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
