//! The stream relay: TCP ports of netd's whose connections a service task
//! serves, through a channel and the stream protocol of
//! `ring_types::stream`. netd is the server end: it owns the stream
//! sockets (`Netd::stream_socket`: several listening on each port, so many
//! connections are served at once), reports each connection it accepts,
//! moves a connection's bytes into the buffers the task lent for it, sends
//! what the task asks, closes what it closes, and listens again.
//!
//! The task is untrusted: everything it writes into the ring is checked by
//! `ring_types` (indices, buffer ids, lengths) and here (operations,
//! connection ids, offsets). A malformed request is answered `ST_INVALID`;
//! a ring the peer corrupted is a [`RingError`], after which the caller
//! drops the client ([`StreamRelay::drop_client`]): its connections are
//! aborted, its ports no longer listen, and netd goes on serving everyone
//! else.
//!
//! A connection's id is its socket's index (bits 0..8) and a generation
//! of that socket (bits 8..32, never 0), so an id of a connection closed
//! earlier on the same socket is void.

use core::fmt::{self, Write};

use nexus_virtio::net::NetTransport;
use ring_types::stream::{
    ConnId, OP_CLOSE, OP_RECV, OP_SEND, OP_STATUS, ST_ACCEPTED, ST_GONE, ST_INVALID, ST_OK,
    ST_PEER_CLOSED, StreamLayout, StreamServer, accepted_arg, parse_send_arg,
};
use ring_types::{Desc, Lease, RingError};
use smoltcp::socket::tcp;

use crate::stack::{Netd, STREAM_RANGES, STREAM_SOCKETS, SystemInfo, stream_port};
use nexus_abi::text::Text;

/// Buffers a client can lend at once (the layout's buffer count).
const PARKED: usize = StreamLayout::BUFFERS;
/// Bytes of one buffer.
const BUF: usize = StreamLayout::BUFFER_SIZE;
/// Generations of a socket's connections wrap at 24 bits (skipping 0).
const GENERATIONS: u32 = 1 << 24;

/// What one [`StreamRelay::serve`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Requests taken, completions produced and sockets that changed.
    pub work: usize,
    /// Whether the stack must send now: bytes were queued, read (the
    /// window opens) or a connection closed.
    pub flush: bool,
    /// Whether the client has completions to see (signal it if it sleeps).
    pub wake_client: bool,
}

/// What the relay has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Connections reported to the task.
    pub accepted: u64,
    /// Connections the task closed.
    pub closed: u64,
    /// Bytes moved from connections to the task.
    pub bytes_in: u64,
    /// Bytes the task sent that were queued.
    pub bytes_out: u64,
    /// Requests refused as malformed.
    pub refused: u64,
}

/// One stream socket as the relay sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Not listening: the relay has no client.
    Idle,
    /// Waiting for a connection.
    Listening,
    /// A connection with this id; `reported` once the task was told.
    Open { id: ConnId, reported: bool },
    /// The task closed it; it listens again once the socket is closed.
    Closing,
}

/// What a parked request waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// The next new connection.
    Accept,
    /// The next bytes (or the end) of the connection on this socket.
    Recv(usize),
    /// Room to send `len` bytes from `offset` on this socket.
    Send { socket: usize, offset: usize },
}

/// A request netd holds until it can answer it.
struct Parked {
    desc: Desc,
    lease: Lease,
    wait: Wait,
    /// When it was taken: requests are answered in this order.
    seq: u64,
}

/// The stream relay: the channel's server end, the requests it holds, and
/// the state of its stream sockets.
pub struct StreamRelay {
    server: StreamServer,
    /// Its stream sockets: `first..end` (`stack::STREAM_RANGES`); the
    /// other entries of `slots` stay idle.
    first: usize,
    end: usize,
    parked: [Option<Parked>; PARKED],
    slots: [Slot; STREAM_SOCKETS],
    generations: [u32; STREAM_SOCKETS],
    seq: u64,
    stats: StreamStats,
}

impl StreamRelay {
    /// The server end over a mapped channel, for stream channel `channel`
    /// (`stack::STREAM_RANGES`: 0 serves TCP 7 and 80, 1 the second
    /// channel's port); its stream sockets start listening.
    pub fn new<T: NetTransport>(
        mem: mmio_types::DmaRegion,
        netd: &mut Netd<'_, T>,
        channel: usize,
    ) -> Result<StreamRelay, RingError> {
        let (first, end) = STREAM_RANGES.get(channel).copied().unwrap_or((0, 0));
        let server = StreamServer::new(mem)?;
        let mut slots = [Slot::Idle; STREAM_SOCKETS];
        for (i, slot) in slots.iter_mut().enumerate().take(end).skip(first) {
            if netd.stream_listen(i) {
                *slot = Slot::Listening;
            }
        }
        Ok(StreamRelay {
            server,
            first,
            end,
            parked: [const { None }; PARKED],
            slots,
            generations: [0; STREAM_SOCKETS],
            seq: 0,
            stats: StreamStats::default(),
        })
    }

