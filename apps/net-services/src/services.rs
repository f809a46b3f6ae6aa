//! The services on the client end of a stream channel to netd.
//!
//! Four buffers are always lent for new connections; a new connection
//! takes the buffer its report came in. Echo lends a connection's buffers
//! for receiving: one at first, up to [`PIPELINE`] while its receives come
//! back full and more than [`RESERVE`] buffers are free. It sends what
//! came back in the order it came, one send in flight per connection, from
//! the buffer it arrived in (again from where netd stopped, until all is
//! queued), and lends a buffer whose bytes are all queued for receiving
//! again (or frees it, while buffers are scarce and the connection has
//! others). HTTP lends one buffer: receives until the request head is
//! whole, netd's status (for the page), the answer's sends, the close.
//! A connection whose peer closed is closed once everything was echoed and
//! its receives came back; one that is gone, or that netd calls void, once
//! nothing of it is in flight.

use core::fmt::Write;

use ring_types::stream::{
    ConnId, OP_CLOSE, OP_RECV, OP_SEND, OP_STATUS, ST_ACCEPTED, ST_GONE, ST_INVALID, ST_OK,
    ST_PEER_CLOSED, StreamClient, StreamLayout, parse_accepted_arg, parse_send_arg, send_arg,
};
use ring_types::{Buf, Desc, RingError};

use crate::http::{self, Parsed, Status};
use crate::page::{self, TaskInfo};
use nexus_abi::text::Text;

/// The echo port.
pub const ECHO_PORT: u16 = 7;
/// The HTTP port.
pub const HTTP_PORT: u16 = 80;

/// Buffers kept lent for new connections.
const ACCEPT_BUFS: usize = 4;
/// Buffers an echo connection holds at most (receives lent, bytes
/// waiting to be sent, the send in flight).
const PIPELINE: usize = 4;
/// Free buffers kept for new connections: an echo connection gets more
/// than one buffer only while more than these are free.
const RESERVE: usize = 16;
/// Buffers of the channel.
const BUFS: usize = StreamLayout::BUFFERS;
/// Connections tracked at once (netd's stream sockets are fewer).
const CONNS: usize = 96;
/// HTTP request heads being read at once (netd has 8 sockets on port 80).
const HEADS: usize = 16;
/// The longest request head accepted (longer gets 431).
const HEAD_MAX: usize = 512;
/// Bytes of one buffer.
const BUF: usize = StreamLayout::BUFFER_SIZE;
/// The longest status page body.
const PAGE_MAX: usize = 3584;

/// What a request was, in its tag's high byte (the low byte is the
/// connection's index in the table).
const TAG_ACCEPT: u8 = 1;
const TAG_RECV: u8 = 2;
const TAG_SEND: u8 = 3;
const TAG_STATUS: u8 = 4;
const TAG_CLOSE: u8 = 5;
/// The index of a connection closed without an entry in the table.
const NO_ENTRY: usize = 0xff;

/// What went wrong, for the task's report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceError {
    /// netd broke the ring protocol (or the ring is too small).
    Ring(RingError),
    /// netd answered with a completion that fits no request of ours.
    Protocol,
}

impl From<RingError> for ServiceError {
    fn from(e: RingError) -> Self {
        ServiceError::Ring(e)
    }
}

/// What the services have done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// Echo connections accepted.
    pub echo_connections: u64,
    /// Echo connections served to their end (the peer closed, every byte
    /// echoed, closed).
    pub echo_done: u64,
    /// Bytes echoed (queued by netd).
    pub echo_bytes: u64,
    /// HTTP requests answered (any status).
    pub http_requests: u64,
    /// Status pages (200) whose every byte netd queued.
    pub http_pages: u64,
    /// Sends netd queued only in part (the rest was sent again).
    pub partial_sends: u64,
    /// Connections netd reported gone (reset or timed out).
    pub gone: u64,
    /// Requests netd refused as invalid.
    pub refused: u64,
    /// Connections closed at once for want of room in the tables, or on
    /// a port this task does not serve.
    pub turned_away: u64,
}

/// What a connection does with the bytes it receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Echo,
    /// HTTP, with its request head in `heads[head]`, `len` bytes so far.
    Http {
        head: usize,
        len: usize,
    },
}

/// A send in flight: bytes `offset..end` of its buffer; then the close
/// (an HTTP answer, `page` if a status page) or more echo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sending {
    offset: usize,
    end: usize,
    close: bool,
    page: bool,
}

