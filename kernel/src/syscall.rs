//! The system-call dispatcher: one `match`, one place that writes results.

use nexus_abi::layout::DEBUG_WRITE_MAX;
use nexus_abi::{SysError, Sysno};

use crate::mem::Memory;
use crate::task::Task;

/// What the scheduler must do after a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Return to the caller (its `a0..a3` are already written).
    Resume,
    /// Switch to the next runnable task.
    Yield,
    /// End the caller with this exit code.
    Exit(i32),
}

/// Results of a successful call, written to `a1..a3`.
type Values = [usize; 3];

/// Runs system call `nr` with `args` for `task`; writes `a0..a3` of its
/// frame (status 0 and results, or an error code) and says what next.
/// Every input is untrusted: nothing here can panic on user values.
pub fn dispatch(
    task: &mut Task,
    mem: &mut impl Memory,
    console: &mut impl FnMut(&[u8]),
    nr: usize,
    args: [usize; 6],
) -> Action {
    if fast(task, nr, args[0]) {
        return Action::Resume;
    }
    match Sysno::try_from(nr) {
        Ok(Sysno::Yield) => {
            reply(task, Ok([0; 3]));
            return Action::Yield;
        }
        Ok(Sysno::Exit) => return Action::Exit(args[0] as i32),
        Ok(sysno) => {
            let result = handle(task, mem, console, sysno, args);
            reply(task, result);
        }
        Err(e) => reply(task, Err(e)),
    }
    Action::Resume
}

/// Answers the calls that need neither memory, nor the console, nor the
/// scheduler (`cap_info`), as [`dispatch`] would: writes `a0..a3` and
/// returns true. Returns false, changing nothing, for every other call.
#[inline(always)]
pub fn fast(task: &mut Task, nr: usize, a0: usize) -> bool {
    if nr != Sysno::CapInfo as usize {
        return false;
    }
    reply(task, cap_info(task, a0));
    true
}

/// Writes a call's outcome to `a0..a3`.
#[inline(always)]
fn reply(task: &mut Task, result: Result<Values, SysError>) {
    task.frame.set_return(match result {
        Ok([a1, a2, a3]) => [0, a1, a2, a3],
        Err(e) => [e.code(), 0, 0, 0],
    });
}

#[inline(always)]
fn cap_info(task: &Task, slot: usize) -> Result<Values, SysError> {
    let cap = task.caps.get(slot)?;
    Ok([cap.kind() as usize, cap.len(), cap.rights.bits()])
}

fn handle(
    task: &mut Task,
    mem: &mut impl Memory,
    console: &mut impl FnMut(&[u8]),
    sysno: Sysno,
    a: [usize; 6],
) -> Result<Values, SysError> {
    // A task whose memory is gone never runs, so `space` is always present
    // here; treat its absence as a bad address rather than trusting that.
    let space = task.space.as_mut().ok_or(SysError::BadAddress)?;
    match sysno {
        Sysno::DebugWrite => {
            let (ptr, len) = (a[0], a[1]);
            if len > DEBUG_WRITE_MAX {
                return Err(SysError::InvalidArgument);
            }
            space.read_user(mem, ptr, len, |bytes| console(bytes))?;
            Ok([len, 0, 0])
        }
        Sysno::CapDerive => Ok([task.caps.derive(a[0], a[1], a[2], a[3])?, 0, 0]),
        Sysno::CapRevoke => Ok([space.revoke(&mut task.caps, mem, a[0])?, 0, 0]),
        Sysno::MmioMap => {
            let (va, len) = space.mmio_map(&mut task.caps, mem, a[0], a[1])?;
            Ok([va, len, 0])
        }
        Sysno::MmioUnmap => {
            space.mmio_unmap(&mut task.caps, mem, a[0])?;
            Ok([0; 3])
        }
        Sysno::VmQuery => Ok([space.query(mem, a[0])?.bits(), 0, 0]),
        Sysno::DmaAlloc => {
            let (va, pa, len) = space.dma_alloc(&mut task.caps, mem, a[0], task.dma_quota)?;
            Ok([va, pa, len])
        }
        Sysno::DmaFree => {
            space.dma_free(&mut task.caps, mem, a[0])?;
            Ok([0; 3])
        }
        Sysno::CapInfo => cap_info(task, a[0]),
        Sysno::Yield | Sysno::Exit => Err(SysError::BadSyscall),
    }
}
