//! `blk-client`: reads and writes disk sectors through `blkd`, over a
//! channel ring with 16 requests in flight, its data buffers in the
//! channel's device-reachable memory (the disk reads into them and writes
//! from them directly). Prints each marker only after checking the data:
//! it writes [`CLIENT_SECTORS`] sectors (which xtask checks in the image
//! after the run), reads them back, and reads known sectors; then
//! restarts `blk-victim` mid-stream 20 times and checks that blkd serves
//! each new life (blkd resets their channel only once every buffer of the old life
//! came back), kills it mid-stream and checks that blkd still serves
//! blk-client; then kills blkd and checks that its next request gets an
//! error, not a hang.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::{SysError, println, sys};
use nexus_virtio::disk_pattern::{CLIENT_SECTOR, CLIENT_SECTORS, client_pattern, sector_pattern};
use ring_types::blk::{BlkClient, OP_FLUSH, OP_READ, OP_WRITE, SECTOR, ST_OK};
use ring_types::{Buf, Desc};

nexus_abi::entry!(main);

/// Where system.toml puts the channel to blkd.
const CHANNEL_SLOT: usize = 1;
/// The bit blkd's signals raise here.
const CHANNEL_BIT: u32 = 1;
/// How long a wait for blkd lasts before blkd is signalled again: 100 ms.
const KICK_INTERVAL: u64 = 1_000_000;
/// Task-control capabilities over blk-victim and blkd.
const VICTIM_SLOT: usize = 2;
const BLKD_SLOT: usize = 3;
/// The channel to blk-victim, which signals on it once its reads stream.
const CONTROL_SLOT: usize = 4;
/// The bit blk-victim's signal raises here.
const CONTROL_BIT: u32 = 2;
/// Restarts of blk-victim. Some may find requests of it at the disk
/// (about two in five of the bench's do), which blkd must get back before
/// it resets the channel.
const RESTARTS: u32 = 20;
/// Requests in flight at once (the ring's size).
const DEPTH: usize = 16;
/// Bytes per request.
const REQ: usize = 4096;
// The client sectors are exactly what one batch writes.
const _: () = assert!(DEPTH as u64 * (REQ / SECTOR) as u64 == CLIENT_SECTORS);
/// How long blkd may take to answer a batch (it runs its own selftest
/// first, and under `-icount` the CPU-bound tasks eat virtual time): 120 s
/// of the 10 MHz timer. Only a hang reaches it.
const ANSWER_TIMEOUT: u64 = 1_200_000_000;

fn main() -> i32 {
    match run() {
        Ok(()) => 0,
        Err(why) => {
            println!("blk-client: FAIL {why}");
            // blk-victim streams until it is killed, and the system's
            // verdict waits for every task: end it (and blkd, if it still
            // runs) so that the failure is judged now. `TaskEnded` is
            // fine: a task that already ended is left as it ended.
            let _ = sys::task_kill(VICTIM_SLOT);
            let _ = sys::task_kill(BLKD_SLOT);
            1
        }
    }
}

type Batch = [Option<Buf>; DEPTH];

