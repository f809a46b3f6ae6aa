//! `blk-victim`: a client of `blkd` that keeps 16 reads in flight for
//! ever, so that it is killed mid-stream (by `blk-client`): blkd must get
//! every one of its buffers back and go on serving.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::notify::NO_DEADLINE;
use nexus_abi::{println, sys};
use ring_types::Desc;
use ring_types::blk::{OP_READ, SmallClient};

nexus_abi::entry!(main);

/// Where system.toml puts the channel to blkd.
const CHANNEL_SLOT: usize = 1;
/// The bit blkd's signals raise here.
const CHANNEL_BIT: u32 = 1;
/// Sectors it reads, cycling (the disk has at least this many).
const SPAN: u64 = 4096;

fn main() -> i32 {
    match run() {
        Ok(()) => 0,
        Err(why) => {
            println!("blk-victim: FAIL {why}");
            1
        }
    }
}

fn run() -> Result<(), &'static str> {
    let token = sys::channel_map(CHANNEL_SLOT).map_err(|_| "mapping the channel")?;
    let mut client =
        SmallClient::new(DmaRegion::new(token)).map_err(|_| "the channel is too small")?;
    let mut sector = 0u64;
    let mut reported = false;
    loop {
        // Keep every buffer lent.
        while let Some(buf) = client.alloc() {
            let desc = Desc {
                tag: 0,
                code: OP_READ,
                len: 4096,
                arg: sector,
            };
            sector = (sector + 8) % SPAN;
            client.submit(desc, buf).map_err(|_| "submitting a read")?;
        }
        if client.server_sleeping() {
            sys::channel_signal(CHANNEL_SLOT).map_err(|_| "signalling blkd")?;
        }
        let mut got = 0;
        while let Some((_, buf)) = client.poll().map_err(|_| "blkd broke the ring")? {
            client.release(buf).map_err(|_| "a foreign buffer")?;
            got += 1;
        }
        if got > 0 && !reported {
            reported = true;
            println!("blk-victim: streaming reads, 16 in flight");
        }
        if got == 0 && client.prepare_sleep().map_err(|_| "blkd broke the ring")? {
            sys::wait(1 << CHANNEL_BIT, NO_DEADLINE).map_err(|_| "wait failed")?;
        }
        client.woke().map_err(|_| "blkd broke the ring")?;
    }
}