#[derive(Clone, Copy, Debug)]
struct Conn {
    id: ConnId,
    kind: Kind,
    /// Receives lent to netd.
    recvs: usize,
    /// The send in flight.
    send: Option<Sending>,
    /// netd's status asked for (HTTP), for a `HEAD` request if true.
    status: Option<bool>,
    /// Its close is in flight.
    closing: bool,
    /// The peer closed: no more bytes will come.
    peer_closed: bool,
    /// netd reported it gone, or called its id void.
    gone: bool,
}

/// Bytes received on a connection that wait for its send in flight.
struct Held {
    conn: usize,
    seq: u64,
    buf: Buf,
    len: usize,
}

/// TCP echo and HTTP on the client end of a stream channel.
pub struct Services {
    client: StreamClient,
    conns: [Option<Conn>; CONNS],
    held: [Option<Held>; BUFS],
    seq: u64,
    heads: [[u8; HEAD_MAX]; HEADS],
    head_used: [bool; HEADS],
    /// Receives lent for new connections.
    accepting: usize,
    stats: ServiceStats,
    /// Requests submitted since netd was last considered for a signal.
    submitted: bool,
}

fn tag(op: u8, index: usize) -> u16 {
    u16::from(op) << 8 | (index & 0xff) as u16
}

impl Services {
    /// Lends the buffers for new connections.
    pub fn new(client: StreamClient) -> Result<Services, ServiceError> {
        let mut s = Services {
            client,
            conns: [None; CONNS],
            held: [const { None }; BUFS],
            seq: 0,
            heads: [[0; HEAD_MAX]; HEADS],
            head_used: [false; HEADS],
            accepting: 0,
            stats: ServiceStats::default(),
            submitted: false,
        };
        s.refill()?;
        Ok(s)
    }

    /// What they have done so far.
    pub fn stats(&self) -> ServiceStats {
        self.stats
    }

    /// Connections open.
    pub fn open(&self) -> usize {
        self.conns.iter().flatten().count()
    }

    /// Whether both services really served someone: an echo connection
    /// to its end, and a whole status page.
    pub fn proven(&self) -> bool {
        self.stats.echo_done > 0 && self.stats.http_pages > 0
    }

    /// Takes every completion and answers it; returns how many it took.
    /// `now_ms` and `task` fill the status page.
    pub fn step(&mut self, now_ms: u64, task: &dyn TaskInfo) -> Result<usize, ServiceError> {
        let mut n = 0;
        while let Some((desc, buf)) = self.client.poll()? {
            n += 1;
            let index = usize::from(desc.tag & 0xff);
            match (desc.tag >> 8) as u8 {
                TAG_ACCEPT => self.accepted(desc, buf)?,
                TAG_RECV => self.received(index, desc, buf)?,
                TAG_SEND => self.sent(index, desc, buf)?,
                TAG_STATUS => self.status(index, desc, buf, now_ms, task)?,
                TAG_CLOSE => self.closed(index, desc, buf)?,
                _ => return Err(ServiceError::Protocol),
            }
            self.refill()?;
        }
        Ok(n)
    }

    /// Whether netd must be signalled now: requests were submitted and it
    /// said it may be asleep.
    pub fn must_signal(&mut self) -> bool {
        let must = self.submitted && self.client.server_sleeping();
        self.submitted = false;
        must
    }

    /// Before blocking: `true` if nothing arrived and the task may wait.
    pub fn prepare_sleep(&mut self) -> Result<bool, ServiceError> {
        Ok(self.client.prepare_sleep()?)
    }

    /// After the wait.
    pub fn woke(&mut self) -> Result<(), ServiceError> {
        Ok(self.client.woke()?)
    }

    fn submit(&mut self, op: u8, index: usize, desc: Desc, buf: Buf) -> Result<(), ServiceError> {
        let desc = Desc {
            tag: tag(op, index),
            ..desc
        };
        self.client
            .submit(desc, buf)
            .map_err(|(e, _)| ServiceError::Ring(e))?;
        self.submitted = true;
        Ok(())
    }

    fn entry(&mut self, index: usize) -> Result<&mut Conn, ServiceError> {
        self.conns
            .get_mut(index)
            .and_then(Option::as_mut)
            .ok_or(ServiceError::Protocol)
    }

    fn recv(&mut self, index: usize, buf: Buf) -> Result<(), ServiceError> {
        let c = self.entry(index)?;
        c.recvs += 1;
        let desc = Desc {
            code: OP_RECV,
            arg: c.id.to_arg(),
            ..Desc::default()
        };
        self.submit(TAG_RECV, index, desc, buf)
    }

