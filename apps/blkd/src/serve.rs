//! Serving clients: requests taken from each client's channel ring go to
//! the disk with the client's own buffer as the data buffer (zero copy),
//! many at once; completions go back through the ring.

use mmio_types::DmaRegion;
use nexus_abi::notify::NO_DEADLINE;
use nexus_abi::{CapKind, SysError, println, sys};
use nexus_virtio::{
    Batch, BlkError, BlkTransport, DmaRange, IrqDevice, IrqError, KernelIrq, ReqId,
};
use ring_types::blk::{
    BlkServer, OP_FLUSH, OP_READ, OP_WRITE, SECTOR, ST_INVALID, ST_IOERR, ST_OK, ST_UNSUPPORTED,
};
use ring_types::{Desc, Lease, RingError};

use crate::{Blk, DEVICE_TIMEOUT, IRQ_BIT};

/// The clients `system.toml` joins to blkd: name, channel slot, and the
/// bit their signals raise here.
const CLIENTS: [(&str, usize, u32); 3] = [
    ("blk-client", 3, 1),
    ("blk-victim", 4, 2),
    ("blk-garbage", 5, 3),
];
/// Requests announced to the disk together, at most: the batch of a pass
/// is announced every this many. QEMU merges what one notification shows
/// it into few reads, and a read in flight overlaps with the next batch's
/// (one batch of 16 left the whole pipeline waiting on one merged read:
/// 452 MiB/s at 4 KiB and 16 in flight, against 510 with batches of 8 and
/// 381 with batches of 4, in `cargo xtask bench --only ring`).
const BATCH_LIMIT: usize = 8;
/// Without an interrupt line, how long to sleep between device polls
/// (1 ms of the 10 MHz timer).
const POLL_INTERVAL: u64 = 10_000;

/// Where a client is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Served.
    Live,
    /// It broke the ring protocol: no longer served.
    Dropped,
    /// It ended: its requests at the disk are reclaimed as they finish.
    Ended {
        /// Requests it had at the disk when its end was noticed.
        in_flight: usize,
    },
    /// Ended, and every buffer of it came back. If the client is
    /// restarted, blkd resets the channel and serves the new life.
    Closed,
}

struct Conn {
    name: &'static str,
    slot: usize,
    bit: u32,
    server: BlkServer,
    state: State,
    /// Completions posted since it was last considered for a signal.
    posted: bool,
}

/// A request at the disk: whose, and the lease on the buffer it uses.
struct AtDisk {
    conn: usize,
    lease: Lease,
    tag: u16,
    len: u32,
}

/// What serving has seen, for the markers.
#[derive(Default)]
struct Seen {
    /// Requests completed for live clients.
    completed: u64,
    /// `completed` when a client was dropped for garbage.
    dropped_at: Option<u64>,
    /// The hostile-client marker was printed.
    dropped_reported: bool,
    /// The marker of a killed client's buffers coming back was printed.
    reclaimed_reported: bool,
}

