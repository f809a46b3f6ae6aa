//! The stream relay on the fake device, with a hand-driven client: ids
//! are checked on every request (never given out, already closed, bits
//! that name nothing), malformed requests are refused one by one, sends
//! are queued in part when the socket has little room and held when it has
//! none, and a client that corrupts its ring is dropped while netd serves
//! on; a client of the second stream channel (TCP 8) names only its own
//! connections, and its drop leaves the first channel's services running.

#[path = "../../../drivers/virtio/tests/common/mod.rs"]
mod common;
#[path = "../../../drivers/virtio/tests/common/fake_net.rs"]
mod fake_net;
mod lab;

use lab::{FakeSystem, Lab, channel};
use netd::stream::StreamRelay;
use ring_types::stream::{
    ConnId, OP_CLOSE, OP_RECV, OP_SEND, OP_STATUS, ST_ACCEPTED, ST_GONE, ST_INVALID, ST_OK,
    ST_PEER_CLOSED, StreamClient, StreamLayout, parse_accepted_arg, send_arg,
};
use ring_types::{Buf, Desc};
use smoltcp::socket::tcp;

/// A lab whose stream channel has a hand-driven client.
struct Hand {
    lab: Lab,
    relay: StreamRelay,
    client: StreamClient,
    fake: mmio_types::FakeDma,
}

impl Hand {
    fn new() -> Hand {
        let mut lab = Lab::without_services();
        let (fake, a, b) = channel(StreamLayout::PAGES);
        let relay = StreamRelay::new(a, &mut lab.netd, 0).unwrap();
        Hand {
            lab,
            relay,
            client: StreamClient::new(b).unwrap(),
            fake,
        }
    }

    /// The hand-driven client on netd's second stream channel (TCP 8),
    /// while the services serve the first (TCP 7 and 80).
    fn second() -> Hand {
        let mut lab = Lab::new();
        let (fake, a, b) = channel(StreamLayout::PAGES);
        let relay = StreamRelay::new(a, &mut lab.netd, 1).unwrap();
        Hand {
            lab,
            relay,
            client: StreamClient::new(b).unwrap(),
            fake,
        }
    }

    fn submit(&mut self, tag: u16, code: u8, len: u32, arg: u64) {
        let buf = self.client.alloc().expect("a free buffer");
        self.submit_buf(tag, code, len, arg, buf);
    }

    fn submit_buf(&mut self, tag: u16, code: u8, len: u32, arg: u64, buf: Buf) {
        let desc = Desc {
            tag,
            code,
            len,
            arg,
        };
        self.client.submit(desc, buf).map_err(|(e, _)| e).unwrap();
    }

    /// Serves the relay (and the peer) for `ms` milliseconds, collecting
    /// completions, with their buffers' bytes.
    fn run(&mut self, ms: u64) -> Vec<(Desc, Vec<u8>)> {
        let mut got = Vec::new();
        for _ in 0..ms {
            self.relay.serve(&mut self.lab.netd, &FakeSystem).unwrap();
            self.lab.netd.flush(self.lab.now_ms);
            while let Some((desc, buf)) = self.client.poll().unwrap() {
                let mut bytes = vec![0; desc.len as usize];
                self.client.read(&buf, 0, &mut bytes).unwrap();
                got.push((desc, bytes));
                self.client.release(buf).unwrap();
            }
            self.lab.step();
        }
        got
    }

    /// A connection from the peer to `port`, reported to the client: the
    /// peer's socket and the id.
    fn accept(&mut self, port: u16, local_port: u16) -> (smoltcp::iface::SocketHandle, ConnId) {
        self.submit(1, OP_RECV, 0, 0);
        let h = self.lab.connect(port, local_port).expect("connected");
        let got = self.run(5);
        let [(desc, _)] = &got[..] else {
            panic!("one completion expected: {got:?}");
        };
        assert_eq!(desc.code, ST_ACCEPTED);
        let (id, p) = parse_accepted_arg(desc.arg).expect("an id and a port");
        assert_eq!(p, port);
        (h, id)
    }
}

