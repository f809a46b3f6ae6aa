//! Both ends honest: requests and buffers go round, data travels in the
//! buffers, and the sleeping flag says when to signal.

mod common;

use mmio_types::DmaRegion;
use ring_types::{Client, Desc, Layout, RingError, Server};

type L = Layout<16, 16, 4096>;

#[test]
fn requests_and_buffers_go_round() {
    let (_fake, a, b) = common::channel(L {});
    let mut client = Client::<16, 16, 4096>::new(a).unwrap();
    let mut server = Server::<16, 16, 4096>::new(b).unwrap();
    for round in 0..5u16 {
        for tag in 0..16u16 {
            let mut buf = client.alloc().expect("a free buffer");
            client
                .write(&mut buf, 0, &[tag as u8 ^ round as u8; 64])
                .unwrap();
            let desc = Desc {
                tag,
                code: 1,
                len: 64,
                arg: u64::from(tag) * 8,
            };
            client.submit(desc, buf).unwrap();
        }
        assert!(client.alloc().is_none(), "all 16 lent");
        assert_eq!(client.in_flight(), 16);
        let mut leases = Vec::new();
        while let Some((desc, lease)) = server.take_request().unwrap() {
            let mut got = [0u8; 64];
            server.read(&lease, 0, &mut got).unwrap();
            assert_eq!(got, [desc.tag as u8 ^ round as u8; 64]);
            leases.push((desc, lease));
        }
        assert_eq!(server.leased(), 16);
        for (desc, mut lease) in leases.into_iter().rev() {
            server.write(&mut lease, 8, &[0xa5; 8]).unwrap();
            server.complete(lease, Desc { code: 0, ..desc }).unwrap();
        }
        assert_eq!(server.leased(), 0);
        let mut seen = 0;
        while let Some((desc, buf)) = client.poll().unwrap() {
            let mut got = [0u8; 16];
            client.read(&buf, 0, &mut got).unwrap();
            assert_eq!(&got[8..], &[0xa5; 8]);
            assert_eq!(desc.code, 0);
            client.release(buf).unwrap();
            seen += 1;
        }
        assert_eq!(seen, 16);
        assert_eq!(client.in_flight(), 0);
    }
}

#[test]
fn a_full_ring_gives_the_buffer_back_and_tokens_stay_with_their_channel() {
    let (_f1, a, _b) = common::channel(Layout::<2, 2, 512> {});
    let (_f2, c, _d) = common::channel(Layout::<2, 2, 512> {});
    let mut one = Client::<2, 2, 512>::new(a).unwrap();
    let mut two = Client::<2, 2, 512>::new(c).unwrap();
    let foreign = two.alloc().unwrap();
    let (e, foreign) = one.submit(Desc::default(), foreign).unwrap_err();
    assert_eq!(e, RingError::OutOfBuffer, "another channel's buffer");
    let mut foreign = foreign;
    assert_eq!(
        one.write(&mut foreign, 0, &[1]),
        Err(RingError::OutOfBuffer)
    );
    let foreign = one.release(foreign).unwrap_err();
    two.release(foreign).unwrap();
    let x = one.alloc().unwrap();
    let too_long = Desc {
        len: 513,
        ..Desc::default()
    };
    let (e, x) = one.submit(too_long, x).unwrap_err();
    assert_eq!(e, RingError::OutOfBuffer);
    one.submit(Desc::default(), x).unwrap();
    let y = one.alloc().unwrap();
    one.submit(Desc::default(), y).unwrap();
    assert!(one.alloc().is_none());
}

#[test]
fn too_small_memory_is_refused() {
    let (_f, a, _b) = common::channel(Layout::<2, 2, 512> {});
    assert_eq!(
        Client::<16, 16, 4096>::new(a).unwrap_err(),
        RingError::TooSmall {
            need: 17 * 4096,
            have: 2 * 4096
        }
    );
}

#[test]
fn the_sleeping_flag_asks_for_a_signal_only_while_the_consumer_may_block() {
    let (_fake, a, b) = common::channel(L {});
    let mut client = Client::<16, 16, 4096>::new(a).unwrap();
    let mut server = Server::<16, 16, 4096>::new(b).unwrap();
    assert!(!client.server_sleeping(), "awake at start");
    assert!(server.prepare_sleep().unwrap(), "nothing to do: may block");
    assert!(client.server_sleeping());
    let buf = client.alloc().unwrap();
    client.submit(Desc::default(), buf).unwrap();
    assert!(client.server_sleeping(), "so the client signals");
    server.woke().unwrap();
    assert!(!client.server_sleeping());
    let buf = client.alloc().unwrap();
    client.submit(Desc::default(), buf).unwrap();
    assert!(
        !server.prepare_sleep().unwrap(),
        "requests arrived: do not block"
    );
    assert!(!client.server_sleeping(), "the flag was taken back");
}

#[test]
fn a_server_starts_over_for_a_restarted_client_only_with_every_lease_back() {
    let (fake, a, b) = common::channel(L {});
    let mut client = Client::<16, 16, 4096>::new(a).unwrap();
    let mut server = Server::<16, 16, 4096>::new(b).unwrap();
    for tag in 0..4u16 {
        let buf = client.alloc().unwrap();
        let desc = Desc {
            tag,
            code: 1,
            len: 512,
            arg: 0,
        };
        client.submit(desc, buf).unwrap();
    }
    let (_, first) = server.take_request().unwrap().unwrap();
    let (_, second) = server.take_request().unwrap().unwrap();
    // The client's life ends here, with two requests at the "disk".
    assert_eq!(server.start_over(), Err(RingError::Leased(2)));
    server.reclaim(first);
    assert_eq!(server.start_over(), Err(RingError::Leased(1)));
    server.reclaim(second);
    // The channel is reset: zeroed, and mapped by the client's new life.
    let len = L::PAGES * 4096;
    fake.write(fake.device_addr(), &vec![0u8; len]);
    server.start_over().unwrap();
    let mut client = Client::<16, 16, 4096>::new(DmaRegion::new(fake.peer_token())).unwrap();
    for round in 0..3u16 {
        for tag in 0..16u16 {
            let buf = client.alloc().expect("every buffer is free again");
            let desc = Desc {
                tag,
                code: 1,
                len: 512,
                arg: u64::from(round),
            };
            client.submit(desc, buf).unwrap();
        }
        let mut n = 0;
        while let Some((desc, lease)) = server.take_request().unwrap() {
            assert_eq!(desc.arg, u64::from(round), "nothing of the old life");
            server.complete(lease, Desc { code: 0, ..desc }).unwrap();
            n += 1;
        }
        assert_eq!(n, 16);
        while let Some((_, buf)) = client.poll().unwrap() {
            client.release(buf).unwrap();
        }
    }
}
