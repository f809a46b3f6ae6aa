//! The measurements: sequential read throughput, and instructions per request.

use core::arch::asm;

use virtio_drivers::device::blk::{BlkReq, BlkResp, SECTOR_SIZE, VirtIOBlk};
use virtio_drivers::transport::mmio::MmioTransport;

use crate::hal::{self, IdentityHal};
use crate::{fail, println};

type Blk = VirtIOBlk<IdentityHal, MmioTransport<'static>>;

/// Sectors read by one throughput run: 16 MiB.
const RUN_SECTORS: usize = 32 * 1024;
/// Throughput runs per request size; the median is printed.
const RUNS: usize = 3;
/// Requests timed for the instruction counts.
const INSTR_REQUESTS: usize = 64;
/// Polls of the used ring before a request counts as lost.
const SPIN_LIMIT: u32 = 1_000_000_000;

/// The `time` CSR.
pub fn time() -> u64 {
    let t: u64;
    // SAFETY: reading `time` has no side effect.
    unsafe { asm!("rdtime {}", out(reg) t, options(nostack)) };
    t
}

/// The `instret` CSR: instructions retired (exact under `-icount`).
fn instret() -> u64 {
    let n: u64;
    // SAFETY: reading `instret` has no side effect; OpenSBI lets S-mode read it.
    unsafe { asm!("rdinstret {}", out(reg) n, options(nostack)) };
    n
}

