//! `blk-victim`: a client of `blkd` that keeps 16 reads in flight for
//! ever, so that it is killed or restarted mid-stream (by its controller):
//! blkd must get every one of its buffers back and go on serving. Once its
//! first reads complete it signals its controller, if a channel joins them;
//! after a restart it waits until blkd has reset their channel.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::notify::NO_DEADLINE;
use nexus_abi::{CapKind, SysError, println, sys};
use ring_types::Desc;
use ring_types::blk::{BlkClient, OP_READ};

nexus_abi::entry!(main);

/// Where system.toml puts the channel to blkd.
const CHANNEL_SLOT: usize = 1;
/// The bit blkd's signals raise here.
const CHANNEL_BIT: u32 = 1;
/// Where system.toml may put a channel to the task that controls it.
const CONTROL_SLOT: usize = 2;
/// The bit the controller's channel raises here.
const CONTROL_BIT: u32 = 2;
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
    // After a restart the channel is blkd's to reset first.
    let token = loop {
        match sys::channel_map(CHANNEL_SLOT) {
            Ok(token) => break token,
            Err(SysError::ResetPending) => {
                sys::wait(1 << CHANNEL_BIT, NO_DEADLINE).map_err(|_| "wait failed")?;
            }
            Err(_) => return Err("mapping the channel"),
        }
    };
    let controlled = sys::cap_info(CONTROL_SLOT).is_ok_and(|c| c.kind == CapKind::Channel);
    // Whether the controller still has to be told that reads stream.
    let mut tell = controlled;
    let mut control: Option<DmaRegion> = None;
    let mut client =
        BlkClient::new(DmaRegion::new(token)).map_err(|_| "the channel is too small")?;
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
        // The controller's end may still wait for its reset after a
        // restart (`ResetPending`): the reset raises the control bit, and
        // the report is tried again.
        if reported && tell {
            tell = !blk_victim::report(&mut control, CONTROL_SLOT)?;
        }
        if got == 0 && client.prepare_sleep().map_err(|_| "blkd broke the ring")? {
            let control = if tell { 1 << CONTROL_BIT } else { 0 };
            sys::wait(1 << CHANNEL_BIT | control, NO_DEADLINE).map_err(|_| "wait failed")?;
        }
        client.woke().map_err(|_| "blkd broke the ring")?;
    }
}