fn run() -> Result<(), &'static str> {
    let token = sys::channel_map(CHANNEL_SLOT).map_err(|_| "mapping the channel to blkd")?;
    let mut client =
        BlkClient::new(DmaRegion::new(token)).map_err(|_| "the channel is too small")?;
    let token = sys::channel_map(CONTROL_SLOT).map_err(|_| "mapping the control channel")?;
    let mut control = DmaRegion::new(token);

    // Times blkd was signalled again after 100 ms without an answer.
    let mut kicks = 0u32;
    // Write the client sectors, 16 requests of 8 sectors in flight at once.
    let sectors_per_req = (REQ / SECTOR) as u64;
    let mut sent = 0;
    for k in 0..DEPTH {
        let mut buf = client.alloc().ok_or("no free buffer")?;
        let first = CLIENT_SECTOR + k as u64 * sectors_per_req;
        for s in 0..sectors_per_req {
            client
                .write(&mut buf, (s as usize) * SECTOR, &client_pattern(first + s))
                .map_err(|_| "filling a buffer")?;
        }
        let desc = Desc {
            tag: k as u16,
            code: OP_WRITE,
            len: REQ as u32,
            arg: first,
        };
        client.submit(desc, buf).map_err(|_| "submitting a write")?;
        sent += 1;
    }
    kick(&client)?;
    let done = collect(&mut client, sent, &mut kicks)?;
    release_all(&mut client, done)?;
    let flush = client.alloc().ok_or("no free buffer")?;
    let desc = Desc {
        tag: 99,
        code: OP_FLUSH,
        len: 0,
        arg: 0,
    };
    client
        .submit(desc, flush)
        .map_err(|_| "submitting a flush")?;
    kick(&client)?;
    let done = collect(&mut client, 1, &mut kicks)?;
    release_all(&mut client, done)?;

    read_back(&mut client, &mut kicks)?;
    println!(
        "blk-client: {DEPTH} writes and {DEPTH} reads of {REQ} bytes in flight at once, \
         data checked"
    );
    println!("blk-client: blkd was signalled again after 100 ms of silence {kicks} time(s)");
    println!("SELFTEST: blk client ok");

    // blk-victim streams reads: restart it mid-stream, RESTARTS times.
    // blkd resets their channel only once every buffer of the old life
    // came back, and only then does the new life stream and say so.
    for n in 0..RESTARTS {
        streaming(&mut control)?;
        sys::task_restart(VICTIM_SLOT).map_err(|_| "restarting blk-victim")?;
        // The kernel raised the control bit for the end and the restart;
        // only the new life's report counts.
        let _ = sys::poll(1 << CONTROL_BIT);
        sys::channel_reset(CONTROL_SLOT).map_err(|_| "resetting the control channel")?;
        if n > 0 {
            continue;
        }
        match sys::channel_reset(CONTROL_SLOT) {
            Err(SysError::NotRestarted) => println!("SELFTEST: channel reset deny live peer ok"),
            _ => return Err("a second reset of a live peer's channel was not NotRestarted"),
        }
        match sys::task_restart(BLKD_SLOT) {
            Err(SysError::InvalidArgument) => println!("SELFTEST: restart deny device driver ok"),
            _ => return Err("restarting blkd, which holds a device, was not InvalidArgument"),
        }
    }
    streaming(&mut control)?;
    println!(
        "blk-client: restarted blk-victim {RESTARTS} times mid-stream; every new life streamed"
    );
    println!("SELFTEST: blk client restart ok");
    // Then end it mid-stream for good, and check that blkd still serves.
    sys::task_kill(VICTIM_SLOT).map_err(|_| "killing blk-victim")?;
    read_back(&mut client, &mut kicks)?;
    println!("SELFTEST: blk served after kill ok");

    // End blkd: the next request must get an error, not a hang. Stale
    // wakeups are taken first, so the bit seen below is blkd's end.
    let _ = sys::poll(1 << CHANNEL_BIT);
    sys::task_kill(BLKD_SLOT).map_err(|_| "killing blkd")?;
    let buf = client.alloc().ok_or("no free buffer")?;
    let desc = Desc {
        tag: 7,
        code: OP_READ,
        len: REQ as u32,
        arg: 0,
    };
    client
        .submit(desc, buf)
        .map_err(|_| "submitting after blkd ended")?;
    match sys::channel_signal(CHANNEL_SLOT) {
        Err(SysError::PeerEnded) => {}
        Ok(()) => return Err("signalling a dead blkd succeeded"),
        Err(_) => return Err("signalling a dead blkd failed otherwise"),
    }
    // Its end also raised our bit: a wait returns at once.
    let woke = sys::wait(1 << CHANNEL_BIT, sys::time() + ANSWER_TIMEOUT);
    if woke != Ok(1 << CHANNEL_BIT) {
        return Err("blkd's end did not raise the channel bit");
    }
    println!("blk-client: blkd ended; the next request got PeerEnded");
    println!("SELFTEST: blk server killed, client error ok");
    Ok(())
}

