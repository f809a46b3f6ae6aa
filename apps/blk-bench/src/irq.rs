//! The interrupt path: what an interrupt-driven read costs beside a polled
//! one, how long delivery and acknowledgement take, what the hart does
//! while it waits, and whether any wakeup found no cause.

use mmio_types::DmaRegion;
use nexus_abi::{println, sys};
use nexus_virtio::{DmaRange, SECTOR_SIZE};

use crate::blk::{Blk, MAX_POLLS, RUNS, TIMEBASE, TOTAL};
use crate::stats::{SAMPLES, counter_overhead, median};

/// Completions counted for the spurious-wakeup figure.
const COMPLETIONS: u64 = 100_000;
/// Bytes read per idle-ratio figure.
const MIB: usize = 1 << 20;
/// How long a read may take before the device counts as dead.
const DEVICE_TIMEOUT: u64 = TIMEBASE;

/// What one interrupt-driven read cost.
#[derive(Default)]
struct Sample {
    /// Instructions from before the submit to after the completion.
    total: u64,
    /// Instructions from the kernel taking the interrupt to the first user
    /// instruction after `wait` returned; `None` if the wait did not block
    /// (the interrupt came before it).
    latency: Option<u64>,
    /// Instructions of the `irq_ack` call that re-armed the line.
    ack: u64,
    /// Wakeups that found `InterruptStatus` empty.
    spurious: u64,
}

/// Makes the device interrupt on completions (`on`) or not. Polled reads
/// run with interrupts off: a completion interrupt nobody waits for would
/// leave its bit raised and `InterruptStatus` unacknowledged, and the next
/// interrupt-driven read would wake for a cause already gone.
fn interrupts(blk: &mut Blk, on: bool) -> Result<(), &'static str> {
    blk.set_interrupts(on)
        .map_err(|_| "cannot switch the device's interrupts")
}

/// Reads `range.len()` bytes at `sector`, waiting for the interrupt.
fn read_irq(blk: &mut Blk, range: DmaRange, sector: u64) -> Result<Sample, &'static str> {
    let start = sys::instret();
    let id = blk
        .submit_read(sector, range)
        .map_err(|_| "submit_read failed")?;
    let mut s = Sample::default();
    loop {
        let deadline = sys::time().saturating_add(DEVICE_TIMEOUT);
        let pending = blk
            .wait_interrupt(deadline)
            .map_err(|_| "the device did not interrupt within a second")?;
        let woke = sys::instret();
        let stamp = pending.stamp();
        s.latency = (stamp != 0).then(|| woke.wrapping_sub(stamp));
        let acked = pending.acknowledge();
        if acked.status().is_empty() {
            s.spurious += 1;
        }
        let a = sys::instret();
        acked.rearm().map_err(|_| "irq_ack failed")?;
        s.ack = sys::instret() - a;
        if let Some((done, result)) = blk.poll() {
            result.map_err(|_| "an interrupt-driven read failed")?;
            if done != id {
                return Err("a different request completed");
            }
            break;
        }
    }
    s.total = sys::instret() - start;
    Ok(s)
}

/// Reads `range.len()` bytes at `sector`, polling; returns the instructions
/// from before the submit to after the completion, spinning included.
fn read_polled(blk: &mut Blk, range: DmaRange, sector: u64) -> Result<u64, &'static str> {
    let start = sys::instret();
    let id = blk
        .submit_read(sector, range)
        .map_err(|_| "submit_read failed")?;
    let mut polls = 0u64;
    loop {
        if let Some((done, result)) = blk.poll() {
            result.map_err(|_| "a polled read failed")?;
            if done != id {
                return Err("a different request completed");
            }
            return Ok(sys::instret() - start);
        }
        polls += 1;
        if polls > MAX_POLLS {
            return Err("the device never completed a request");
        }
    }
}

/// Instructions to read `bytes` in requests of `size`, by interrupt or by
/// polling.
fn read_bytes(
    blk: &mut Blk,
    buf: &DmaRegion,
    bytes: usize,
    size: usize,
    irq: bool,
) -> Result<u64, &'static str> {
    let range = DmaRange::new(buf, 0, size).map_err(|_| "buffer too small")?;
    let per = (size / SECTOR_SIZE) as u64;
    interrupts(blk, irq)?;
    let start = sys::instret();
    let mut sector = 0;
    while sector < (bytes / SECTOR_SIZE) as u64 {
        if irq {
            let s = read_irq(blk, range, sector)?;
            if s.spurious != 0 {
                return Err("a wakeup found no interrupt cause");
            }
        } else {
            read_polled(blk, range, sector)?;
        }
        sector += per;
    }
    Ok(sys::instret() - start)
}

