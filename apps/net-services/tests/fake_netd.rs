//! The services against a fake netd (the server end of the stream
//! channel, driven by the test): 50 connections echoed byte for byte
//! while netd queues every send only in part, HTTP heads that arrive in
//! pieces, the status page with netd's status, 404, and a netd that
//! answers with garbage (an error, never a panic).

use std::collections::{HashMap, VecDeque};
use std::fmt;

use mmio_types::{DmaRegion, FakeDma};
use net_services::{ServiceError, Services, TaskInfo};
use ring_types::stream::{
    ConnId, OP_CLOSE, OP_RECV, OP_SEND, OP_STATUS, ST_ACCEPTED, ST_OK, ST_PEER_CLOSED,
    StreamClient, StreamLayout, StreamServer, accepted_arg, parse_send_arg,
};
use ring_types::{Desc, Lease};

struct Task;

impl TaskInfo for Task {
    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(out, "tasks: test")?;
        writeln!(out, "instret: 42")
    }
}

/// What the fake netd holds: requests parked by kind.
struct FakeNetd {
    _fake: FakeDma,
    server: StreamServer,
    accepts: VecDeque<(Desc, Lease)>,
    recvs: HashMap<u32, VecDeque<(Desc, Lease)>>,
    sends: VecDeque<(Desc, Lease)>,
    /// Ids closed, in order.
    closed: Vec<u32>,
    /// Bytes each connection's peer got.
    out: HashMap<u32, Vec<u8>>,
}

fn setup() -> (FakeNetd, Services) {
    let (fake, token) = FakeDma::new(StreamLayout::PAGES).expect("fake pages");
    let peer = fake.peer_token();
    let server = StreamServer::new(DmaRegion::new(token)).unwrap();
    let services = Services::new(StreamClient::new(DmaRegion::new(peer)).unwrap()).unwrap();
    let netd = FakeNetd {
        _fake: fake,
        server,
        accepts: VecDeque::new(),
        recvs: HashMap::new(),
        sends: VecDeque::new(),
        closed: Vec::new(),
        out: HashMap::new(),
    };
    (netd, services)
}

impl FakeNetd {
    /// Takes every request; answers closes and statuses at once.
    fn take(&mut self, status: &str) {
        while let Some((desc, mut lease)) = self.server.take_request().unwrap() {
            match desc.code {
                OP_RECV if desc.arg == 0 => self.accepts.push_back((desc, lease)),
                OP_RECV => self
                    .recvs
                    .entry(desc.arg as u32)
                    .or_default()
                    .push_back((desc, lease)),
                OP_SEND => self.sends.push_back((desc, lease)),
                OP_CLOSE => {
                    self.closed.push(desc.arg as u32);
                    self.complete(lease, desc, ST_OK, 0, desc.arg);
                }
                OP_STATUS => {
                    self.server.write(&mut lease, 0, status.as_bytes()).unwrap();
                    self.complete(lease, desc, ST_OK, status.len() as u32, 0);
                }
                op => panic!("unknown operation {op}"),
            }
        }
    }

    fn complete(&mut self, lease: Lease, desc: Desc, code: u8, len: u32, arg: u64) {
        let d = Desc {
            code,
            len,
            arg,
            ..desc
        };
        self.server.complete(lease, d).unwrap();
    }

    /// Reports a new connection, if a receive for one is parked.
    fn accept(&mut self, id: u32, port: u16) -> bool {
        let Some((desc, lease)) = self.accepts.pop_front() else {
            return false;
        };
        let arg = accepted_arg(ConnId::new(id).unwrap(), port);
        self.complete(lease, desc, ST_ACCEPTED, 0, arg);
        true
    }

    /// Delivers `data` (or the peer's close, if empty) to connection `id`,
    /// if a receive of it is parked.
    fn deliver(&mut self, id: u32, data: &[u8]) -> bool {
        let Some((desc, mut lease)) = self.recvs.get_mut(&id).and_then(VecDeque::pop_front) else {
            return false;
        };
        if data.is_empty() {
            self.complete(lease, desc, ST_PEER_CLOSED, 0, desc.arg);
        } else {
            self.server.write(&mut lease, 0, data).unwrap();
            self.complete(lease, desc, ST_OK, data.len() as u32, desc.arg);
        }
        true
    }

    /// Queues at most `max` bytes of each parked send: what the peer of
    /// its connection gets.
    fn queue_sends(&mut self, max: usize) {
        while let Some((desc, lease)) = self.sends.pop_front() {
            let (id, offset) = parse_send_arg(desc.arg).expect("a well-formed send");
            let n = (desc.len as usize).min(max);
            let mut bytes = vec![0; n];
            self.server
                .read(&lease, usize::from(offset), &mut bytes)
                .unwrap();
            self.out.entry(id.bits()).or_default().extend(bytes);
            self.complete(lease, desc, ST_OK, n as u32, desc.arg);
        }
    }
}

