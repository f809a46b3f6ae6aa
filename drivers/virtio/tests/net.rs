//! The virtio-net driver against a fake network device in RAM.

mod common;
#[path = "common/fake_net.rs"]
mod fake_net;

use fake_net::{FakeNet, MAC};
use nexus_virtio::net::{HDR_LEN, MAX_FRAME, NetFeatures, queue_bytes};
use nexus_virtio::{DeviceStatus, Features, InitError, NetError, VirtioNet};

/// Pages of the receive and transmit regions in most tests.
const RX_PAGES: usize = 4;
const TX_PAGES: usize = 2;

fn driver(fake: &FakeNet) -> VirtioNet<FakeNet> {
    let rx = fake.alloc(RX_PAGES);
    let tx = fake.alloc(TX_PAGES);
    VirtioNet::new(fake.clone(), rx, tx).expect("init")
}

fn init_error(fake: &FakeNet) -> NetError {
    let rx = fake.alloc(1);
    let tx = fake.alloc(1);
    VirtioNet::new(fake.clone(), rx, tx)
        .expect_err("init must fail")
        .error
}

fn status(fake: &FakeNet) -> DeviceStatus {
    fake.state().status
}

/// A frame of `len` bytes whose content depends on `seed`.
fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn init_follows_the_status_sequence_and_reads_the_mac() {
    let fake = FakeNet::new();
    let net = driver(&fake);
    let s = fake.state();
    assert_eq!(s.status_writes, common::INIT_SEQUENCE);
    assert_eq!(net.mac(), MAC);
    // Only VERSION_1 and MAC: no offloads, no mergeable buffers, no status.
    let want = Features::VERSION_1.bits() | NetFeatures::MAC.bits();
    assert_eq!(net.features().bits(), want);
    assert_eq!(s.negotiated(), want);
    assert_eq!((net.rx_queue_size(), net.tx_queue_size()), (8, 4));
    assert_eq!(s.queues[0].unwrap().size, 8);
    assert_eq!(s.queues[1].unwrap().size, 4);
    assert_eq!(s.notifies, [1, 0], "the posted receive buffers announced");
    drop(s);
    assert_eq!(fake.rx_posted(), 8, "every receive buffer posted");
}

#[test]
fn queue_sizes_follow_memory_and_num_max() {
    assert!(queue_bytes(2).unwrap() <= 4096);
    assert!(queue_bytes(4).unwrap() <= 2 * 4096 && queue_bytes(4).unwrap() > 4096);
    assert!(queue_bytes(8).unwrap() <= 4 * 4096);
    let fake = FakeNet::with(|b| b.num_max = [2, 1]);
    let net = driver(&fake);
    assert_eq!((net.rx_queue_size(), net.tx_queue_size()), (2, 1));
}

#[test]
fn send_hands_the_frame_after_a_zeroed_header() {
    let fake = FakeNet::new();
    let mut net = driver(&fake);
    let f = frame(60, 7);
    net.send(&f).unwrap();
    let big = frame(MAX_FRAME, 9);
    net.send(&big).unwrap();
    let s = fake.state();
    assert_eq!(s.sent.len(), 2);
    assert_eq!(s.sent[0].header, [0; HDR_LEN]);
    assert_eq!(s.sent[0].frame, f);
    assert_eq!(s.sent[1].header, [0; HDR_LEN]);
    assert_eq!(s.sent[1].frame, big);
    assert_eq!(s.notifies[1], 2);
}

#[test]
fn send_refuses_empty_and_oversized_frames() {
    let fake = FakeNet::new();
    let mut net = driver(&fake);
    assert_eq!(net.send(&[]), Err(NetError::BadFrameLength(0)));
    let long = frame(MAX_FRAME + 1, 0);
    assert_eq!(
        net.send(&long),
        Err(NetError::BadFrameLength(MAX_FRAME + 1))
    );
    assert!(fake.state().sent.is_empty());
}