    fn send(&mut self, index: usize, buf: Buf, s: Sending) -> Result<(), ServiceError> {
        let c = self.entry(index)?;
        c.send = Some(s);
        let desc = Desc {
            code: OP_SEND,
            // Offsets lie within a buffer of 4 KiB.
            arg: send_arg(c.id, s.offset as u16),
            len: (s.end - s.offset) as u32,
            ..Desc::default()
        };
        self.submit(TAG_SEND, index, desc, buf)
    }

    fn close(&mut self, index: usize, id: ConnId, buf: Buf) -> Result<(), ServiceError> {
        if let Ok(c) = self.entry(index) {
            c.closing = true;
        }
        let desc = Desc {
            code: OP_CLOSE,
            arg: id.to_arg(),
            ..Desc::default()
        };
        self.submit(TAG_CLOSE, index, desc, buf)
    }

    fn release(&mut self, buf: Buf) -> Result<(), ServiceError> {
        self.client.release(buf).map_err(|_| ServiceError::Protocol)
    }

    /// Buffers in the pool: neither lent to netd nor held here.
    fn free(&self) -> usize {
        let held = self.held.iter().flatten().count();
        BUFS.saturating_sub(self.client.in_flight() + held)
    }

    /// Buffers of connection `index`: lent, held, sending.
    fn buffers(&self, index: usize, c: &Conn) -> usize {
        let held = self.held.iter().flatten().filter(|h| h.conn == index);
        c.recvs + held.count() + usize::from(c.send.is_some()) + usize::from(c.status.is_some())
    }

    /// Lends free buffers for new connections, up to [`ACCEPT_BUFS`].
    fn refill(&mut self) -> Result<(), ServiceError> {
        while self.accepting < ACCEPT_BUFS {
            let Some(buf) = self.client.alloc() else {
                break;
            };
            let desc = Desc {
                code: OP_RECV,
                ..Desc::default()
            };
            self.submit(TAG_ACCEPT, 0, desc, buf)?;
            self.accepting += 1;
        }
        Ok(())
    }

    /// The connection at `index`, if the completion's id names it.
    fn conn(&self, index: usize, id: Option<ConnId>) -> Result<Conn, ServiceError> {
        match self.conns.get(index).copied().flatten() {
            Some(c) if id.is_none_or(|id| id == c.id) => Ok(c),
            _ => Err(ServiceError::Protocol),
        }
    }

    /// A new connection: it gets the buffer its report came in.
    fn accepted(&mut self, desc: Desc, buf: Buf) -> Result<(), ServiceError> {
        self.accepting = self.accepting.saturating_sub(1);
        if desc.code != ST_ACCEPTED {
            return Err(ServiceError::Protocol);
        }
        let (id, port) = parse_accepted_arg(desc.arg).ok_or(ServiceError::Protocol)?;
        let kind = match port {
            ECHO_PORT => Some(Kind::Echo),
            HTTP_PORT => self.head_used.iter().position(|u| !u).map(|head| {
                self.head_used[head] = true;
                Kind::Http { head, len: 0 }
            }),
            _ => None,
        };
        let free = self.conns.iter().position(Option::is_none);
        match (kind, free) {
            (Some(kind), Some(index)) => {
                if kind == Kind::Echo {
                    self.stats.echo_connections += 1;
                }
                self.conns[index] = Some(Conn {
                    id,
                    kind,
                    recvs: 0,
                    send: None,
                    status: None,
                    closing: false,
                    peer_closed: false,
                    gone: false,
                });
                self.recv(index, buf)
            }
            (kind, _) => {
                if let Some(Kind::Http { head, .. }) = kind {
                    self.head_used[head] = false;
                }
                self.stats.turned_away += 1;
                self.close(NO_ENTRY, id, buf)
            }
        }
    }

