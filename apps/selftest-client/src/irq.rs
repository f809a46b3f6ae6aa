//! The interrupt and notification checks: each refusal against its
//! documented code, a deadline that really blocks, and killing a task
//! blocked in `wait`.

use nexus_abi::{CapKind, CapRights, SysError, sys};

use crate::Check;

/// Where system.toml puts the irq capability of this task's virtio-rng
/// window (a device this task never drives, so the line never fires).
const IRQ_SLOT: usize = 2;
/// Its notification bit.
const IRQ_BIT: u32 = 0;
/// The device window (not an irq).
const WINDOW_SLOT: usize = 1;
/// A slot nothing is granted in.
const EMPTY_SLOT: usize = 9;
/// The channel to `xfer-peer` (a peer a capability could be sent to).
const CHANNEL_SLOT: usize = 4;
/// Control over `irq-hog`.
const HOG_SLOT: usize = 3;
/// Half a second of the 10 MHz timer.
const HALF_SECOND: u64 = 5_000_000;

fn expect<T>(got: Result<T, SysError>, want: SysError, what: &'static str) -> Check {
    match got {
        Err(e) if e == want => Ok(()),
        _ => Err(what),
    }
}

/// Whether this task holds its irq capability (a machine without a PLIC
/// mints none).
pub fn granted() -> bool {
    sys::cap_info(IRQ_SLOT).is_ok_and(|c| c.kind == CapKind::Irq)
}

/// `irq_ack` of an empty slot is `EmptySlot`.
pub fn deny_no_cap() -> Check {
    expect(
        sys::irq_ack(EMPTY_SLOT),
        SysError::EmptySlot,
        "irq_ack of an empty slot was not EmptySlot",
    )
}

/// `irq_ack` of a device window is `WrongKind`.
pub fn deny_wrong_kind() -> Check {
    expect(
        sys::irq_ack(WINDOW_SLOT),
        SysError::WrongKind,
        "irq_ack of a window was not WrongKind",
    )
}

/// `irq_ack` of a line that never fired is `NotPending`: there is nothing to
/// acknowledge, and the line is not touched.
pub fn deny_not_pending() -> Check {
    let info = sys::cap_info(IRQ_SLOT).map_err(|_| "no irq capability in slot 2")?;
    if info.kind != CapKind::Irq {
        return Err("slot 2 is not an irq capability");
    }
    expect(
        sys::irq_ack(IRQ_SLOT),
        SysError::NotPending,
        "irq_ack of a quiet line was not NotPending",
    )
}

/// An irq capability never leaves its owner: `cap_transfer` of it to a
/// channel's peer is `WrongKind` (only device windows travel), and so is
/// `cap_derive`. No other task can hold it, so `irq_ack`'s `NotOwner`
/// refusal (host-tested in the kernel) cannot be reached from a task.
pub fn deny_transfer() -> Check {
    expect(
        sys::cap_transfer(CHANNEL_SLOT, IRQ_SLOT, CapRights::READ | CapRights::WRITE),
        SysError::WrongKind,
        "cap_transfer of the irq capability was not WrongKind",
    )?;
    expect(
        sys::cap_derive(IRQ_SLOT, 0, 0x1000, CapRights::READ),
        SysError::WrongKind,
        "cap_derive of the irq capability was not WrongKind",
    )?;
    // Still its own, and still quiet.
    expect(
        sys::irq_ack(IRQ_SLOT),
        SysError::NotPending,
        "the irq capability changed",
    )
}

/// `wait` with an empty mask is `InvalidArgument`; `poll` of a quiet line
/// is 0; a `wait` for it with a deadline half a second away blocks until
/// the deadline and returns `TimedOut`.
pub fn wait_deadline() -> Check {
    let mask = 1 << IRQ_BIT;
    expect(
        sys::wait(0, sys::time() + HALF_SECOND),
        SysError::InvalidArgument,
        "wait with an empty mask was not InvalidArgument",
    )?;
    if sys::poll(mask) != Ok(0) {
        return Err("poll of a quiet line was not 0");
    }
    let start = sys::time();
    expect(
        sys::wait(mask, start + HALF_SECOND),
        SysError::TimedOut,
        "wait for a quiet line did not time out",
    )?;
    if sys::time() < start + HALF_SECOND {
        return Err("wait returned TimedOut before its deadline");
    }
    expect(
        sys::wait(mask, start),
        SysError::TimedOut,
        "wait with a past deadline was not TimedOut",
    )
}

/// `irq-hog` is blocked in `wait` for a line it never acknowledged (the
/// half-second wait above gave it time to get there): `task_kill` ends it,
/// a second kill is `TaskEnded`, and killing with a window is `WrongKind`.
pub fn kill_while_waiting() -> Check {
    expect(
        sys::task_kill(WINDOW_SLOT),
        SysError::WrongKind,
        "task_kill with a window was not WrongKind",
    )?;
    sys::task_kill(HOG_SLOT).map_err(|_| "task_kill of irq-hog failed")?;
    expect(
        sys::task_kill(HOG_SLOT),
        SysError::TaskEnded,
        "a second task_kill was not TaskEnded",
    )
}