#[test]
#[cfg_attr(miri, ignore = "slow under Miri")]
fn many_sends_reuse_the_transmit_buffers() {
    let fake = FakeNet::new();
    let mut net = driver(&fake);
    for i in 0..20u8 {
        net.send(&frame(64 + usize::from(i), i)).unwrap();
    }
    let s = fake.state();
    assert_eq!(s.sent.len(), 20);
    for (i, sent) in s.sent.iter().enumerate() {
        assert_eq!(sent.frame, frame(64 + i, i as u8));
        assert_eq!(sent.header, [0; HDR_LEN]);
    }
}

#[test]
fn a_full_transmit_queue_is_a_typed_error() {
    let fake = FakeNet::with(|b| b.hold_tx = true);
    let mut net = driver(&fake);
    for i in 0..4 {
        net.send(&frame(100, i)).unwrap();
    }
    assert_eq!(net.tx_in_flight(), 4);
    assert_eq!(net.send(&frame(100, 4)), Err(NetError::QueueFull));
    fake.process_tx();
    net.send(&frame(100, 5)).unwrap();
    assert_eq!(net.tx_in_flight(), 1);
    fake.process_tx();
    let s = fake.state();
    let seeds: Vec<u8> = s.sent.iter().map(|f| f.frame[0]).collect();
    assert_eq!(seeds, [0, 1, 2, 3, 5]);
}

#[test]
fn an_injected_frame_is_received_and_its_buffer_reposted() {
    let fake = FakeNet::new();
    let mut net = driver(&fake);
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(net.poll_recv(&mut buf), None);
    let f = frame(342, 3);
    assert!(fake.inject(&f));
    assert_eq!(fake.rx_posted(), 7);
    assert_eq!(net.poll_recv(&mut buf), Some(Ok(342)));
    assert_eq!(&buf[..342], &f[..]);
    assert_eq!(fake.rx_posted(), 8, "the buffer is posted again");
    assert_eq!(net.poll_recv(&mut buf), None);
}

#[test]
#[cfg_attr(miri, ignore = "slow under Miri")]
fn receiving_wraps_around_the_queue() {
    let fake = FakeNet::new();
    let mut net = driver(&fake);
    let mut buf = [0u8; MAX_FRAME];
    for round in 0..5u8 {
        // Fill every buffer, then drain them all.
        let frames: Vec<_> = (0..8u8)
            .map(|i| frame(60 + usize::from(i) * 100, round * 8 + i))
            .collect();
        for f in &frames {
            assert!(fake.inject(f));
        }
        assert!(!fake.inject(&frames[0]), "no buffer left");
        for f in &frames {
            assert_eq!(net.poll_recv(&mut buf), Some(Ok(f.len())));
            assert_eq!(&buf[..f.len()], &f[..]);
        }
        assert_eq!(net.poll_recv(&mut buf), None);
    }
    assert_eq!(fake.rx_posted(), 8);
}

#[test]
fn a_frame_longer_than_the_callers_buffer_is_dropped() {
    let fake = FakeNet::new();
    let mut net = driver(&fake);
    assert!(fake.inject(&frame(200, 1)));
    let mut small = [0u8; 100];
    assert_eq!(
        net.poll_recv(&mut small),
        Some(Err(NetError::BufferTooSmall(200)))
    );
    assert_eq!(fake.rx_posted(), 8);
    assert!(fake.inject(&frame(50, 2)));
    assert_eq!(net.poll_recv(&mut small), Some(Ok(50)));
}

#[test]
#[cfg_attr(miri, ignore = "slow under Miri")]
fn a_bad_receive_length_is_reported_and_the_driver_goes_on() {
    for bad in [3, (HDR_LEN + MAX_FRAME + 1) as u32] {
        let fake = FakeNet::with(|b| b.rx_used_len = Some(bad));
        let mut net = driver(&fake);
        let mut buf = [0u8; MAX_FRAME];
        assert!(fake.inject(&frame(80, 1)));
        assert_eq!(
            net.poll_recv(&mut buf),
            Some(Err(NetError::BadUsedLen(bad)))
        );
        assert_eq!(fake.rx_posted(), 8);
        fake.state().behaviour.rx_used_len = None;
        assert!(fake.inject(&frame(80, 1)));
        assert_eq!(net.poll_recv(&mut buf), Some(Ok(80)));
    }
}

