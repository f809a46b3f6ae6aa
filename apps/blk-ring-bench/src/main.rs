//! `blk-ring-bench`: reads through `blkd`'s channel ring, as a client does,
//! for `cargo xtask bench`: throughput with 16 and with 1 request in flight,
//! 4 KiB and 64 KiB requests (and 4 KiB at depths 4, 8 and 12), and the guest instructions per 4 KiB read
//! (client, kernel, blkd and driver together: everything the hart runs).
//! Prints `BENCH: <name> <value> <unit>` lines, then ends blkd so the
//! machine stops.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::{SysError, println, sys};
use nexus_virtio::disk_pattern::SCRATCH_SECTOR;
use ring_types::blk::{BlkClient, OP_READ, SECTOR, ST_OK};
use ring_types::{Buf, Desc};

nexus_abi::entry!(main);

/// Where the bench system puts the channel to blkd, and its bit.
const CHANNEL_SLOT: usize = 1;
const CHANNEL_BIT: u32 = 1;
/// Task control over blkd (ended at the end, so the machine stops).
const BLKD_SLOT: usize = 2;
/// `time` ticks per second on QEMU `virt`.
const TIMEBASE: u64 = 10_000_000;
/// Bytes read per throughput run.
const TOTAL: usize = 16 << 20;
/// Requests timed for the instruction count.
const INSTR_REQUESTS: u64 = 256;
/// How long blkd may take to answer (it runs its own checks first).
const TIMEOUT: u64 = 300_000_000;

fn main() -> i32 {
    let result = run();
    let _ = sys::task_kill(BLKD_SLOT);
    match result {
        Ok(()) => {
            println!("BENCH: done");
            0
        }
        Err(why) => {
            println!("BENCH: FAIL {why}");
            1
        }
    }
}

fn run() -> Result<(), &'static str> {
    let token = sys::channel_map(CHANNEL_SLOT).map_err(|_| "mapping the channel")?;
    let mut c = BlkClient::new(DmaRegion::new(token)).map_err(|_| "the channel is too small")?;
    verify(&mut c)?;
    for (name, size, depth) in [
        // The depth sweep: where the client path's throughput goes with
        // the number of requests in flight.
        ("blk_client_read_4k_qd4", 4096, 4),
        ("blk_client_read_4k_qd8", 4096, 8),
        ("blk_client_read_4k_qd12", 4096, 12),
        ("blk_client_read_4k_qd16", 4096, 16),
        ("blk_client_read_4k_qd1", 4096, 1),
        ("blk_client_read_64k_qd16", 65536, 16),
        ("blk_client_read_64k_qd1", 65536, 1),
    ] {
        let start = sys::time();
        stream(&mut c, size, depth, (TOTAL / size) as u64, false)?;
        let ticks = (sys::time() - start).max(1);
        let tenths = (TOTAL as u64 >> 20) * 10 * TIMEBASE / ticks;
        println!("BENCH: {name} {}.{} MiB/s", tenths / 10, tenths % 10);
    }
    for (depth, name, busy_name) in [
        (
            16,
            "blk_client_instr_per_req_qd16",
            "blk_client_busy_per_req_qd16",
        ),
        (
            1,
            "blk_client_instr_per_req_qd1",
            "blk_client_busy_per_req_qd1",
        ),
    ] {
        let (idle, _) = sys::idle_stats().map_err(|_| "idle_stats failed")?;
        let start = sys::instret();
        stream(&mut c, 4096, depth, INSTR_REQUESTS, false)?;
        let all = sys::instret() - start;
        let (idle_after, _) = sys::idle_stats().map_err(|_| "idle_stats failed")?;
        let busy = all.saturating_sub(idle_after.wrapping_sub(idle));
        println!("BENCH: {name} {} instructions", all / INSTR_REQUESTS);
        println!("BENCH: {busy_name} {} instructions", busy / INSTR_REQUESTS);
    }
    Ok(())
}

/// Every sector of the first 16 MiB holds its own number (but blkd's
/// scratch sector), read through the ring.
fn verify(c: &mut BlkClient) -> Result<(), &'static str> {
    stream(c, 65536, 16, (TOTAL / 65536) as u64, true)
}

/// Reads `count` requests of `size` bytes, sector after sector from 0,
/// with `depth` in flight; with `check`, checks each sector's number.
fn stream(
    c: &mut BlkClient,
    size: usize,
    depth: usize,
    count: u64,
    check: bool,
) -> Result<(), &'static str> {
    let per = (size / SECTOR) as u64;
    let (mut issued, mut done) = (0u64, 0u64);
    let deadline = sys::time().saturating_add(TIMEOUT);
    while done < count {
        let mut sent = false;
        while issued < count && c.in_flight() < depth {
            let buf = c.alloc().ok_or("no free buffer")?;
            // The tag is the request's number (at most 4096 per stream).
            let desc = Desc {
                tag: issued as u16,
                code: OP_READ,
                len: size as u32,
                arg: issued * per,
            };
            c.submit(desc, buf).map_err(|_| "submitting a read")?;
            issued += 1;
            sent = true;
        }
        if sent && c.server_sleeping() {
            sys::channel_signal(CHANNEL_SLOT).map_err(|_| "signalling blkd")?;
        }
        let mut got = false;
        while let Some((desc, buf)) = c.poll().map_err(|_| "blkd broke the ring")? {
            if desc.code != ST_OK {
                return Err("blkd failed a read");
            }
            if check {
                check_sectors(c, &buf, u64::from(desc.tag) * per, per)?;
            }
            c.release(buf).map_err(|_| "a foreign buffer")?;
            done += 1;
            got = true;
        }
        if !got && c.prepare_sleep().map_err(|_| "blkd broke the ring")? {
            match sys::wait(1 << CHANNEL_BIT, deadline) {
                Ok(_) => {}
                Err(SysError::TimedOut) => return Err("blkd did not answer in time"),
                Err(_) => return Err("wait failed"),
            }
        }
        c.woke().map_err(|_| "blkd broke the ring")?;
    }
    Ok(())
}

fn check_sectors(c: &BlkClient, buf: &Buf, first: u64, n: u64) -> Result<(), &'static str> {
    for i in 0..n {
        let mut word = [0u8; 8];
        c.read(buf, (i as usize) * SECTOR, &mut word)
            .map_err(|_| "reading a buffer")?;
        // blkd's own check overwrote its scratch sector before serving.
        if first + i != SCRATCH_SECTOR && u64::from_le_bytes(word) != first + i {
            return Err("a sector read through blkd holds the wrong number");
        }
    }
    Ok(())
}