#[test]
fn ids_are_checked_on_every_request() {
    let mut hand = Hand::new();
    let (peer, id) = hand.accept(7, 45_000);
    let never = ConnId::new(id.bits() ^ 0x200).unwrap();
    let bad = [
        (OP_RECV, 0, never.to_arg()),         // an id never given out
        (OP_RECV, 0, 1 << 32 | id.to_arg()),  // reserved bits
        (OP_SEND, 10, send_arg(never, 0)),    // an id never given out
        (OP_SEND, 0, send_arg(id, 0)),        // nothing to send
        (OP_SEND, 10, send_arg(id, 4090)),    // past the buffer's end
        (OP_SEND, 10, 1 << 48 | id.to_arg()), // reserved bits
        (OP_CLOSE, 0, never.to_arg()),        // an id never given out
        (OP_CLOSE, 0, 0),                     // no id
        (OP_STATUS, 0, 5),                    // reserved argument
        (9, 0, id.to_arg()),                  // unknown operation
        (OP_RECV, 0, u64::from(u32::MAX)),    // socket 255: none
    ];
    for (tag, (code, len, arg)) in bad.into_iter().enumerate() {
        hand.submit(tag as u16, code, len, arg);
    }
    let got = hand.run(2);
    let answers: Vec<_> = got.iter().map(|(d, _)| (d.tag, d.code)).collect();
    let want: Vec<_> = (0..bad.len() as u16).map(|t| (t, ST_INVALID)).collect();
    assert_eq!(answers, want);
    assert_eq!(hand.relay.stats().refused, bad.len() as u64);

    // The connection itself is untouched: it echoes through the client.
    hand.lab
        .sockets
        .get_mut::<tcp::Socket>(peer)
        .send_slice(b"hello")
        .unwrap();
    hand.submit(20, OP_RECV, 0, id.to_arg());
    let got = hand.run(5);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0.code, &got[0].1[..]), (ST_OK, &b"hello"[..]));

    // Closed, the id is void: every request on it is refused, and the
    // socket serves a new connection under another id.
    hand.submit(21, OP_CLOSE, 0, id.to_arg());
    let got = hand.run(2);
    assert_eq!(got[0].0.code, ST_OK);
    hand.submit(22, OP_RECV, 0, id.to_arg());
    hand.submit(23, OP_SEND, 1, send_arg(id, 0));
    hand.submit(24, OP_CLOSE, 0, id.to_arg());
    let got = hand.run(2);
    let codes: Vec<_> = got.iter().map(|(d, _)| d.code).collect();
    assert_eq!(codes, [ST_INVALID; 3]);
    hand.lab.sockets.remove(peer);
    hand.lab.run_for(100);
    let (_, again) = hand.accept(7, 45_001);
    assert_ne!(again, id, "a new connection gets a new id");
}