#[test]
fn fifty_connections_echo_byte_for_byte_through_partial_sends() {
    let (mut netd, mut services) = setup();
    let data: Vec<Vec<u8>> = (0..50u32)
        .map(|i| {
            (0..10_000u32)
                .map(|b| (b * 31 + i * 7 + b / 97) as u8)
                .collect()
        })
        .collect();
    let mut delivered = vec![0usize; 50];
    let mut ended = [false; 50];
    let id = |i: usize| 0x100 + i as u32;
    let mut accepted = 0;
    for round in 0..10_000 {
        netd.take("");
        while accepted < 50 && netd.accept(id(accepted), 7) {
            accepted += 1;
        }
        for i in 0..accepted {
            // Pieces of varied sizes up to a whole buffer.
            let want = [1, 700, 4096, 333, 2048][(round + i) % 5];
            let end = (delivered[i] + want).min(data[i].len());
            if delivered[i] < end {
                if netd.deliver(id(i), &data[i][delivered[i]..end]) {
                    delivered[i] = end;
                }
            } else if !ended[i] && netd.deliver(id(i), &[]) {
                ended[i] = true;
            }
        }
        // netd has little room: every send is queued in part.
        netd.queue_sends(1000 + round % 7);
        services.step(round as u64, &Task).unwrap();
        if netd.closed.len() == 50 {
            break;
        }
    }
    assert_eq!(netd.closed.len(), 50, "every connection closed");
    for (i, d) in data.iter().enumerate() {
        let got = netd.out.get(&id(i)).map_or(&[][..], |v| &v[..]);
        assert!(
            got == &d[..],
            "connection {i}: {} of {} bytes, or out of order",
            got.len(),
            d.len()
        );
    }
    let s = services.stats();
    assert_eq!((s.echo_connections, s.echo_done), (50, 50));
    assert_eq!(s.echo_bytes, 50 * 10_000);
    assert!(s.partial_sends > 50, "{} partial sends", s.partial_sends);
    assert_eq!(services.open(), 0);
}

/// Runs one HTTP request, in pieces, through the fake netd; the answer.
fn http(netd: &mut FakeNetd, services: &mut Services, id: u32, pieces: &[&[u8]]) -> String {
    let status = "address: 10.0.2.15/24\nlink: virtio-net mac x\n";
    netd.take(status);
    assert!(netd.accept(id, 80), "an accept receive is parked");
    let mut pieces = pieces.iter();
    for round in 0..100 {
        services.step(1234, &Task).unwrap();
        netd.take(status);
        if let Some(p) = pieces.as_slice().first()
            && netd.deliver(id, p)
        {
            pieces.next();
        }
        netd.queue_sends(100 + round);
        if netd.closed.contains(&id) {
            break;
        }
    }
    assert!(netd.closed.contains(&id), "closed after the answer");
    String::from_utf8(netd.out.remove(&id).unwrap_or_default()).unwrap()
}

#[test]
fn http_answers_heads_in_pieces_with_the_status_page_and_404() {
    let (mut netd, mut services) = setup();
    let page = http(
        &mut netd,
        &mut services,
        0x200,
        &[b"GET / HT", b"TP/1.1\r\nHost: x\r", b"\n\r\n"],
    );
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    let (head, body) = page.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "{head}"
    );
    for want in [
        "NEURON status",
        "uptime: 1.234 s",
        "tasks: test",
        "instret: 42",
        "http :80 (1 requests)",
        "address: 10.0.2.15/24",
        "link: virtio-net",
    ] {
        assert!(body.contains(want), "no `{want}` in\n{body}");
    }
    let missing = http(
        &mut netd,
        &mut services,
        0x300,
        &[b"GET /x HTTP/1.1\r\n\r\n"],
    );
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );
    let long = vec![b'a'; 600];
    let big = http(
        &mut netd,
        &mut services,
        0x400,
        &[&long[..300], &long[300..]],
    );
    assert!(big.starts_with("HTTP/1.1 431 "), "{big}");
    // The peer closes before a whole request: closed without an answer.
    let none = http(
        &mut netd,
        &mut services,
        0x500,
        &[b"GET / HTTP/1.1\r\n", b""],
    );
    assert_eq!(none, "");
    let s = services.stats();
    assert_eq!((s.http_requests, s.http_pages), (3, 1));
    assert!(!services.proven(), "no echo connection served yet");
}

