//! `ring-garbage`: a client of netd's second relay (udp :7008) that
//! corrupts its ring: the request ring's `head` jumps far past its `tail`,
//! and the entries are random words. netd must notice, report and drop
//! this client, and go on serving everyone else (`netd: dropped the client
//! of udp :7008: ...`). This task then finds its signals unanswered and
//! exits.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::{println, sys};

nexus_abi::entry!(main);

/// Where system.toml puts the channel to netd, and the bit netd raises.
const CHANNEL_SLOT: usize = 1;
const CHANNEL_BIT: u64 = 1 << 0;
/// Offsets in the request ring (the protocol of `ring_types`).
const HEAD: usize = 0x00;
const ENTRIES: usize = 0xc0;
/// `time` ticks in a second on QEMU `virt`.
const SECOND: u64 = 10_000_000;

fn main() -> i32 {
    let Ok(token) = sys::channel_map(CHANNEL_SLOT) else {
        println!("ring-garbage: FAIL channel_map refused");
        return 1;
    };
    let mut mem = DmaRegion::new(token);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let _ = mem.write::<u64>(ENTRIES + 8 * i, x);
    }
    if mem.write::<u32>(HEAD, 0xdead_beef).is_err() {
        println!("ring-garbage: FAIL the channel is too small");
        return 1;
    }
    println!("ring-garbage: wrote garbage into the request ring");
    // Whatever netd does, this task only waits a while and goes.
    let _ = sys::channel_signal(CHANNEL_SLOT);
    let _ = sys::wait(CHANNEL_BIT, sys::time() + 2 * SECOND);
    0
}
