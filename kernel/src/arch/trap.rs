//! Trap handling: system calls, the time slice, and killing faulting tasks.

use core::panic::PanicInfo;

use crate::fault::{ECALL_FROM_U, exception_name};
use crate::syscall::{Action, dispatch};
use crate::task::State;

use super::console::{Console, kprintln};
use super::cpu::{self, TIMER_INTERRUPT};
use super::kernel::kernel;

/// Exception codes whose `stval` is the faulting address.
fn tval_is_address(code: usize) -> bool {
    matches!(code, 0 | 1 | 4 | 5 | 6 | 7 | 12 | 13 | 15)
}

/// Every trap from U-mode lands here, on the kernel stack, with the task's
/// registers saved in its frame.
#[unsafe(no_mangle)]
extern "C" fn neuron_user_trap() -> ! {
    // SAFETY: the only kernel entry in progress.
    let k = unsafe { kernel() };
    let cause = cpu::cause();
    let cur = k.current;
    if cause.interrupt {
        if cause.code == TIMER_INTERRUPT {
            // `schedule` re-arms the timer for the next slice.
            k.schedule(cur);
        }
        k.resume(cur);
    }
    let Some(task) = k.tasks[cur].as_mut() else {
        k.schedule(cur)
    };
    if cause.code == ECALL_FROM_U {
        task.frame.pc = task.frame.pc.wrapping_add(4);
        let (nr, args) = task.frame.syscall_args();
        let mut out = |bytes: &[u8]| Console.write_bytes(bytes);
        match dispatch(task, &mut k.mem, &mut out, nr, args) {
            Action::Resume => k.resume(cur),
            Action::Yield => k.schedule(cur),
            Action::Exit(code) => {
                k.end_task(cur, State::Exited(code));
                k.schedule(cur)
            }
        }
    }
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
    k.schedule(cur)
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
