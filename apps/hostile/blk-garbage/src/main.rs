//! Hostile: fills its request ring to `blkd` with garbage (pseudo-random
//! entries under a valid index), signals, and exits. blkd must report it,
//! stop serving it and go on serving its other clients.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::{println, sys};
use ring_types::blk::SmallLayout;

nexus_abi::entry!(main);

/// Where system.toml puts the channel to blkd.
const CHANNEL_SLOT: usize = 1;

fn main() -> i32 {
    let Ok(token) = sys::channel_map(CHANNEL_SLOT) else {
        println!("blk-garbage: FAIL cannot map the channel");
        return 1;
    };
    let mut mem = DmaRegion::new(token);
    // Every entry of the request ring: random words (xorshift).
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let entries = SmallLayout::REQUESTS + 0xc0;
    for i in 0..SmallLayout::ENTRIES * 2 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let word = x;
        if mem.write_elem::<u64>(entries / 8 + i, word).is_err() {
            println!("blk-garbage: FAIL the channel is too small");
            return 1;
        }
    }
    // A valid-looking head: a full ring of it.
    let head = SmallLayout::ENTRIES as u32;
    if mem.write::<u32>(SmallLayout::REQUESTS, head).is_err() {
        return 1;
    }
    let _ = sys::channel_signal(CHANNEL_SLOT);
    println!("blk-garbage: {head} garbage requests published");
    0
}
