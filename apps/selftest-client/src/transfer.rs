//! Capability transfer at run time: a window of the selftest's device is
//! handed to `xfer-peer` over a channel; the peer maps it and reads the
//! device's identity through it; revoking the original takes the copy and
//! its mapping away from the peer. And the refusals, each with its
//! documented error.

use mmio_types::DmaRegion;
use nexus_abi::{CapRights, SysError, sys};

use crate::Check;

/// Where system.toml puts the device window and the channel to xfer-peer.
const DEVICE_SLOT: usize = 1;
const CHANNEL_SLOT: usize = 4;
/// The bit xfer-peer's signals raise here.
const CHANNEL_BIT: u32 = 1;
/// The window's length.
const WINDOW: usize = 0x1000;
/// Byte offsets in the shared page: the slot the peer got (plus one), and
/// the peer's report.
const SLOT_AT: usize = 0;
const REPORT_AT: usize = 64;
/// Reports: the copy mapped and the device read; the copy and its mapping
/// gone after revocation; a check of the peer failed.
const MAPPED: u32 = 1;
const GONE: u32 = 2;
const PEER_FAILED: u32 = 0xdead;
/// How long the peer may take: 5 s.
const TIMEOUT: u64 = 50_000_000;

fn expect(got: Result<usize, SysError>, want: SysError, what: &'static str) -> Check {
    match got {
        Err(e) if e == want => Ok(()),
        _ => Err(what),
    }
}

/// The refusals of `cap_transfer`, each with its documented error.
pub fn deny() -> Check {
    let rm = CapRights::READ | CapRights::MAP;
    let plain = sys::cap_derive(DEVICE_SLOT, 0, WINDOW, rm).map_err(|_| "derive failed")?;
    let movable = sys::cap_derive(DEVICE_SLOT, 0, WINDOW, rm | CapRights::TRANSFER)
        .map_err(|_| "derive failed")?;
    expect(
        sys::cap_transfer(32, movable, rm),
        SysError::BadSlot,
        "channel slot 32",
    )?;
    expect(
        sys::cap_transfer(9, movable, rm),
        SysError::EmptySlot,
        "an empty channel slot",
    )?;
    expect(
        sys::cap_transfer(DEVICE_SLOT, movable, rm),
        SysError::WrongKind,
        "a window as the channel",
    )?;
    expect(
        sys::cap_transfer(CHANNEL_SLOT, 0, rm),
        SysError::WrongKind,
        "the task capability sent",
    )?;
    expect(
        sys::cap_transfer(CHANNEL_SLOT, plain, rm),
        SysError::RightsExceeded,
        "a window without TRANSFER sent",
    )?;
    expect(
        sys::cap_transfer(CHANNEL_SLOT, movable, rm | CapRights::WRITE),
        SysError::RightsExceeded,
        "more rights than the sender's",
    )?;
    if sys::cap_revoke(DEVICE_SLOT).is_err() {
        return Err("cleaning up failed");
    }
    Ok(())
}

/// Waits until the peer's report is `want`.
fn await_report(mem: &DmaRegion, want: u32) -> Check {
    let deadline = sys::time().saturating_add(TIMEOUT);
    loop {
        match mem.read::<u32>(REPORT_AT) {
            Ok(r) if r == want => return Ok(()),
            Ok(PEER_FAILED) => return Err("xfer-peer reported a failed check"),
            _ => {}
        }
        match sys::wait(1 << CHANNEL_BIT, deadline) {
            Ok(_) => {}
            Err(SysError::TimedOut) => return Err("xfer-peer did not report within 5 s"),
            Err(_) => return Err("wait failed"),
        }
    }
}

/// Hands a child of the device window to xfer-peer, which maps it and
/// reads the device through it; then revokes the child's descendants,
/// which takes the peer's copy and mapping away.
pub fn hand_over() -> Check {
    let token = sys::channel_map(CHANNEL_SLOT).map_err(|_| "mapping the channel failed")?;
    let mut mem = DmaRegion::new(token);
    let rights = CapRights::READ | CapRights::MAP | CapRights::TRANSFER;
    let child = sys::cap_derive(DEVICE_SLOT, 0, WINDOW, rights).map_err(|_| "deriving failed")?;
    let theirs = sys::cap_transfer(CHANNEL_SLOT, child, CapRights::READ | CapRights::MAP)
        .map_err(|_| "cap_transfer failed")?;
    mem.write::<u32>(SLOT_AT, theirs as u32 + 1)
        .map_err(|_| "the channel is too small")?;
    sys::channel_signal(CHANNEL_SLOT).map_err(|_| "signalling xfer-peer failed")?;
    await_report(&mem, MAPPED)?;
    // Revoking the child revokes what was derived from it: the copy.
    if sys::cap_revoke(child).is_err() {
        return Err("cap_revoke failed");
    }
    sys::channel_signal(CHANNEL_SLOT).map_err(|_| "signalling xfer-peer failed")?;
    await_report(&mem, GONE)?;
    if sys::cap_info(child).is_err() {
        return Err("revoke deleted the capability itself");
    }
    if sys::cap_revoke(DEVICE_SLOT).is_err() {
        return Err("cleaning up failed");
    }
    Ok(())
}