    /// What it has done so far.
    pub fn stats(&self) -> StreamStats {
        self.stats
    }

    /// Requests held (receives and sends waiting).
    pub fn parked(&self) -> usize {
        self.parked.iter().flatten().count()
    }

    /// Connections open (reported or not, not yet closed by the task).
    pub fn open(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, Slot::Open { .. }))
            .count()
    }

    /// One round: takes the client's requests, then answers what can be
    /// answered: new connections, bytes received, sends with room, ends.
    /// `system` completes netd's status for `OP_STATUS`. An error means
    /// the client corrupted the ring.
    pub fn serve<T: NetTransport>(
        &mut self,
        netd: &mut Netd<'_, T>,
        system: &dyn SystemInfo,
    ) -> Result<Served, RingError> {
        let mut done = Served::default();
        while let Some((desc, lease)) = self.server.take_request()? {
            done.work += 1;
            self.take(netd, system, desc, lease, &mut done)?;
        }
        done.work += self.watch(netd);
        self.answer(netd, &mut done)?;
        Ok(done)
    }

    /// Completes a request, counting it.
    fn complete(
        &mut self,
        lease: Lease,
        desc: Desc,
        code: u8,
        len: u32,
        arg: u64,
        done: &mut Served,
    ) -> Result<(), RingError> {
        if code == ST_INVALID {
            self.stats.refused += 1;
        }
        done.work += 1;
        done.wake_client = true;
        self.server.complete(
            lease,
            Desc {
                code,
                len,
                arg,
                ..desc
            },
        )
    }

    /// The socket of a connection id the task holds: given out (reported)
    /// and not yet closed.
    fn socket_of(&self, id: ConnId) -> Option<usize> {
        let i = (id.bits() & 0xff) as usize;
        if !(self.first..self.end).contains(&i) {
            return None;
        }
        match self.slots.get(i)? {
            Slot::Open { id: open, reported } if *open == id && *reported => Some(i),
            _ => None,
        }
    }

    /// Takes one request: answers it at once, or parks it.
    fn take<T: NetTransport>(
        &mut self,
        netd: &mut Netd<'_, T>,
        system: &dyn SystemInfo,
        desc: Desc,
        mut lease: Lease,
        done: &mut Served,
    ) -> Result<(), RingError> {
        let wait = match desc.code {
            OP_RECV if desc.arg == 0 => Some(Wait::Accept),
            OP_RECV => ConnId::from_arg(desc.arg)
                .and_then(|id| self.socket_of(id))
                .map(Wait::Recv),
            OP_SEND => parse_send_arg(desc.arg).and_then(|(id, offset)| {
                let socket = self.socket_of(id)?;
                let offset = usize::from(offset);
                let end = offset.checked_add(desc.len as usize)?;
                (desc.len > 0 && end <= BUF).then_some(Wait::Send { socket, offset })
            }),
            OP_CLOSE => {
                let socket = ConnId::from_arg(desc.arg).and_then(|id| self.socket_of(id));
                return match socket {
                    Some(i) => {
                        self.close(netd, i, done)?;
                        self.complete(lease, desc, ST_OK, 0, desc.arg, done)
                    }
                    None => self.complete(lease, desc, ST_INVALID, 0, desc.arg, done),
                };
            }
            OP_STATUS if desc.arg == 0 => {
                let mut text = Text::<BUF>::new();
                // A status longer than the buffer is cut short, not failed.
                let _ = self.write_status(&mut text, netd, system);
                self.server.write(&mut lease, 0, text.as_bytes())?;
                let len = text.len() as u32;
                return self.complete(lease, desc, ST_OK, len, 0, done);
            }
            _ => None,
        };
        let Some(wait) = wait else {
            return self.complete(lease, desc, ST_INVALID, 0, desc.arg, done);
        };
        match self.parked.iter_mut().find(|p| p.is_none()) {
            Some(slot) => {
                self.seq += 1;
                *slot = Some(Parked {
                    desc,
                    lease,
                    wait,
                    seq: self.seq,
                });
                Ok(())
            }
            // Unreachable while leases are one per buffer; answered all the
            // same, with a refusal, rather than a lease lost.
            None => self.complete(lease, desc, ST_INVALID, 0, desc.arg, done),
        }
    }

    /// The task closes the connection on socket `i`: its queued bytes go
    /// out, then a FIN; whatever of it netd still holds is answered
    /// `ST_GONE`.
    fn close<T: NetTransport>(
        &mut self,
        netd: &mut Netd<'_, T>,
        i: usize,
        done: &mut Served,
    ) -> Result<(), RingError> {
        if let Some(s) = netd.stream_socket(i) {
            s.close();
        }
        self.slots[i] = Slot::Closing;
        self.stats.closed += 1;
        done.flush = true;
        for k in 0..PARKED {
            let mine = matches!(&self.parked[k], Some(p) if matches!(p.wait,
                Wait::Recv(s) | Wait::Send { socket: s, .. } if s == i));
            if mine && let Some(p) = self.parked[k].take() {
                self.complete(p.lease, p.desc, ST_GONE, 0, p.desc.arg, done)?;
            }
        }
        Ok(())
    }

    /// Follows every socket: a connection established on a listening one
    /// gets an id; a closed one listens again. Returns the sockets that
    /// changed.
    fn watch<T: NetTransport>(&mut self, netd: &mut Netd<'_, T>) -> usize {
        let mut changed = 0;
        for i in self.first..self.end {
            let Some(s) = netd.stream_socket(i) else {
                continue;
            };
            match self.slots[i] {
                Slot::Listening if s.may_send() => {
                    let g = self.generations[i] % (GENERATIONS - 1) + 1;
                    self.generations[i] = g;
                    let Some(id) = ConnId::new(g << 8 | i as u32) else {
                        continue;
                    };
                    self.slots[i] = Slot::Open {
                        id,
                        reported: false,
                    };
                    changed += 1;
                }
                Slot::Listening | Slot::Closing if !s.is_open() => {
                    self.slots[i] = if netd.stream_listen(i) {
                        Slot::Listening
                    } else {
                        Slot::Idle
                    };
                    changed += 1;
                }
                _ => {}
            }
        }
        changed
    }

    /// Answers the parked requests that can be answered now, oldest first.
    fn answer<T: NetTransport>(
        &mut self,
        netd: &mut Netd<'_, T>,
        done: &mut Served,
    ) -> Result<(), RingError> {
        // Oldest first: the indices of the parked requests by `seq`.
        let mut order = [0u8; PARKED];
        let mut n = 0;
        for (k, p) in self.parked.iter().enumerate() {
            if p.is_some() {
                order[n] = k as u8;
                n += 1;
            }
        }
        let seq = |k: u8| self.parked[usize::from(k)].as_ref().map_or(0, |p| p.seq);
        order[..n].sort_unstable_by_key(|&k| seq(k));
        // Sockets whose earlier receive (or send) waits: later ones wait
        // behind it, so bytes keep their order.
        let mut recv_blocked = [false; STREAM_SOCKETS];
        let mut send_blocked = [false; STREAM_SOCKETS];
        // Made (zeroed) only in a round that moves bytes: most rounds
        // answer nothing, and every round runs this.
        let mut buf: Option<[u8; BUF]> = None;
        for &k in &order[..n] {
            let k = usize::from(k);
            let Some(wait) = self.parked[k].as_ref().map(|p| p.wait) else {
                continue;
            };
            let answer = match wait {
                Wait::Accept => self.accept(),
                Wait::Recv(i) if recv_blocked[i] => None,
                Wait::Recv(i) => {
                    let a = recv(netd, i, buf.get_or_insert([0; BUF]));
                    recv_blocked[i] = a.is_none();
                    a
                }
                Wait::Send { socket, .. } if send_blocked[socket] => None,
                Wait::Send { socket, offset } => {
                    let Some(p) = self.parked[k].as_ref() else {
                        continue;
                    };
                    let a = self.send(netd, p, socket, offset, buf.get_or_insert([0; BUF]))?;
                    send_blocked[socket] = a.is_none();
                    a
                }
            };
            let Some((code, len, arg)) = answer else {
                continue;
            };
            let Some(mut p) = self.parked[k].take() else {
                continue;
            };
            match (wait, code) {
                (Wait::Recv(_), ST_OK) => {
                    let data = buf.as_ref().and_then(|b| b.get(..len as usize));
                    self.server.write(&mut p.lease, 0, data.unwrap_or(&[]))?;
                    self.stats.bytes_in += u64::from(len);
                    done.flush = true;
                }
                (Wait::Send { .. }, ST_OK) => {
                    self.stats.bytes_out += u64::from(len);
                    done.flush = true;
                }
                _ => {}
            }
            let arg = arg.unwrap_or(p.desc.arg);
            self.complete(p.lease, p.desc, code, len, arg, done)?;
        }
        Ok(())
    }

    /// The oldest connection not yet reported, now reported: its
    /// completion.
    fn accept(&mut self) -> Option<(u8, u32, Option<u64>)> {
        let (i, slot) = self.slots.iter_mut().enumerate().find(|(_, s)| {
            matches!(
                s,
                Slot::Open {
                    reported: false,
                    ..
                }
            )
        })?;
        let Slot::Open { id, reported } = slot else {
            return None;
        };
        *reported = true;
        self.stats.accepted += 1;
        let port = stream_port(i)?;
        Some((ST_ACCEPTED, 0, Some(accepted_arg(*id, port))))
    }

    /// A parked send on socket `i`, if there is room: queues what fits.
    fn send<T: NetTransport>(
        &self,
        netd: &mut Netd<'_, T>,
        p: &Parked,
        i: usize,
        offset: usize,
        buf: &mut [u8; BUF],
    ) -> Result<Option<(u8, u32, Option<u64>)>, RingError> {
        let Some(s) = netd.stream_socket(i) else {
            return Ok(Some((ST_GONE, 0, None)));
        };
        if !s.may_send() {
            return Ok(Some((ST_GONE, 0, None)));
        }
        let room = s.send_capacity() - s.send_queue();
        let n = room.min(p.desc.len as usize);
        if n == 0 {
            return Ok(None);
        }
        self.server.read(&p.lease, offset, &mut buf[..n])?;
        let queued = s.send_slice(&buf[..n]).unwrap_or(0);
        Ok(match queued {
            0 => None,
            q => Some((ST_OK, q as u32, None)),
        })
    }

    /// netd's status for `OP_STATUS`: the stack's lines, the relay's, and
    /// what `system` tells of netd's capabilities.
    fn write_status<T: NetTransport>(
        &self,
        out: &mut dyn Write,
        netd: &Netd<'_, T>,
        system: &dyn SystemInfo,
    ) -> fmt::Result {
        netd.write_status(out)?;
        let s = self.stats;
        write!(out, "tcp")?;
        let mut last = None;
        for port in (self.first..self.end).filter_map(stream_port) {
            if last != Some(port) {
                write!(out, " :{port}")?;
                last = Some(port);
            }
        }
        writeln!(
            out,
            " relayed to a service task: {} connections ({} open), \
             {} bytes in, {} out, {} requests refused",
            s.accepted,
            self.open(),
            s.bytes_in,
            s.bytes_out,
            s.refused
        )?;
        system.describe(out)
    }

    /// Whether the client said it may block (signal it after answering).
    pub fn client_sleeping(&self) -> bool {
        self.server.client_sleeping()
    }

    /// Before netd blocks: says it may sleep; false if requests arrived
    /// meanwhile (serve again instead).
    pub fn prepare_sleep(&mut self) -> Result<bool, RingError> {
        self.server.prepare_sleep()
    }

    /// After netd woke: no longer asleep.
    pub fn woke(&mut self) -> Result<(), RingError> {
        self.server.woke()
    }

    /// Gives up the client (it corrupted the ring, or it ended): every
    /// connection is aborted and no socket listens any more, every held
    /// buffer is reclaimed, and nothing of the channel is touched again.
    pub fn drop_client<T: NetTransport>(mut self, netd: &mut Netd<'_, T>) {
        for i in self.first..self.end {
            if let Some(s) = netd.stream_socket(i) {
                s.abort();
            }
        }
        for p in self.parked.iter_mut().filter_map(Option::take) {
            self.server.reclaim(p.lease);
        }
    }
}

/// The next answer to a receive on socket `i`: bytes (copied into `buf`),
/// the peer's close, or the connection gone; `None` while it has none.
fn recv<T: NetTransport>(
    netd: &mut Netd<'_, T>,
    i: usize,
    buf: &mut [u8; BUF],
) -> Option<(u8, u32, Option<u64>)> {
    let Some(s) = netd.stream_socket(i) else {
        return Some((ST_GONE, 0, None));
    };
    if s.can_recv() {
        let n = s.recv_slice(buf).unwrap_or(0);
        if n > 0 {
            return Some((ST_OK, n as u32, None));
        }
    }
    match s.state() {
        tcp::State::Closed | tcp::State::TimeWait => Some((ST_GONE, 0, None)),
        _ if !s.may_recv() => Some((ST_PEER_CLOSED, 0, None)),
        _ => None,
    }
}
