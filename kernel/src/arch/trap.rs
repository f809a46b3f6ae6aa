//! Trap handling: system calls, the time slice, and killing faulting tasks.

use core::panic::PanicInfo;

use crate::fault::{ECALL_FROM_U, exception_name};
use crate::syscall::{self, Action, Env, dispatch};
use crate::task::{State, TrapFrame};

use super::console::{Console, kprintln};
use super::cpu::{self, EXTERNAL_INTERRUPT, TIMER_INTERRUPT};
use super::kernel::{Kernel, Next, kernel};

/// Exception codes whose `stval` is the faulting address.
fn tval_is_address(code: usize) -> bool {
    matches!(code, 0 | 1 | 4 | 5 | 6 | 7 | 12 | 13 | 15)
}

/// Every trap from U-mode lands here, on the kernel stack, with the task's
/// caller-saved registers and sp saved in its frame `saved` and its
/// `a0..a5` and `a7` (the system-call arguments and number) passed as they
/// were. Says where the trap entry goes next.
///
/// The cheapest system calls are answered here without a call (so without
/// saving a register on the kernel stack); everything else goes on to
/// [`neuron_user_trap_slow`].
#[unsafe(no_mangle)]
extern "C" fn neuron_user_trap(
    a0: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    saved: *mut TrapFrame,
    nr: usize,
) -> Next {
    // SAFETY: the only kernel entry in progress; the reference is dead
    // before the slow path takes its own.
    let k = unsafe { kernel() };
    if cpu::scause_bits() == ECALL_FROM_U
        && let Some(task) = k.tasks[k.current].as_mut()
        && syscall::fast(task, nr, a0)
    {
        cpu::skip_ecall();
        return Next::same(saved);
    }
    neuron_user_trap_slow(a0, a1, a2, a3, a4, a5, saved, nr)
}

/// [`neuron_user_trap`] for every trap but the cheapest system calls.
#[inline(never)]
#[allow(clippy::too_many_arguments, reason = "the trap entry's registers")]
extern "C" fn neuron_user_trap_slow(
    a0: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    saved: *mut TrapFrame,
    nr: usize,
) -> Next {
    // SAFETY: the only kernel entry in progress, and the only reference.
    let k = unsafe { kernel() };
    if cpu::scause_bits() == ECALL_FROM_U
        && let Some(task) = k.tasks[k.current].as_mut()
    {
        cpu::skip_ecall();
        let mut out = |bytes: &[u8]| Console.write_bytes(bytes);
        let mut env = Env {
            me: k.current,
            now: cpu::now(),
            irqs: &mut k.irqs,
            devices: &k.devices,
            pci: &k.pci,
            channels: &mut k.channels,
        };
        let args = [a0, a1, a2, a3, a4, a5];
        return match dispatch(task, &mut k.mem, &mut out, &mut env, nr, args) {
            Action::Resume => Next::same(saved),
            Action::Yield | Action::Block => k.switch(saved),
            Action::Exit(code) => {
                k.end_task(k.current, State::Exited(code));
                k.switch(saved)
            }
            Action::IdleStats => k.answer_idle_stats(saved),
            Action::Unmask(line) => {
                if let Some(plic) = k.plic {
                    plic.enable(line);
                }
                Next::same(saved)
            }
            Action::Kill(target) => k.kill(target, saved),
            Action::Restart(target) => k.restart(target, saved),
            Action::Signal { task, bits } => k.signal(task, bits, saved),
            Action::Transfer {
                peer,
                bits,
                cap,
                from,
            } => k.transfer(peer, bits, cap, from, saved),
            Action::Revoked(slots) => k.revoke_copies(slots, saved),
        };
    }
    other_trap(k, saved)
}

/// An interrupt, or an exception other than a system call.
#[cold]
#[inline(never)]
fn other_trap(k: &mut Kernel, saved: *mut TrapFrame) -> Next {
    let stamp = cpu::instret();
    let cause = cpu::cause();
    let cur = k.current;
    if cause.interrupt {
        if cause.code == TIMER_INTERRUPT {
            // A deadline or the end of a slice; `schedule` re-arms the
            // timer.
            k.expire_deadlines();
            return k.switch(saved);
        }
        if cause.code == EXTERNAL_INTERRUPT {
            return k.interrupted(saved, stamp);
        }
        return Next::same(saved);
    }
    let Some(task) = k.tasks[cur].as_ref() else {
        return k.switch(saved);
    };
    let addr = if tval_is_address(cause.code) {
        cause.tval
    } else {
        cause.pc
    };
    kprintln!(
        "neuron: task {} killed: {} at {:#x} (pc {:#x})",
        task.name,
        exception_name(cause.code),
        addr,
        cause.pc
    );
    k.end_task(cur, State::Killed);
    k.switch(saved)
}

/// A trap taken in S-mode is a kernel bug: report it and fail the run.
#[unsafe(no_mangle)]
extern "C" fn neuron_kernel_trap() -> ! {
    let c = cpu::cause();
    kprintln!(
        "neuron: KERNEL TRAP: {} (interrupt {}, code {}) at {:#x} (pc {:#x})",
        if c.interrupt {
            "interrupt"
        } else {
            exception_name(c.code)
        },
        c.interrupt,
        c.code,
        c.tval,
        c.pc
    );
    cpu::finish(false, 4)
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    kprintln!("neuron: KERNEL PANIC: {info}");
    cpu::finish(false, 3)
}