/// Runs every measurement and prints its `BENCH:` line.
pub fn run(transport: MmioTransport<'static>, timebase: u64) {
    let mut blk = Blk::new(transport).unwrap_or_else(|e| fail!("virtio-blk init: {e}"));
    if blk.capacity() < RUN_SECTORS as u64 {
        fail!("disk too small: {} sectors", blk.capacity());
    }
    let small = hal::alloc_buffer(1);
    let large = hal::alloc_buffer(16);

    verify(&mut blk, small);
    for (name, buf) in [("blk_read_4k", &mut *small), ("blk_read_64k", &mut *large)] {
        let mut ticks = [0u64; RUNS];
        for t in &mut ticks {
            *t = sequential(&mut blk, buf);
        }
        let tenths = mib_per_s_tenths(
            (RUN_SECTORS * SECTOR_SIZE) as u64,
            median(&mut ticks),
            timebase,
        );
        println!("BENCH: {name} {}.{} MiB/s", tenths / 10, tenths % 10);
    }
    // 16 requests in flight through the non-blocking API.
    let mut bufs: [&'static mut [u8]; DEPTH] = core::array::from_fn(|_| hal::alloc_buffer(16));
    for (name, size) in [("blk_read_4k_qd16", 4096), ("blk_read_64k_qd16", 65536)] {
        let mut ticks = [0u64; RUNS];
        for t in &mut ticks {
            *t = sequential_qd(&mut blk, &mut bufs, size);
        }
        let tenths = mib_per_s_tenths(
            (RUN_SECTORS * SECTOR_SIZE) as u64,
            median(&mut ticks),
            timebase,
        );
        println!("BENCH: {name} {}.{} MiB/s", tenths / 10, tenths % 10);
    }
    println!(
        "BENCH: virtio_drivers_max_in_flight {} requests",
        DEEPEST.load(core::sync::atomic::Ordering::Relaxed)
    );
    instructions(&mut blk, small);
}

/// Requests in flight for the `_qd16` figures.
const DEPTH: usize = 16;

/// Reads the first 16 MiB with requests of `size` bytes, [`DEPTH`] of them
/// in flight (`read_blocks_nb`, then `complete_read_blocks` as each comes
/// back); returns the `time` ticks taken.
fn sequential_qd(blk: &mut Blk, bufs: &mut [&'static mut [u8]; DEPTH], size: usize) -> u64 {
    let step = size / SECTOR_SIZE;
    let mut reqs: [BlkReq; DEPTH] = core::array::from_fn(|_| BlkReq::default());
    let mut resps: [BlkResp; DEPTH] = core::array::from_fn(|_| BlkResp::default());
    let mut tokens: [Option<u16>; DEPTH] = [None; DEPTH];
    let (mut next, mut in_flight) = (0usize, 0usize);
    let start = time();
    let mut deepest = 0;
    loop {
        while in_flight < DEPTH && next < RUN_SECTORS {
            let Some(i) = tokens.iter().position(Option::is_none) else {
                break;
            };
            // SAFETY: `reqs[i]`, `bufs[i]` and `resps[i]` are not touched
            // again until `complete_read_blocks` returns them below.
            let token = unsafe {
                blk.read_blocks_nb(next, &mut reqs[i], &mut bufs[i][..size], &mut resps[i])
            };
            let token = match token {
                Ok(t) => t,
                // Its queue of 16 descriptors holds five three-descriptor
                // requests: that many is as deep as it goes.
                Err(virtio_drivers::Error::QueueFull) if in_flight > 0 => break,
                Err(e) => fail!("read_blocks_nb at sector {next}: {e}"),
            };
            tokens[i] = Some(token);
            next += step;
            in_flight += 1;
            deepest = deepest.max(in_flight);
        }
        if in_flight == 0 {
            break;
        }
        let mut spins = 0u32;
        let token = loop {
            if let Some(t) = blk.peek_used() {
                break t;
            }
            spins += 1;
            if spins > SPIN_LIMIT {
                fail!("no request done after {SPIN_LIMIT} polls");
            }
            core::hint::spin_loop();
        };
        let Some(i) = tokens.iter().position(|t| *t == Some(token)) else {
            fail!("used ring holds token {token}, which is no request in flight");
        };
        // SAFETY: the same `req`, `buf` and `resp` as given to `read_blocks_nb`.
        let done = unsafe {
            blk.complete_read_blocks(token, &reqs[i], &mut bufs[i][..size], &mut resps[i])
        };
        done.unwrap_or_else(|e| fail!("complete_read_blocks: {e}"));
        tokens[i] = None;
        in_flight -= 1;
    }
    let ticks = time() - start;
    DEEPEST.fetch_max(deepest, core::sync::atomic::Ordering::Relaxed);
    ticks
}

/// The most requests `sequential_qd` had in flight at once.
static DEEPEST: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Reads the first 16 MiB once, untimed, and checks every sector holds its number.
fn verify(blk: &mut Blk, buf: &mut [u8]) {
    for sector in (0..RUN_SECTORS).step_by(buf.len() / SECTOR_SIZE) {
        blk.read_blocks(sector, buf)
            .unwrap_or_else(|e| fail!("read_blocks at sector {sector}: {e}"));
        check(buf, sector);
    }
}

/// Fails unless `buf`, read from `first` on, holds each sector's number in every word.
fn check(buf: &[u8], first: usize) {
    for (i, data) in buf.chunks_exact(SECTOR_SIZE).enumerate() {
        let n = (first + i) as u64;
        if data.chunks_exact(8).any(|w| w != n.to_le_bytes()) {
            fail!("data mismatch at sector {n}");
        }
    }
}

/// Reads the first 16 MiB with requests of `buf.len()` bytes; returns the `time` ticks taken.
fn sequential(blk: &mut Blk, buf: &mut [u8]) -> u64 {
    let step = buf.len() / SECTOR_SIZE;
    let start = time();
    for sector in (0..RUN_SECTORS).step_by(step) {
        if let Err(e) = blk.read_blocks(sector, buf) {
            fail!("read_blocks at sector {sector}: {e}");
        }
    }
    time() - start
}

/// Instructions to submit and to complete one 4 KiB read (non-blocking API);
/// the wait for the device in between is not counted.
fn instructions(blk: &mut Blk, buf: &mut [u8]) {
    let mut submit = [0u64; INSTR_REQUESTS];
    let mut complete = [0u64; INSTR_REQUESTS];
    let mut req = BlkReq::default();
    let mut resp = BlkResp::default();
    let step = buf.len() / SECTOR_SIZE;
    for i in 0..INSTR_REQUESTS {
        let sector = i * step;
        let t0 = instret();
        // SAFETY: `req`, `buf` and `resp` are not touched again until
        // `complete_read_blocks` below has returned them.
        let token = unsafe { blk.read_blocks_nb(sector, &mut req, buf, &mut resp) };
        let t1 = instret();
        let token = token.unwrap_or_else(|e| fail!("read_blocks_nb at sector {sector}: {e}"));
        wait(blk, token);
        let t2 = instret();
        // SAFETY: the same `req`, `buf` and `resp` as given to `read_blocks_nb`.
        let done = unsafe { blk.complete_read_blocks(token, &req, buf, &mut resp) };
        let t3 = instret();
        done.unwrap_or_else(|e| fail!("complete_read_blocks at sector {sector}: {e}"));
        check(buf, sector);
        submit[i] = t1 - t0;
        complete[i] = t3 - t2;
    }
    let (submit, complete) = (median(&mut submit), median(&mut complete));
    println!("BENCH: blk_instr_submit {submit} instructions");
    println!("BENCH: blk_instr_complete {complete} instructions");
    println!(
        "BENCH: blk_instr_per_req {} instructions",
        submit + complete
    );
}

/// Polls the used ring until `token` is there.
fn wait(blk: &mut Blk, token: u16) {
    for _ in 0..SPIN_LIMIT {
        match blk.peek_used() {
            Some(t) if t == token => return,
            Some(t) => fail!("used ring holds token {t}, expected {token}"),
            None => core::hint::spin_loop(),
        }
    }
    fail!("request {token} not done after {SPIN_LIMIT} polls");
}

/// The median (the upper one for an even count); sorts `values`.
fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

/// `bytes` per `ticks` of a `timebase` Hz clock, in tenths of MiB/s, rounded.
fn mib_per_s_tenths(bytes: u64, ticks: u64, timebase: u64) -> u64 {
    let num = u128::from(bytes) * u128::from(timebase) * 10;
    let den = u128::from(ticks.max(1)) << 20;
    u64::try_from((num + den / 2) / den).unwrap_or(u64::MAX)
}
