//! Relays on the fake device: a peer's datagrams to a relay port reach a
//! service task's logic (`udp_echo::Echo`) through a channel and come back;
//! malformed requests are refused; a client that corrupts its ring is
//! dropped while netd goes on serving.

#[path = "../../../drivers/virtio/tests/common/mod.rs"]
mod common;
#[path = "../../../drivers/virtio/tests/common/fake_net.rs"]
mod fake_net;
mod lab;

use lab::{Lab, PEER};
use mmio_types::{DmaRegion, FakeDma};
use netd::relay::{Relay, Served};
use netd::stack::RELAY_PORTS;
use ring_types::Desc;
use ring_types::dgram::{DgramClient, DgramLayout, Endpoint, OP_RECV, OP_SEND, ST_INVALID, ST_OK};
use udp_echo::Echo;

/// A channel's memory seen by both ends, and a third party's raw view.
fn channel() -> (FakeDma, DmaRegion, DmaRegion) {
    let (fake, token) = FakeDma::new(DgramLayout::PAGES).expect("fake pages");
    let peer = fake.peer_token();
    (fake, DmaRegion::new(token), DmaRegion::new(peer))
}

#[test]
fn datagrams_to_a_relay_port_are_echoed_by_the_service() {
    let mut lab = Lab::new();
    let (_fake, netd_end, task_end) = channel();
    let mut relay = Relay::new(netd_end, 0).unwrap();
    let mut echo = Echo::new(DgramClient::new(task_end).unwrap()).unwrap();
    for (i, len) in [1usize, 100, 1472, 512, 0].into_iter().enumerate() {
        let payload: Vec<u8> = (0..len).map(|b| (b * 3 + i) as u8).collect();
        let got = lab.udp_exchange(&payload, 50_000 + i as u16, RELAY_PORTS[0], |lab| {
            relay.serve(&mut lab.netd).unwrap();
            echo.step().unwrap();
            // As netd's task does: the answer taken, and sent by egress
            // passes alone.
            let served = relay.serve(&mut lab.netd).unwrap();
            lab.netd.send_queued(lab.now_ms, served.sent);
        });
        assert_eq!(got.as_deref(), Some(&payload[..]), "{len} bytes");
    }
    let s = echo.stats();
    assert_eq!((s.received, s.sent, s.refused), (5, 5, 0));
    let n = lab.netd.stats();
    assert_eq!((n.relay_received, n.relay_sent, n.relay_dropped), (5, 5, 0));
    assert_eq!(n.udp_datagrams, 0, "netd's own echo answered nothing");
    assert_eq!(relay.parked(), 16, "every buffer lent for receiving again");
}

#[test]
fn malformed_requests_are_refused_one_by_one() {
    let mut lab = Lab::new();
    let (_fake, netd_end, task_end) = channel();
    let mut relay = Relay::new(netd_end, 1).unwrap();
    let mut client = DgramClient::new(task_end).unwrap();
    let peer = Endpoint {
        addr: PEER.octets(),
        port: 9,
    };
    let bad = [
        (OP_SEND, 10, 0),                       // no endpoint
        (OP_SEND, 10, 1 << 48 | peer.to_arg()), // bits above the endpoint
        (OP_SEND, 1473, peer.to_arg()),         // over a datagram
        (9, 10, peer.to_arg()),                 // unknown operation
    ];
    for (tag, (code, len, arg)) in bad.into_iter().enumerate() {
        let buf = client.alloc().unwrap();
        let desc = Desc {
            tag: tag as u16,
            code,
            len,
            arg,
        };
        client.submit(desc, buf).map_err(|(e, _)| e).unwrap();
    }
    let good = client.alloc().unwrap();
    let desc = Desc {
        tag: 99,
        code: OP_SEND,
        len: 10,
        arg: peer.to_arg(),
    };
    client.submit(desc, good).map_err(|(e, _)| e).unwrap();
    assert_eq!(
        relay.serve(&mut lab.netd),
        Ok(Served {
            work: 5,
            sent: 1,
            wake_client: true
        })
    );
    let mut answers = Vec::new();
    while let Some((desc, buf)) = client.poll().unwrap() {
        answers.push((desc.tag, desc.code));
        client.release(buf).unwrap();
    }
    assert_eq!(
        answers,
        [
            (0, ST_INVALID),
            (1, ST_INVALID),
            (2, ST_INVALID),
            (3, ST_INVALID),
            (99, ST_OK)
        ]
    );
    assert_eq!(lab.netd.stats().relay_sent, 1);
}

#[test]
fn a_client_that_corrupts_its_ring_is_dropped_and_netd_serves_on() {
    let mut lab = Lab::new();
    let (fake, netd_end, task_end) = channel();
    let mut relay = Relay::new(netd_end, 0).unwrap();
    let mut client = DgramClient::new(task_end).unwrap();
    for _ in 0..3 {
        let buf = client.alloc().unwrap();
        let desc = Desc {
            tag: 1,
            code: OP_RECV,
            len: 0,
            arg: 0,
        };
        client.submit(desc, buf).map_err(|(e, _)| e).unwrap();
    }
    assert_eq!(
        relay.serve(&mut lab.netd),
        Ok(Served {
            work: 3,
            sent: 0,
            wake_client: false
        })
    );
    assert_eq!(relay.parked(), 3);
    // The request ring's head (offset 0) jumps far past its tail.
    let mut raw = DmaRegion::new(fake.peer_token());
    raw.write::<u32>(0, 1_000).unwrap();
    let err = relay.serve(&mut lab.netd).unwrap_err();
    assert!(err.is_peer_fault(), "{err:?}");
    relay.drop_client();
    // netd's own services go on.
    assert_eq!(
        lab.udp_echo(b"still here", 40_000).as_deref(),
        Some(&b"still here"[..])
    );
}

#[test]
fn queued_datagrams_go_out_by_egress_passes_alone() {
    let mut lab = Lab::new();
    // The peer's address is known once it has talked to netd.
    assert_eq!(
        lab.udp_echo(b"hello", 40_001).as_deref(),
        Some(&b"hello"[..])
    );
    let to = Endpoint {
        addr: PEER.octets(),
        port: 9,
    };
    for n in [0usize, 1, 3] {
        for k in 0..n {
            assert!(lab.netd.relay_send(0, &[k as u8; 40], to));
        }
        let before = lab.netd.link_stats().tx_frames;
        lab.netd.send_queued(lab.now_ms, n);
        assert_eq!(
            lab.netd.link_stats().tx_frames - before,
            n as u64,
            "{n} datagrams queued, as many frames sent at once"
        );
    }
    // Nothing queued: nothing sent.
    let before = lab.netd.link_stats();
    lab.netd.send_queued(lab.now_ms, 2);
    assert_eq!(lab.netd.link_stats(), before);
    assert_eq!(lab.netd.stats().relay_sent, 4);
}