#[test]
fn a_bogus_used_id_on_receive_resets_the_device() {
    let fake = FakeNet::with(|b| b.used_id = Some(77));
    let mut net = driver(&fake);
    let mut buf = [0u8; MAX_FRAME];
    assert!(fake.inject(&frame(80, 1)));
    assert_eq!(net.poll_recv(&mut buf), Some(Err(NetError::BadUsedId(77))));
    assert_eq!(status(&fake), DeviceStatus::FAILED);
    assert!(fake.state().queues.iter().all(Option::is_none), "reset");
    assert_eq!(net.poll_recv(&mut buf), Some(Err(NetError::Broken)));
    assert_eq!(net.send(&frame(60, 0)), Err(NetError::Broken));
}

#[test]
fn a_bogus_used_id_on_transmit_is_an_error() {
    let fake = FakeNet::with(|b| b.used_id = Some(3 << 16));
    let mut net = driver(&fake);
    net.send(&frame(60, 0)).unwrap();
    assert_eq!(net.send(&frame(60, 1)), Err(NetError::BadUsedId(3 << 16)));
    assert_eq!(status(&fake), DeviceStatus::FAILED);
    assert_eq!(net.send(&frame(60, 2)), Err(NetError::Broken));
    assert_eq!(fake.state().sent.len(), 1);
}

#[test]
fn a_device_without_mac_is_refused() {
    let fake = FakeNet::with(|b| b.offered = Features::VERSION_1.bits());
    assert_eq!(init_error(&fake), NetError::NoMac);
    assert_eq!(
        init_error(&fake).to_string(),
        "the device offers no MAC address (VIRTIO_NET_F_MAC)"
    );
    assert!(status(&fake).contains(DeviceStatus::FAILED));
    assert!(fake.state().queues.iter().all(Option::is_none));
}

#[test]
fn a_device_without_version_1_is_refused() {
    let fake = FakeNet::with(|b| b.offered = NetFeatures::MAC.bits());
    assert_eq!(init_error(&fake), NetError::Init(InitError::NoVersion1));
    assert!(status(&fake).contains(DeviceStatus::FAILED));
    assert!(!status(&fake).contains(DeviceStatus::FEATURES_OK));
}

#[test]
fn another_device_is_left_untouched() {
    let fake = FakeNet::with(|b| b.device_id = 2);
    assert_eq!(init_error(&fake), NetError::Init(InitError::WrongDevice(2)));
    assert!(fake.state().status_writes.is_empty());
}

#[test]
fn a_missing_transmit_queue_is_refused() {
    let fake = FakeNet::with(|b| b.num_max = [256, 0]);
    assert_eq!(
        init_error(&fake),
        NetError::Init(InitError::QueueUnavailable)
    );
    assert!(status(&fake).contains(DeviceStatus::FAILED));
}

#[test]
fn into_parts_resets_the_device() {
    let fake = FakeNet::new();
    let net = driver(&fake);
    let (_, rx, tx) = net.into_parts();
    assert_eq!((rx.len(), tx.len()), (RX_PAGES * 4096, TX_PAGES * 4096));
    assert!(status(&fake).is_empty());
}

#[test]
fn the_mac_is_read_from_the_config_space_of_the_window() {
    let (dev, token) = mmio_types::FakeDevice::new(4096);
    let w = nexus_virtio::VirtioMmioWindow::from_token(token).expect("4 KiB token");
    for (i, b) in MAC.iter().enumerate() {
        dev.write_u8(0x100 + i, *b);
    }
    dev.write_u16(0x106, 1);
    assert_eq!(nexus_virtio::net::mac(&w), MAC);
    use nexus_virtio::NetTransport;
    assert_eq!(w.net_mac(), MAC);
}