#[test]
fn sends_are_queued_in_part_and_held_without_room_in_order() {
    let mut hand = Hand::new();
    // Fill the big sockets first: a small one (2 KiB) takes this one.
    let mut held = Vec::new();
    for i in 0..4 {
        held.push(hand.accept(7, 46_000 + i));
    }
    let (peer, id) = hand.accept(7, 46_100);
    let data: Vec<u8> = (0..4096u32).map(|i| (i * 7 + i / 13) as u8).collect();
    let mut buf = hand.client.alloc().unwrap();
    hand.client.write(&mut buf, 0, &data).unwrap();
    hand.submit_buf(1, OP_SEND, 4096, send_arg(id, 0), buf);
    let got = hand.run(1);
    let (first, _) = &got[0];
    assert_eq!(first.code, ST_OK);
    let queued = first.len as usize;
    assert!(
        (1..4096).contains(&queued),
        "a 2 KiB socket queues part of 4 KiB: {queued}"
    );
    // The rest, sent again from where netd stopped, before netd saw an
    // acknowledgement: no room, so it is held, not answered with 0.
    let mut buf = hand.client.alloc().unwrap();
    hand.client.write(&mut buf, 0, &data).unwrap();
    hand.submit_buf(
        2,
        OP_SEND,
        (4096 - queued) as u32,
        send_arg(id, queued as u16),
        buf,
    );
    hand.relay.serve(&mut hand.lab.netd, &FakeSystem).unwrap();
    assert_eq!(hand.relay.parked(), 1, "the send is held");
    assert!(hand.client.poll().unwrap().is_none());
    // As the peer reads and acknowledges, the rest is queued, in order.
    let mut got = hand.run(1);
    let mut received = Vec::new();
    let mut sent = queued;
    for _ in 0..2000 {
        let s = hand.lab.sockets.get_mut::<tcp::Socket>(peer);
        let mut b = [0u8; 4096];
        while s.can_recv() {
            let n = s.recv_slice(&mut b).unwrap();
            received.extend_from_slice(&b[..n]);
        }
        for (d, _) in got.drain(..) {
            assert_eq!((d.tag, d.code), (2, ST_OK));
            sent += d.len as usize;
            if sent < 4096 {
                let mut buf = hand.client.alloc().unwrap();
                hand.client.write(&mut buf, 0, &data).unwrap();
                let rest = (4096 - sent) as u32;
                hand.submit_buf(2, OP_SEND, rest, send_arg(id, sent as u16), buf);
            }
        }
        if received.len() == data.len() {
            break;
        }
        got = hand.run(1);
    }
    assert!(
        received == data,
        "{} of 4096 bytes, in order",
        received.len()
    );
    assert!(hand.relay.stats().bytes_out == 4096);
}

#[test]
fn the_peer_closing_and_resetting_is_reported() {
    let mut hand = Hand::new();
    let (a, id_a) = hand.accept(80, 47_000);
    let (b, id_b) = hand.accept(80, 47_001);
    hand.lab
        .sockets
        .get_mut::<tcp::Socket>(a)
        .send_slice(b"bye")
        .unwrap();
    hand.lab.sockets.get_mut::<tcp::Socket>(a).close();
    hand.lab.sockets.get_mut::<tcp::Socket>(b).abort();
    hand.lab.run_for(5);
    for (tag, id) in [(1, id_a), (2, id_a), (3, id_b)] {
        hand.submit(tag, OP_RECV, 0, id.to_arg());
    }
    let got = hand.run(3);
    let answers: Vec<_> = got
        .iter()
        .map(|(d, bytes)| (d.tag, d.code, bytes.clone()))
        .collect();
    assert_eq!(
        answers,
        [
            (1, ST_OK, b"bye".to_vec()),
            (2, ST_PEER_CLOSED, vec![]),
            (3, ST_GONE, vec![])
        ]
    );
    // A send after the reset: gone too; the ids stay the client's until
    // it closes them.
    hand.submit(4, OP_SEND, 1, send_arg(id_b, 0));
    hand.submit(5, OP_CLOSE, 0, id_b.to_arg());
    hand.submit(6, OP_CLOSE, 0, id_a.to_arg());
    let got = hand.run(3);
    let codes: Vec<_> = got.iter().map(|(d, _)| (d.tag, d.code)).collect();
    assert_eq!(codes, [(4, ST_GONE), (5, ST_OK), (6, ST_OK)]);
    assert_eq!(hand.relay.open(), 0);
}

#[test]
fn netd_reports_its_status() {
    let mut hand = Hand::new();
    hand.submit(1, OP_STATUS, 0, 0);
    let got = hand.run(1);
    assert_eq!(got[0].0.code, ST_OK);
    let text = String::from_utf8(got[0].1.clone()).unwrap();
    for want in [
        "address: 10.0.2.15/24",
        "link: virtio-net",
        "udp echo cost: ",
        "tcp :7 :80 relayed to a service task: 0 connections",
        "capabilities of netd",
    ] {
        assert!(text.contains(want), "no `{want}` in\n{text}");
    }
}

