//! `stream-garbage`: the client of netd's second stream channel (TCP 8)
//! that corrupts its ring: the request ring's `head` jumps far past its
//! `tail`, and the entries are random words. netd must notice, report and
//! drop this client (`netd: dropped the client of tcp :8: ...`: its
//! connections aborted, TCP 8 no longer listening), and go on serving
//! everyone else, TCP 7 and 80 of the first stream channel among them.
//! This task then finds its signal unanswered and exits.
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
/// Bytes of a stream channel (`ring_types::stream::StreamLayout`: 65
/// pages); a smaller one is not the channel netd serves.
const STREAM_CHANNEL_BYTES: usize = 65 * 4096;
/// `time` ticks in a second on QEMU `virt`.
const SECOND: u64 = 10_000_000;

fn main() -> i32 {
    let Ok(token) = sys::channel_map(CHANNEL_SLOT) else {
        println!("stream-garbage: FAIL channel_map refused");
        return 1;
    };
    let mut mem = DmaRegion::new(token);
    if mem.len() < STREAM_CHANNEL_BYTES {
        println!("stream-garbage: FAIL the channel is smaller than a stream channel");
        return 1;
    }
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let _ = mem.write::<u64>(ENTRIES + 8 * i, x);
    }
    if mem.write::<u32>(HEAD, 0x7fff_fff0).is_err() {
        println!("stream-garbage: FAIL the request ring cannot be written");
        return 1;
    }
    println!("stream-garbage: wrote garbage into the request ring");
    // Whatever netd does, this task only waits a while and goes.
    let _ = sys::channel_signal(CHANNEL_SLOT);
    let _ = sys::wait(CHANNEL_BIT, sys::time() + 2 * SECOND);
    0
}