    /// A receive came back: bytes, the peer's close, or the end.
    fn received(&mut self, index: usize, desc: Desc, buf: Buf) -> Result<(), ServiceError> {
        let c = self.conn(index, ConnId::from_arg(desc.arg))?;
        if c.recvs == 0 {
            return Err(ServiceError::Protocol);
        }
        self.entry(index)?.recvs -= 1;
        if c.closing {
            // Answered after the close went out: nothing more to do.
            return self.release(buf);
        }
        match desc.code {
            ST_OK if desc.len > 0 => {}
            ST_PEER_CLOSED => {
                self.entry(index)?.peer_closed = true;
                return self.settle(index, buf);
            }
            code => {
                self.ended(index, code)?;
                return self.settle(index, buf);
            }
        }
        let len = desc.len as usize;
        match c.kind {
            Kind::Echo => {
                if c.send.is_none() {
                    let s = Sending {
                        offset: 0,
                        end: len,
                        close: false,
                        page: false,
                    };
                    self.send(index, buf, s)?;
                } else {
                    self.hold(index, buf, len)?;
                }
                if len == BUF {
                    self.widen(index)
                } else {
                    Ok(())
                }
            }
            Kind::Http { head, len: have } => {
                let take = len.min(HEAD_MAX - have);
                let end = have + take;
                self.client
                    .read(&buf, 0, &mut self.heads[head][have..end])?;
                self.entry(index)?.kind = Kind::Http { head, len: end };
                self.request(index, head, end, buf)
            }
        }
    }

    /// Keeps received bytes until the send before them is done.
    fn hold(&mut self, index: usize, buf: Buf, len: usize) -> Result<(), ServiceError> {
        self.seq += 1;
        let seq = self.seq;
        match self.held.iter_mut().find(|h| h.is_none()) {
            Some(slot) => {
                *slot = Some(Held {
                    conn: index,
                    seq,
                    buf,
                    len,
                });
                Ok(())
            }
            // One slot per buffer of the channel: there is always one.
            None => Err(ServiceError::Protocol),
        }
    }

    /// The oldest bytes held for connection `index`.
    fn take_held(&mut self, index: usize) -> Option<(Buf, usize)> {
        let k = self
            .held
            .iter()
            .enumerate()
            .filter_map(|(k, h)| h.as_ref().filter(|h| h.conn == index).map(|h| (k, h.seq)))
            .min_by_key(|&(_, seq)| seq)?
            .0;
        self.held[k].take().map(|h| (h.buf, h.len))
    }

    /// A bulk echo connection (a receive came back full) gets one more
    /// receive, while buffers are plentiful.
    fn widen(&mut self, index: usize) -> Result<(), ServiceError> {
        let c = self.conn(index, None)?;
        if c.peer_closed || c.gone || self.buffers(index, &c) >= PIPELINE {
            return Ok(());
        }
        if self.free() > RESERVE
            && let Some(buf) = self.client.alloc()
        {
            self.recv(index, buf)?;
        }
        Ok(())
    }

    /// A request whose head is `heads[head][..len]` so far: answered once
    /// whole (or malformed, or too long), else read on.
    fn request(
        &mut self,
        index: usize,
        head: usize,
        len: usize,
        mut buf: Buf,
    ) -> Result<(), ServiceError> {
        let (status, head_only) = match http::parse(&self.heads[head][..len]) {
            Parsed::Request { method, path } => (http::route(method, path), method == "HEAD"),
            Parsed::Bad => (Status::BadRequest, false),
            Parsed::Incomplete if len == HEAD_MAX => (Status::TooLarge, false),
            Parsed::Incomplete => return self.recv(index, buf),
        };
        // Counted first, so the page counts the request it answers.
        self.stats.http_requests += 1;
        if status == Status::Ok {
            self.entry(index)?.status = Some(head_only);
            let desc = Desc {
                code: OP_STATUS,
                ..Desc::default()
            };
            return self.submit(TAG_STATUS, index, desc, buf);
        }
        let (code, reason) = status.line();
        let mut body = Text::<64>::new();
        // The line is far shorter than its buffer.
        let _ = writeln!(body, "{code} {reason}");
        let end = self.answer(&mut buf, status, head_only, body.as_bytes())?;
        let s = Sending {
            offset: 0,
            end,
            close: true,
            page: false,
        };
        self.send(index, buf, s)
    }

    /// Writes an answer (head and body) into `buf`; its length.
    fn answer(
        &mut self,
        buf: &mut Buf,
        status: Status,
        head_only: bool,
        body: &[u8],
    ) -> Result<usize, ServiceError> {
        let mut head = Text::<256>::new();
        // The head is far shorter than its buffer.
        let _ = http::write_head(&mut head, status, body.len());
        let body = if head_only { &[][..] } else { body };
        let end = head.len() + body.len();
        if end > BUF {
            return Err(ServiceError::Ring(RingError::OutOfBuffer));
        }
        self.client.write(buf, 0, head.as_bytes())?;
        self.client.write(buf, head.len(), body)?;
        Ok(end)
    }