#[test]
fn completions_that_fit_no_request_are_errors() {
    // A completion for a connection that was never accepted.
    let (mut netd, mut services) = setup();
    netd.take("");
    let (desc, lease) = netd.accepts.pop_front().unwrap();
    netd.complete(lease, desc, ST_OK, 0, 0);
    assert_eq!(services.step(0, &Task), Err(ServiceError::Protocol));

    // An accept with no port.
    let (mut netd, mut services) = setup();
    netd.take("");
    let (desc, lease) = netd.accepts.pop_front().unwrap();
    netd.complete(lease, desc, ST_ACCEPTED, 0, 0x100);
    assert_eq!(services.step(0, &Task), Err(ServiceError::Protocol));

    // A send completed with more bytes than were asked.
    let (mut netd, mut services) = setup();
    netd.take("");
    assert!(netd.accept(0x100, 7));
    services.step(0, &Task).unwrap();
    netd.take("");
    assert!(netd.deliver(0x100, b"abc"));
    services.step(0, &Task).unwrap();
    netd.take("");
    let (desc, lease) = netd.sends.pop_front().unwrap();
    netd.complete(lease, desc, ST_OK, 4, desc.arg);
    assert_eq!(services.step(0, &Task), Err(ServiceError::Protocol));
}

#[test]
fn a_netd_that_writes_garbage_gets_an_error_never_a_panic() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // One channel's pages for every case (the fake pool is small): each
    // case zeroes the rings and starts a fresh client over them.
    let (fake, _token) = FakeDma::new(StreamLayout::PAGES).expect("fake pages");
    for case in 0..300 {
        let mut raw = DmaRegion::new(fake.peer_token());
        for at in (0..StreamLayout::BUFS_OFFSET).step_by(8) {
            raw.write::<u64>(at, 0).unwrap();
        }
        let client = StreamClient::new(DmaRegion::new(fake.peer_token())).unwrap();
        let mut services = Services::new(client).unwrap();
        // The completion ring: its head, then entries of random words (in
        // some cases well-formed apart from one field).
        let completions = StreamLayout::COMPLETIONS;
        for i in 0..64 {
            let w0 = match case % 3 {
                0 => next(),
                // Buffer 0..4 (lent for accepts), random tag and code.
                1 => next() & 0x0000_0000_03ff_ffff,
                _ => (next() & 0xffff) | u64::from(ST_ACCEPTED) << 16 | (i % 4) << 24,
            };
            raw.write::<u64>(completions + 0xc0 + 16 * i as usize, w0)
                .unwrap();
            raw.write::<u64>(completions + 0xc8 + 16 * i as usize, next())
                .unwrap();
        }
        raw.write::<u32>(completions, (next() % 80) as u32).unwrap();
        for _ in 0..4 {
            match services.step(0, &Task) {
                Ok(_) => {}
                Err(ServiceError::Ring(e)) => assert!(
                    e.is_peer_fault() || e == ring_types::RingError::Full,
                    "case {case}: {e:?}"
                ),
                Err(ServiceError::Protocol) => {}
            }
        }
    }
}

#[test]
fn a_bulk_connection_gets_more_receives_and_keeps_its_bytes_in_order() {
    let (mut netd, mut services) = setup();
    netd.take("");
    assert!(netd.accept(0x100, 7));
    let data: Vec<u8> = (0..200_000u32).map(|b| (b * 13 + b / 251) as u8).collect();
    let mut delivered = 0;
    let mut most = 0;
    for round in 0..10_000 {
        services.step(round, &Task).unwrap();
        netd.take("");
        // Buffers of the connection netd holds: its receives and sends.
        let recvs = netd.recvs.get(&0x100).map_or(0, VecDeque::len);
        most = most.max(recvs + netd.sends.len());
        // Every receive parked gets a whole buffer, then the peer's close.
        while delivered < data.len() {
            let end = (delivered + 4096).min(data.len());
            if !netd.deliver(0x100, &data[delivered..end]) {
                break;
            }
            delivered = end;
        }
        if delivered == data.len() {
            while netd.deliver(0x100, &[]) {}
        }
        netd.queue_sends(if round % 3 == 0 { 5000 } else { 1500 });
        if netd.closed.contains(&0x100) {
            break;
        }
    }
    assert!(netd.closed.contains(&0x100), "closed at the end");
    // The close's completion.
    services.step(0, &Task).unwrap();
    assert_eq!(services.open(), 0);
    let got = netd.out.get(&0x100).map_or(&[][..], |v| &v[..]);
    assert!(
        got == &data[..],
        "{} of {} bytes, or out of order",
        got.len(),
        data.len()
    );
    assert!(most > 1, "at most {most} buffer(s) in netd at once");
    assert!(most <= 4, "{most} buffers in netd at once");
    let s = services.stats();
    assert_eq!((s.echo_done, s.echo_bytes), (1, 200_000));
}
