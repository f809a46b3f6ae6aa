//! `blk-restarter`: the supervisor of `cargo xtask bench`'s kill run. It
//! restarts `blk-victim` [`RESTARTS`] times, each time while its reads
//! stream, and waits for each new life to stream again. A new life streams
//! only after blkd reset their channel, which blkd does only once every
//! buffer of the old life came back; blkd's reports of each end (requests
//! at the disk, and their return) give `blk_client_kill_leaks`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::{println, sys};

nexus_abi::entry!(main);

/// The control channel to blk-victim, and the bit its report raises.
const CONTROL_SLOT: usize = 1;
const CONTROL_BIT: u32 = 1;
/// Task-control capabilities over blk-victim and blkd.
const VICTIM_SLOT: usize = 2;
const BLKD_SLOT: usize = 3;
/// Restarts in one run.
const RESTARTS: u32 = 1000;
/// How long a life may take to stream: 10 s of the 10 MHz timer. Only a
/// life whose channel was never reset (a buffer blkd never got back)
/// reaches it.
const STREAM_TIMEOUT: u64 = 100_000_000;

fn main() -> i32 {
    let result = run();
    // The machine stops once both have ended.
    let _ = sys::task_kill(VICTIM_SLOT);
    let _ = sys::task_kill(BLKD_SLOT);
    match result {
        Ok(()) => 0,
        Err((done, why)) => {
            println!("blk-restarter: FAIL after {done} restart(s): {why}");
            1
        }
    }
}

fn run() -> Result<(), (u32, &'static str)> {
    let token = sys::channel_map(CONTROL_SLOT).map_err(|_| (0, "mapping the control channel"))?;
    let mut control = DmaRegion::new(token);
    let streaming = |control: &mut DmaRegion| {
        let deadline = sys::time().saturating_add(STREAM_TIMEOUT);
        blk_victim::await_streaming(control, CONTROL_SLOT, CONTROL_BIT, deadline)
    };
    for done in 0..RESTARTS {
        streaming(&mut control).map_err(|e| (done, e))?;
        sys::task_restart(VICTIM_SLOT).map_err(|_| (done, "restarting blk-victim"))?;
        // The kernel raised the control bit for the end and the restart.
        let _ = sys::poll(1 << CONTROL_BIT);
        sys::channel_reset(CONTROL_SLOT).map_err(|_| (done, "resetting the control channel"))?;
    }
    streaming(&mut control).map_err(|e| (RESTARTS, e))?;
    println!(
        "blk-restarter: restarted blk-victim {RESTARTS} times mid-stream; every new life streamed"
    );
    Ok(())
}