    /// netd's status came back: the page is written and sent.
    fn status(
        &mut self,
        index: usize,
        desc: Desc,
        mut buf: Buf,
        now_ms: u64,
        task: &dyn TaskInfo,
    ) -> Result<(), ServiceError> {
        let c = self.conn(index, None)?;
        let Some(head_only) = c.status else {
            return Err(ServiceError::Protocol);
        };
        self.entry(index)?.status = None;
        if desc.code != ST_OK {
            self.ended(index, desc.code)?;
            return self.settle(index, buf);
        }
        let mut netd = [0u8; BUF];
        let netd = &mut netd[..desc.len as usize];
        self.client.read(&buf, 0, netd)?;
        let mut body = Text::<PAGE_MAX>::new();
        // A page too long for its buffer is cut short, not failed.
        let _ = page::write(&mut body, now_ms, &self.stats, netd, task);
        let end = self.answer(&mut buf, Status::Ok, head_only, body.as_bytes())?;
        let s = Sending {
            offset: 0,
            end,
            close: true,
            page: true,
        };
        self.send(index, buf, s)
    }

    /// A send came back: the rest is sent again, the next bytes are sent,
    /// or the connection goes on or ends.
    fn sent(&mut self, index: usize, desc: Desc, buf: Buf) -> Result<(), ServiceError> {
        let id = parse_send_arg(desc.arg).map(|(id, _)| id);
        let c = self.conn(index, id)?;
        let Some(s) = c.send else {
            return Err(ServiceError::Protocol);
        };
        self.entry(index)?.send = None;
        if desc.code != ST_OK {
            self.ended(index, desc.code)?;
            return self.settle(index, buf);
        }
        let asked = s.end - s.offset;
        let queued = desc.len as usize;
        if queued == 0 || queued > asked {
            return Err(ServiceError::Protocol);
        }
        if c.kind == Kind::Echo {
            self.stats.echo_bytes += queued as u64;
        }
        if queued < asked {
            self.stats.partial_sends += 1;
            let rest = Sending {
                offset: s.offset + queued,
                ..s
            };
            return self.send(index, buf, rest);
        }
        if s.page {
            self.stats.http_pages += 1;
        }
        if s.close {
            return self.close(index, c.id, buf);
        }
        if let Some((next, len)) = self.take_held(index) {
            let s = Sending {
                offset: 0,
                end: len,
                close: false,
                page: false,
            };
            self.send(index, next, s)?;
        }
        let c = self.conn(index, None)?;
        let scarce = self.free() < RESERVE && self.buffers(index, &c) > 0;
        if c.peer_closed || c.gone || scarce {
            self.settle(index, buf)
        } else {
            self.recv(index, buf)
        }
    }

    /// A request netd could not carry out: the connection is gone, or
    /// netd calls its id void. Nothing more is sent: the bytes held for
    /// it are dropped.
    fn ended(&mut self, index: usize, code: u8) -> Result<(), ServiceError> {
        match code {
            ST_GONE => self.stats.gone += 1,
            ST_INVALID => self.stats.refused += 1,
            _ => return Err(ServiceError::Protocol),
        }
        self.entry(index)?.gone = true;
        while let Some((buf, _)) = self.take_held(index) {
            self.release(buf)?;
        }
        Ok(())
    }

    /// A buffer of connection `index` is done with: the connection is
    /// closed with it if the connection has ended and nothing of it is in
    /// flight; otherwise it goes back to the pool.
    fn settle(&mut self, index: usize, buf: Buf) -> Result<(), ServiceError> {
        let c = self.conn(index, None)?;
        let ended = c.peer_closed || c.gone;
        if ended && !c.closing && self.buffers(index, &c) == 0 {
            self.close(index, c.id, buf)
        } else {
            self.release(buf)
        }
    }

    /// A close came back: the connection's entry and buffer are free.
    fn closed(&mut self, index: usize, desc: Desc, buf: Buf) -> Result<(), ServiceError> {
        if desc.code == ST_INVALID {
            self.stats.refused += 1;
        }
        if index != NO_ENTRY {
            let c = self.conn(index, ConnId::from_arg(desc.arg))?;
            if !c.closing || self.buffers(index, &c) > 0 {
                return Err(ServiceError::Protocol);
            }
            if let Kind::Http { head, .. } = c.kind {
                self.head_used[head] = false;
            }
            if c.kind == Kind::Echo && c.peer_closed && !c.gone {
                self.stats.echo_done += 1;
            }
            self.conns[index] = None;
        }
        self.release(buf)
    }
}