/// Waits until blk-victim reports that its reads stream.
fn streaming(control: &mut DmaRegion) -> Result<(), &'static str> {
    let deadline = sys::time().saturating_add(ANSWER_TIMEOUT);
    blk_victim::await_streaming(control, CONTROL_SLOT, CONTROL_BIT, deadline)
}

/// Signals blkd if it said it may be asleep.
fn kick(client: &BlkClient) -> Result<(), &'static str> {
    if client.server_sleeping() {
        sys::channel_signal(CHANNEL_SLOT).map_err(|_| "signalling blkd")?;
    }
    Ok(())
}

/// Waits for `n` completions, each `ST_OK`; returns their buffers by tag.
fn collect(client: &mut BlkClient, n: usize, kicks: &mut u32) -> Result<Batch, &'static str> {
    let mut got: Batch = [const { None }; DEPTH];
    let mut count = 0;
    let deadline = sys::time().saturating_add(ANSWER_TIMEOUT);
    while count < n {
        match client.poll() {
            Ok(Some((desc, buf))) => {
                if desc.code != ST_OK {
                    println!(
                        "blk-client: request {} failed with status {}",
                        desc.tag, desc.code
                    );
                    return Err("blkd failed a request");
                }
                let slot = got
                    .get_mut(usize::from(desc.tag) % DEPTH)
                    .ok_or("bad tag")?;
                if slot.is_some() {
                    return Err("two completions with one tag");
                }
                *slot = Some(buf);
                count += 1;
                continue;
            }
            Ok(None) => {}
            Err(_) => return Err("blkd broke the ring"),
        }
        if client.prepare_sleep().map_err(|_| "blkd broke the ring")? {
            // Wake up every 100 ms to signal blkd again: a stall then
            // shows as a count, not a hang.
            let now = sys::time();
            if now >= deadline {
                return Err("blkd did not answer within 120 s");
            }
            match sys::wait(1 << CHANNEL_BIT, deadline.min(now + KICK_INTERVAL)) {
                Ok(_) => {}
                Err(SysError::TimedOut) => {
                    sys::channel_signal(CHANNEL_SLOT).map_err(|_| "signalling blkd")?;
                    *kicks += 1;
                }
                Err(_) => return Err("wait failed"),
            }
        }
        client.woke().map_err(|_| "blkd broke the ring")?;
    }
    Ok(got)
}

fn release_all(client: &mut BlkClient, batch: Batch) -> Result<(), &'static str> {
    for buf in batch.into_iter().flatten() {
        client
            .release(buf)
            .map_err(|_| "a buffer of another channel")?;
    }
    Ok(())
}

/// Reads the client sectors back into cleared buffers (16 in flight) and
/// checks them, then reads the first sectors of the disk, which hold their
/// own numbers.
fn read_back(client: &mut BlkClient, kicks: &mut u32) -> Result<(), &'static str> {
    let sectors_per_req = (REQ / SECTOR) as u64;
    for (base, known) in [(CLIENT_SECTOR, true), (0, false)] {
        for k in 0..DEPTH {
            let mut buf = client.alloc().ok_or("no free buffer")?;
            client
                .write(&mut buf, 0, &[0; REQ])
                .map_err(|_| "clearing a buffer")?;
            let first = base + k as u64 * sectors_per_req;
            let desc = Desc {
                tag: k as u16,
                code: OP_READ,
                len: REQ as u32,
                arg: first,
            };
            client.submit(desc, buf).map_err(|_| "submitting a read")?;
        }
        kick(client)?;
        let batch = collect(client, DEPTH, kicks)?;
        for (k, buf) in batch.iter().enumerate() {
            let buf = buf.as_ref().ok_or("a read did not complete")?;
            let first = base + k as u64 * sectors_per_req;
            for s in 0..sectors_per_req {
                let mut got = [0u8; SECTOR];
                client
                    .read(buf, (s as usize) * SECTOR, &mut got)
                    .map_err(|_| "reading a buffer")?;
                let want = if known {
                    client_pattern(first + s)
                } else {
                    sector_pattern(first + s)
                };
                if got != want {
                    return Err("a sector read through blkd holds the wrong data");
                }
            }
        }
        release_all(client, batch)?;
    }
    Ok(())
}
