//! When the echo service signals netd: only for requests netd must see at
//! once (a send, or a receive buffer when netd held none), and only while
//! netd said it may sleep.

use mmio_types::{DmaRegion, FakeDma};
use ring_types::Desc;
use ring_types::dgram::{DgramLayout, DgramServer, Endpoint, OP_RECV, OP_SEND, ST_OK};
use udp_echo::Echo;

fn channel() -> (FakeDma, DmaRegion, DmaRegion) {
    let (fake, token) = FakeDma::new(DgramLayout::PAGES).expect("fake pages");
    let peer = fake.peer_token();
    (fake, DmaRegion::new(token), DmaRegion::new(peer))
}

#[test]
fn only_what_netd_must_see_at_once_signals() {
    let (_fake, a, b) = channel();
    let mut server = DgramServer::new(a).unwrap();
    assert!(server.prepare_sleep().unwrap(), "nothing lent yet");
    let mut echo = Echo::new(ring_types::dgram::DgramClient::new(b).unwrap()).unwrap();
    assert!(
        echo.must_signal(),
        "the first receive buffers: netd held none"
    );
    assert!(!echo.must_signal(), "told once");
    server.woke().unwrap();

    let mut leases = Vec::new();
    while let Some((desc, lease)) = server.take_request().unwrap() {
        assert_eq!(desc.code, OP_RECV);
        leases.push((desc, lease));
    }
    assert_eq!(leases.len(), 16, "every buffer lent for receiving");

    // A datagram arrives in one: the echo sends it back, which netd must
    // see at once.
    let from = Endpoint {
        addr: [10, 0, 2, 2],
        port: 4000,
    };
    let (desc, mut lease) = leases.pop().unwrap();
    server.write(&mut lease, 0, b"ping").unwrap();
    let done = Desc {
        code: ST_OK,
        len: 4,
        arg: from.to_arg(),
        ..desc
    };
    server.complete(lease, done).unwrap();
    assert!(server.prepare_sleep().unwrap());
    assert_eq!(echo.step().unwrap(), 1);
    assert!(echo.must_signal(), "a send while netd sleeps");
    server.woke().unwrap();
    let (send, lease) = server.take_request().unwrap().expect("the send");
    assert_eq!((send.code, send.len, send.arg), (OP_SEND, 4, from.to_arg()));
    let mut got = [0u8; 4];
    server.read(&lease, 0, &mut got).unwrap();
    assert_eq!(&got, b"ping", "sent from the buffer it arrived in");

    // The send completes: the buffer is lent for receiving again, which
    // can wait (netd still holds 15 receive buffers).
    server
        .complete(
            lease,
            Desc {
                code: ST_OK,
                ..send
            },
        )
        .unwrap();
    assert!(server.prepare_sleep().unwrap());
    assert_eq!(echo.step().unwrap(), 1);
    assert!(
        !echo.must_signal(),
        "a receive buffer netd does not need yet"
    );
    assert_eq!(echo.stats().received, 1);
    assert_eq!(echo.stats().sent, 1);
}