/// Maps every client channel that exists and serves until killed.
pub fn serve<T: BlkTransport>(blk: &mut Blk<T>, interrupts: bool) -> Result<(), &'static str> {
    let mut conns: [Option<Conn>; CLIENTS.len()] = [const { None }; CLIENTS.len()];
    for (i, &(name, slot, bit)) in CLIENTS.iter().enumerate() {
        if !sys::cap_info(slot).is_ok_and(|c| c.kind == CapKind::Channel) {
            continue;
        }
        let token = sys::channel_map(slot).map_err(|_| "mapping a client channel")?;
        if token.device_addr() == 0 {
            println!("blkd: channel of {name} is not device-reachable; not served");
            continue;
        }
        match BlkServer::new(DmaRegion::new(token)) {
            Ok(server) => {
                conns[i] = Some(Conn {
                    name,
                    slot,
                    bit,
                    server,
                    state: State::Live,
                    posted: false,
                })
            }
            Err(e) => println!("blkd: channel of {name}: {e}; not served"),
        }
    }
    let served = conns.iter().flatten().count();
    println!("blkd: serving {served} client(s), up to 16 requests each at the disk at once");
    blk.set_interrupts(interrupts)
        .map_err(|_| "cannot set the device's interrupts")?;
    // Each request takes three descriptors (header, data, status).
    let max_at_disk = usize::from(blk.queue_size()) / 3;
    let mut at_disk: [Option<AtDisk>; 256] = [const { None }; 256];
    let mut count = 0usize;
    let mut seen = Seen::default();
    loop {
        let mut progress = false;
        // Requests to the disk, announced to it together when the batch
        // ends (one notification for all the rings' requests).
        let mut batch = blk.batch();
        let mut in_batch = 0usize;
        for (ci, slot) in conns.iter_mut().enumerate() {
            let Some(conn) = slot else { continue };
            while conn.state == State::Live && count < max_at_disk {
                match conn.server.take_request() {
                    Ok(Some((desc, lease))) => {
                        progress = true;
                        match submit(&mut batch, &conn.server, desc, &lease) {
                            Ok(id) => {
                                at_disk[usize::from(id.index()) % 256] = Some(AtDisk {
                                    conn: ci,
                                    lease,
                                    tag: desc.tag,
                                    len: desc.len,
                                });
                                count += 1;
                                in_batch += 1;
                                if in_batch.is_multiple_of(BATCH_LIMIT) {
                                    batch.announce();
                                }
                            }
                            Err(status) => {
                                let answer = Desc {
                                    tag: desc.tag,
                                    code: status,
                                    len: 0,
                                    arg: 0,
                                };
                                if let Err(e) = conn.server.complete(lease, answer) {
                                    drop_conn(conn, e, &mut seen);
                                }
                                conn.posted = true;
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => drop_conn(conn, e, &mut seen),
                }
            }
        }
        drop(batch);
        // Completions back to their clients.
        while let Some((id, result)) = blk.poll() {
            progress = true;
            let Some(done) = at_disk[usize::from(id.index()) % 256].take() else {
                return Err("the disk completed a request blkd did not make");
            };
            count -= 1;
            let Some(conn) = conns[done.conn].as_mut() else {
                continue;
            };
            if conn.state == State::Live {
                let status = match result {
                    Ok(()) => ST_OK,
                    Err(BlkError::ReadOnly | BlkError::FlushNotNegotiated) => ST_UNSUPPORTED,
                    Err(_) => ST_IOERR,
                };
                let len = if status == ST_OK { done.len } else { 0 };
                let answer = Desc {
                    tag: done.tag,
                    code: status,
                    len,
                    arg: 0,
                };
                match conn.server.complete(done.lease, answer) {
                    Ok(()) => {
                        seen.completed += 1;
                        conn.posted = true;
                    }
                    Err(e) => drop_conn(conn, e, &mut seen),
                }
            } else {
                conn.server.reclaim(done.lease);
                if let State::Ended { in_flight } = conn.state
                    && conn.server.leased() == 0
                {
                    println!(
                        "blkd: {} ended with {in_flight} request(s) at the disk; all {in_flight} \
                         buffer(s) came back",
                        conn.name
                    );
                    close(conn, &mut seen);
                }
            }
        }
        if let Some(at) = seen.dropped_at
            && !seen.dropped_reported
            && seen.completed > at
        {
            seen.dropped_reported = true;
            println!("SELFTEST: blk hostile client dropped ok");
        }
        // Signal the clients that wait for what was posted.
        for conn in conns.iter_mut().flatten() {
            if conn.posted && conn.state == State::Live {
                conn.posted = false;
                if conn.server.client_sleeping() {
                    signal(conn, &mut seen);
                }
            }
        }
        if progress {
            continue;
        }
        // Nothing to do: say so on every live ring, look once more, sleep.
        // Requests that arrived meanwhile are work only if the disk has
        // room for them; with the disk full, blkd sleeps until a request
        // there completes (its interrupt) rather than spinning on a ring
        // it cannot take from.
        let mut mask = 0u64;
        let mut work = false;
        for conn in conns.iter_mut().flatten() {
            if conn.state == State::Live {
                mask |= 1 << conn.bit;
                match conn.server.prepare_sleep() {
                    Ok(true) => {}
                    Ok(false) => work |= count < max_at_disk,
                    Err(e) => drop_conn(conn, e, &mut seen),
                }
            }
        }
        // A closed client's bit is raised by the kernel when the client is
        // restarted: blkd then resets its channel.
        for conn in conns.iter().flatten() {
            if conn.state == State::Closed {
                mask |= 1 << conn.bit;
            }
        }
        if !work {
            let raised = sleep(blk, interrupts, mask, count)?;
            // A channel bit without a request may be the kernel telling
            // of the client's end (probe it) or of its new life.
            for conn in conns.iter_mut().flatten() {
                let quiet = conn.server.prepare_sleep().unwrap_or(false);
                let bit = raised & (1 << conn.bit) != 0;
                if conn.state == State::Live && bit && quiet {
                    signal(conn, &mut seen);
                }
                if conn.state == State::Closed && bit {
                    reset(conn);
                }
            }
        }
        for conn in conns.iter_mut().flatten() {
            let _ = conn.server.woke();
        }
    }
}

/// Sends one request to the disk with the client's leased buffer as its
/// data buffer; a malformed one is answered with a status instead.
fn submit<T: BlkTransport>(
    blk: &mut Batch<'_, IrqDevice<T, KernelIrq>>,
    server: &BlkServer,
    desc: Desc,
    lease: &Lease,
) -> Result<ReqId, u8> {
    let len = desc.len as usize;
    let data = || {
        if len == 0 || !len.is_multiple_of(SECTOR) {
            return Err(ST_INVALID);
        }
        DmaRange::new(server.region(), server.offset(lease), len).map_err(|_| ST_INVALID)
    };
    let result = match desc.code {
        OP_READ => blk.submit_read(desc.arg, data()?),
        OP_WRITE => blk.submit_write(desc.arg, data()?),
        OP_FLUSH => blk.submit_flush(),
        _ => return Err(ST_INVALID),
    };
    result.map_err(|e| match e {
        BlkError::ReadOnly | BlkError::FlushNotNegotiated => ST_UNSUPPORTED,
        BlkError::OutOfRange | BlkError::BadLength => ST_INVALID,
        _ => ST_IOERR,
    })
}

/// Stops serving a client that broke the ring; its requests at the disk
/// are reclaimed as they finish.
fn drop_conn(conn: &mut Conn, e: RingError, seen: &mut Seen) {
    if conn.state != State::Live {
        return;
    }
    conn.state = State::Dropped;
    println!("blkd: {} broke the ring ({e}); dropped", conn.name);
    seen.dropped_at = Some(seen.completed);
}

/// Signals a client; if it has ended, stops serving it.
fn signal(conn: &mut Conn, seen: &mut Seen) {
    match sys::channel_signal(conn.slot) {
        Ok(()) => {}
        Err(SysError::PeerEnded) => {
            let in_flight = conn.server.leased();
            println!(
                "blkd: {} ended with {in_flight} request(s) at the disk",
                conn.name
            );
            conn.state = State::Ended { in_flight };
            if in_flight == 0 {
                close(conn, seen);
            }
        }
        Err(_) => conn.state = State::Dropped,
    }
}

/// Every buffer of an ended client came back: it is closed, and if it was
/// restarted meanwhile, its channel is reset at once.
fn close(conn: &mut Conn, seen: &mut Seen) {
    conn.state = State::Closed;
    if !seen.reclaimed_reported {
        seen.reclaimed_reported = true;
        println!("SELFTEST: blk client kill reclaimed ok");
    }
    reset(conn);
}

/// A closed client may have been restarted: reset its channel (the kernel
/// zeroes it and gives the client its end back) and serve it again from a
/// fresh ring. Until it is restarted, the kernel refuses (`PeerEnded`) and
/// the client stays closed.
fn reset(conn: &mut Conn) {
    if conn.server.start_over().is_err() {
        return;
    }
    match sys::channel_reset(conn.slot) {
        Ok(()) => {
            conn.state = State::Live;
            conn.posted = false;
            println!("blkd: {} restarted; its channel is reset", conn.name);
        }
        Err(SysError::PeerEnded) => {}
        Err(e) => println!("blkd: resetting the channel of {} failed: {e}", conn.name),
    }
}

/// Blocks until the disk interrupts or a client signals; returns the
/// client bits raised. Without interrupts, wakes every millisecond to
/// poll the disk while requests are at it.
fn sleep<T: BlkTransport>(
    blk: &mut Blk<T>,
    interrupts: bool,
    mask: u64,
    at_disk: usize,
) -> Result<u64, &'static str> {
    if !interrupts {
        let deadline = if at_disk > 0 {
            sys::time().saturating_add(POLL_INTERVAL)
        } else {
            NO_DEADLINE
        };
        return match sys::wait(mask | 1 << IRQ_BIT, deadline) {
            Ok(bits) => Ok(bits),
            Err(SysError::TimedOut) => Ok(0),
            Err(_) => Err("wait failed"),
        };
    }
    let deadline = if at_disk > 0 {
        sys::time().saturating_add(DEVICE_TIMEOUT)
    } else {
        NO_DEADLINE
    };
    match blk.wait_interrupt_also(mask & !(1 << IRQ_BIT), deadline) {
        Ok((Some(pending), raised)) => {
            pending
                .acknowledge()
                .rearm()
                .map_err(|_| "irq_ack failed")?;
            Ok(raised)
        }
        Ok((None, raised)) => Ok(raised),
        // A second without an interrupt while requests are at the disk:
        // ask the device whether it gave up (then every request comes back
        // failed through `poll`); otherwise wait on (a slow host is not a
        // dead disk).
        Err(IrqError::TimedOut) if at_disk > 0 => {
            let _ = blk.check_device();
            Ok(0)
        }
        Err(_) => Err("wait failed"),
    }
}