#[test]
fn a_client_that_corrupts_its_ring_is_dropped_and_netd_serves_on() {
    let mut hand = Hand::new();
    let (peer, id) = hand.accept(7, 48_000);
    hand.submit(1, OP_RECV, 0, id.to_arg());
    hand.submit(2, OP_RECV, 0, 0);
    hand.run(1);
    assert_eq!(hand.relay.parked(), 2);
    // Garbage entries, then the request ring's head far past its tail.
    let mut raw = mmio_types::DmaRegion::new(hand.fake.peer_token());
    for i in 0..16 {
        raw.write::<u64>(0xc0 + 8 * i, 0x9e37_79b9_7f4a_7c15u64.rotate_left(i as u32))
            .unwrap();
    }
    raw.write::<u32>(0, 1_000).unwrap();
    let err = hand
        .relay
        .serve(&mut hand.lab.netd, &FakeSystem)
        .unwrap_err();
    assert!(err.is_peer_fault(), "{err:?}");
    let Hand { mut lab, relay, .. } = hand;
    relay.drop_client(&mut lab.netd);
    lab.netd.flush(lab.now_ms);
    // Its connection is reset and its ports no longer listen.
    let reset = lab.run_until(1_000, |lab| {
        !lab.sockets.get_mut::<tcp::Socket>(peer).is_open()
    });
    assert!(reset, "the client's connection is aborted");
    assert!(lab.connect(7, 48_001).is_none(), "tcp :7 refuses");
    // netd's own services go on.
    assert_eq!(
        lab.udp_echo(b"still here", 48_002).as_deref(),
        Some(&b"still here"[..])
    );
}

#[test]
fn a_second_stream_channel_serves_its_port_and_its_drop_spares_the_first() {
    let mut hand = Hand::second();
    // A connection to TCP 8 is reported to the second channel's client, on
    // its port.
    let (peer, id) = hand.accept(8, 49_001);
    hand.submit(1, OP_RECV, 0, id.to_arg());
    hand.run(1);
    // The second channel's client cannot name the first channel's sockets:
    // an id made up for socket 0 is void.
    hand.submit(2, OP_CLOSE, 0, 1 << 8);
    let got = hand.run(1);
    assert!(
        got.iter().any(|(d, _)| d.tag == 2 && d.code == ST_INVALID),
        "{got:?}"
    );
    // Garbage entries, then the request ring's head far past its tail.
    let mut raw = mmio_types::DmaRegion::new(hand.fake.peer_token());
    for i in 0..16 {
        raw.write::<u64>(0xc0 + 8 * i, 0x2545_f491_4f6c_dd1du64.rotate_left(i as u32))
            .unwrap();
    }
    raw.write::<u32>(0, 0x7fff_fff0).unwrap();
    let err = hand
        .relay
        .serve(&mut hand.lab.netd, &FakeSystem)
        .unwrap_err();
    assert!(err.is_peer_fault(), "{err:?}");
    let Hand { mut lab, relay, .. } = hand;
    relay.drop_client(&mut lab.netd);
    lab.netd.flush(lab.now_ms);
    let reset = lab.run_until(1_000, |lab| {
        !lab.sockets.get_mut::<tcp::Socket>(peer).is_open()
    });
    assert!(reset, "the dropped client's connection is aborted");
    assert!(lab.connect(8, 49_002).is_none(), "tcp :8 refuses");
    // The first channel's services go on.
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(lab.tcp_echo(&data, 49_003).as_deref(), Some(&data[..]));
    assert_eq!(
        lab.udp_echo(b"still here", 49_004).as_deref(),
        Some(&b"still here"[..])
    );
}
