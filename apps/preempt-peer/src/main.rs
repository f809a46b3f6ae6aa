//! `preempt-peer`: a task that stays runnable, computing, for two seconds,
//! so that the timer preempts the selftest while it checks that its
//! registers survive task switches.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use nexus_abi::{println, sys};

nexus_abi::entry!(main);

/// `time` ticks per second on QEMU `virt`.
const TIMEBASE: u64 = 10_000_000;

fn main() -> i32 {
    let start = sys::time();
    let mut spins = 0u64;
    while sys::time() - start < 2 * TIMEBASE {
        spins = core::hint::black_box(spins + 1);
    }
    println!("preempt-peer: done after {spins} spins");
    0
}