pub fn run(blk: &mut Blk, buf: &mut DmaRegion) -> Result<(), &'static str> {
    let overhead = counter_overhead();
    let range = DmaRange::new(buf, 0, 4096).map_err(|_| "buffer too small")?;

    // Per-request figures, 4 KiB reads, interleaved so that both kinds see
    // the same device and host conditions.
    let (mut irq_total, mut poll_total) = ([0u64; SAMPLES], [0u64; SAMPLES]);
    let (mut latency, mut ack) = ([0u64; SAMPLES], [0u64; SAMPLES]);
    // The latency counts only wakeups from a blocked wait; when QEMU
    // completes a request before the driver waits, the wait returns at
    // once and there is no latency to measure. Up to MAX_READS reads are
    // made to gather the samples.
    const MAX_READS: usize = 64 * SAMPLES;
    let mut latencies = 0;
    let mut i = 0;
    let mut reads = 0;
    while (latencies < SAMPLES || i < SAMPLES) && reads < MAX_READS {
        reads += 1;
        let sector = (reads * 8 % 4096) as u64;
        interrupts(blk, true)?;
        let s = read_irq(blk, range, sector)?;
        if s.spurious != 0 {
            return Err("a wakeup found no interrupt cause");
        }
        if let Some(l) = s.latency
            && latencies < SAMPLES
        {
            latency[latencies] = l.saturating_sub(overhead);
            latencies += 1;
        }
        if i < SAMPLES {
            irq_total[i] = s.total.saturating_sub(overhead);
            ack[i] = s.ack.saturating_sub(overhead);
            interrupts(blk, false)?;
            poll_total[i] = read_polled(blk, range, sector)?.saturating_sub(overhead);
            i += 1;
        }
    }
    println!("BENCH: irq_latency_samples {latencies} wakeups");
    if latencies > 0 {
        let l = median(&mut latency[..latencies]);
        println!("BENCH: irq_latency {l} instructions");
    }
    println!("BENCH: irq_ack {} instructions", median(&mut ack));
    println!(
        "BENCH: blk_irq_instr_per_req {} instructions",
        median(&mut irq_total)
    );
    println!(
        "BENCH: blk_poll_instr_per_req_total {} instructions",
        median(&mut poll_total)
    );

    // What the hart retires per MiB read: sleeping in `wfi` against
    // spinning on the used ring. One figure per request size.
    for (name, size) in [("4k", 4096), ("64k", 65536)] {
        let mut irq = [0u64; RUNS];
        let mut poll = [0u64; RUNS];
        for r in 0..RUNS {
            irq[r] = read_bytes(blk, buf, MIB, size, true)?;
            poll[r] = read_bytes(blk, buf, MIB, size, false)?;
        }
        let (irq, poll) = (median(&mut irq), median(&mut poll));
        println!("BENCH: blk_irq_instr_per_mib_{name} {irq} instructions");
        println!("BENCH: blk_poll_instr_per_mib_{name} {poll} instructions");
    }

    // Throughput, 64 KiB requests, the two kinds alternating which goes
    // first in each run.
    let mut irq_tenths = [0u64; RUNS];
    let mut poll_tenths = [0u64; RUNS];
    for r in 0..RUNS {
        for irq in if r % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        } {
            let start = sys::time();
            read_bytes(blk, buf, TOTAL, 65536, irq)?;
            let ticks = (sys::time() - start).max(1);
            let tenths = (TOTAL as u64 >> 20) * 10 * TIMEBASE / ticks;
            if irq {
                irq_tenths[r] = tenths;
            } else {
                poll_tenths[r] = tenths;
            }
        }
    }
    for (name, v) in [("irq", &mut irq_tenths), ("poll", &mut poll_tenths)] {
        let m = median(v);
        println!("BENCH: blk_{name}_read_64k {}.{} MiB/s", m / 10, m % 10);
    }

    // Many completions, each woken by its interrupt: any wakeup whose
    // `InterruptStatus` was empty is spurious.
    let mut spurious = 0;
    interrupts(blk, true)?;
    for k in 0..COMPLETIONS {
        let sector = (k * 8) % 4096;
        spurious += read_irq(blk, range, sector)?.spurious;
    }
    println!("BENCH: irq_completions {COMPLETIONS} completions");
    println!("BENCH: irq_spurious {spurious} wakeups");

    interrupts(blk, false)
}
