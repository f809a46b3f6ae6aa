//! The control protocol between `blk-victim` and the task that restarts or
//! kills it: a one-page channel beside the victim's channel to blkd. Once
//! its reads are answered and it keeps every buffer lent, the victim
//! writes [`STREAMING`] at offset 0 and signals; a reset after a restart
//! zeroes the word. The controller reads the word, so a wakeup that is the
//! kernel telling of the victim's end or restart is not taken for it.
#![no_std]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::{SysError, sys};

/// The word the victim writes when its reads stream.
pub const STREAMING: u32 = 0x5354_524d;
/// How long the controller stays off the processor once the victim
/// streams: 1 ms of the 10 MHz timer.
pub const SETTLE: u64 = 10_000;
/// A notification bit no channel raises, for that wait.
const IDLE_BIT: u32 = 63;

/// The victim's side: writes [`STREAMING`] in the control channel (mapping
/// it in `control` first) and signals. `Ok(false)` while the controller's
/// end still waits for its reset after a restart; the reset raises the
/// control bit, and the caller tries again then.
pub fn report(control: &mut Option<DmaRegion>, slot: usize) -> Result<bool, &'static str> {
    let region = match control {
        Some(region) => region,
        None => match sys::channel_map(slot) {
            Ok(token) => control.insert(DmaRegion::new(token)),
            Err(SysError::ResetPending) => return Ok(false),
            Err(_) => return Err("mapping the control channel"),
        },
    };
    region
        .write(0, STREAMING)
        .map_err(|_| "the control channel is too small")?;
    sys::channel_signal(slot).map_err(|_| "signalling the controller")?;
    Ok(true)
}

/// The controller's side: waits (until `deadline`) for [`STREAMING`] in
/// the control channel mapped as `control` (its end in `slot`, its bit
/// `bit`), and clears it; then stays off the processor for [`SETTLE`], so
/// that blkd takes the victim's latest requests to the disk and a kill
/// that follows finds them there. A victim that ended before it streamed
/// is an error.
pub fn await_streaming(
    control: &mut DmaRegion,
    slot: usize,
    bit: u32,
    deadline: u64,
) -> Result<(), &'static str> {
    loop {
        if control.read::<u32>(0) == Ok(STREAMING) {
            control
                .write(0, 0u32)
                .map_err(|_| "clearing the control word")?;
            return match sys::wait(1 << IDLE_BIT, sys::time().saturating_add(SETTLE)) {
                Err(SysError::TimedOut) => Ok(()),
                _ => Err("the settling wait did not time out"),
            };
        }
        match sys::wait(1 << bit, deadline) {
            Ok(_) => {}
            Err(SysError::TimedOut) => return Err("blk-victim did not report streaming"),
            Err(_) => return Err("wait failed"),
        }
        if control.read::<u32>(0) != Ok(STREAMING)
            && sys::channel_signal(slot) == Err(SysError::PeerEnded)
        {
            return Err("blk-victim ended before it streamed");
        }
    }
}
