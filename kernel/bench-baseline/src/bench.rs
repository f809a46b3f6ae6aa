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
    instructions(&mut blk, small);
}

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
