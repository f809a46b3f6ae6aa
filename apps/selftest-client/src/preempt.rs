//! Registers survive preemption: a computation that keeps many values live
//! (some across calls, so in callee-saved registers) gives the same result
//! twice while the timer switches tasks under it.

use core::hint::black_box;

use nexus_abi::sys;

use crate::Check;

/// `time` ticks per second on QEMU `virt`.
const TIMEBASE: u64 = 10_000_000;
/// How long the first pass runs at least: five time slices, while
/// `preempt-peer` is runnable, so the timer must switch tasks under it.
const MIN_TICKS: u64 = TIMEBASE / 20;
/// Rounds per chunk, and a bound on chunks.
const CHUNK: u64 = 20_000;
const MAX_CHUNKS: u64 = 100_000;

/// Eight accumulators, live across a call each round.
fn churn(seed: u64, rounds: u64) -> u64 {
    let (mut a, mut b, mut c, mut d) = (seed | 1, 2u64, 3u64, 5u64);
    let (mut e, mut f, mut g, mut h) = (7u64, 11u64, 13u64, 17u64);
    for i in 0..black_box(rounds) {
        a = step(a, i);
        b ^= a.rotate_left(7);
        c = c.wrapping_add(b ^ i);
        d ^= c.rotate_right(11);
        e = e.wrapping_add(d);
        f ^= e.rotate_left(3);
        g = g.wrapping_mul(f | 1);
        h ^= g;
    }
    a ^ b ^ c ^ d ^ e ^ f ^ g ^ h
}

#[inline(never)]
fn step(x: u64, i: u64) -> u64 {
    black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i))
}

/// The first pass runs as many chunks as fit in [`MIN_TICKS`]; the second
/// runs the same chunks again. Both depend only on the chunk count.
pub fn registers_survive() -> Check {
    let start = sys::time();
    let (mut first, mut chunks) = (0u64, 0u64);
    while sys::time() - start < MIN_TICKS {
        first = churn(first, CHUNK);
        chunks += 1;
        if chunks > MAX_CHUNKS {
            return Err("the computation never took five time slices");
        }
    }
    let mut second = 0u64;
    for _ in 0..chunks {
        second = churn(second, CHUNK);
    }
    if first != second {
        return Err("a value changed across task switches");
    }
    Ok(())
}
