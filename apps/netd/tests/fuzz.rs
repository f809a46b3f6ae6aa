//! Bad input never hurts netd: random frames, mutated real frames
//! (truncated, bytes flipped, bad checksums), frames the device reports
//! with impossible lengths, SYNs to every port and half-open connections
//! go into the stack through the fake device; it must never panic, never
//! give up on the device, and still echo correctly afterwards.

#[path = "../../../drivers/virtio/tests/common/mod.rs"]
mod common;
#[path = "../../../drivers/virtio/tests/common/fake_net.rs"]
mod fake_net;
mod lab;

use lab::Lab;
use nexus_virtio::net::{BUF_LEN, HDR_LEN, MAX_FRAME};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Frames per generated case, and cases per run: 100,000 frames.
const FRAMES_PER_CASE: usize = 1_000;
const CASES: u32 = 100;

/// One bad input.
#[derive(Clone, Debug)]
enum Input {
    /// Random bytes as a frame.
    Random(Vec<u8>),
    /// A real frame (by index) with bytes replaced at some positions.
    Flipped(usize, Vec<(usize, u8)>),
    /// A real frame cut short.
    Truncated(usize, usize),
    /// A real frame with bytes appended (longer than its headers say).
    Padded(usize, Vec<u8>),
    /// The device reports this many bytes for the buffer (past the buffer,
    /// or shorter than the virtio header).
    BadLength(u32),
}

fn input(templates: usize) -> impl Strategy<Value = Input> {
    let t = 0..templates;
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..=MAX_FRAME).prop_map(Input::Random),
        (
            t.clone(),
            prop::collection::vec((0..MAX_FRAME, any::<u8>()), 1..6)
        )
            .prop_map(|(i, f)| Input::Flipped(i, f)),
        (t.clone(), 0..MAX_FRAME).prop_map(|(i, n)| Input::Truncated(i, n)),
        (t, prop::collection::vec(any::<u8>(), 1..200)).prop_map(|(i, p)| Input::Padded(i, p)),
        prop_oneof![0..HDR_LEN as u32, (BUF_LEN as u32 + 1)..u32::MAX].prop_map(Input::BadLength),
    ]
}

/// Real frames of every kind the peer sends: ARP, TCP handshakes, data and
/// closes to ports 7 and 80, UDP to port 7.
fn templates(lab: &mut Lab) -> Vec<Vec<u8>> {
    lab.wire.recorded = Some(Vec::new());
    lab.tcp_echo(b"template data", 44_000).expect("echo");
    lab.udp_echo(b"template datagram", 44_001)
        .expect("udp echo");
    lab.http(b"GET / HTTP/1.1\r\n\r\n", 44_002).expect("http");
    let frames = lab.wire.recorded.take().unwrap();
    // Ethernet type at 12, IPv4 protocol at 23, destination port at 36.
    let has = |what: &str, f: &dyn Fn(&[u8]) -> bool| {
        assert!(
            frames.iter().any(|x| x.len() > 37 && f(x)),
            "no {what} frame"
        );
    };
    has("ARP", &|x| x[12..14] == [0x08, 0x06]);
    has("UDP", &|x| x[23] == 17);
    has("TCP to port 7", &|x| x[23] == 6 && x[36..38] == [0, 7]);
    has("TCP to port 80", &|x| x[23] == 6 && x[36..38] == [0, 80]);
    frames
}

/// Feeds `frames` to netd, polling whenever the receive queue is full.
fn feed(lab: &mut Lab, inputs: &[Input], templates: &[Vec<u8>]) {
    for inp in inputs {
        let frame = match inp {
            Input::Random(b) => b.clone(),
            Input::Flipped(i, flips) => {
                let mut f = templates[*i].clone();
                for &(at, v) in flips {
                    let n = f.len();
                    f[at % n] = v;
                }
                f
            }
            Input::Truncated(i, n) => {
                let f = &templates[*i];
                f[..(*n).min(f.len())].to_vec()
            }
            Input::Padded(i, pad) => {
                let mut f = templates[*i].clone();
                f.extend_from_slice(pad);
                f.truncate(MAX_FRAME);
                f
            }
            Input::BadLength(len) => {
                lab.fake.state().behaviour.rx_used_len = Some(*len);
                vec![0; 60]
            }
        };
        while !lab.fake.inject(&frame) {
            poll(lab);
        }
        lab.fake.state().behaviour.rx_used_len = None;
    }
    poll(lab);
}

/// One round of netd and its stream channel (the peer does not answer
/// junk); what netd sends back is dropped.
fn poll(lab: &mut Lab) {
    lab.now_ms += 1;
    lab.netd.poll(lab.now_ms);
    lab.serve_stream();
    lab.fake.state().sent.clear();
    assert!(
        lab.netd.nic().broken().is_none(),
        "the device was given up on: {:?}",
        lab.netd.nic().broken()
    );
}

#[test]
fn bad_frames_never_panic_and_echo_still_works() {
    let mut lab = Lab::new();
    let templates = templates(&mut lab);
    let lab = std::cell::RefCell::new(lab);
    let round = std::cell::Cell::new(0u16);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        // A failure is reported as found: shrinking would replay thousands
        // of frames into the same, already disturbed, stack.
        max_shrink_iters: 0,
        ..Config::default()
    });
    let strategy = prop::collection::vec(input(templates.len()), FRAMES_PER_CASE);
    let result = runner.run(&strategy, |inputs| {
        let mut lab = lab.borrow_mut();
        feed(&mut lab, &inputs, &templates);
        // A good exchange after every thousand bad frames: TCP and UDP.
        round.set(round.get().wrapping_add(1) % 1000);
        let round = round.get();
        let data: Vec<u8> = (0..3000u32).map(|i| (i ^ u32::from(round)) as u8).collect();
        let echoed = lab.tcp_echo(&data, 45_000 + round);
        prop_assert!(
            echoed.as_deref() == Some(&data[..]),
            "tcp echo after round {round}"
        );
        let udp = lab.udp_echo(&data[..700], 46_000 + round);
        prop_assert!(
            udp.as_deref() == Some(&data[..700]),
            "udp echo after round {round}"
        );
        Ok(())
    });
    if let Err(e) = result {
        // The reason only: the failing case is thousands of frames long.
        match e {
            proptest::test_runner::TestError::Fail(why, _) => panic!("{why}"),
            other @ proptest::test_runner::TestError::Abort(_) => panic!("{other}"),
        }
    }
    let lab = lab.into_inner();
    assert!(
        lab.netd.link_stats().rx_frames + lab.netd.link_stats().rx_dropped
            >= u64::from(CASES) * FRAMES_PER_CASE as u64
    );
    assert!(
        lab.netd.link_stats().rx_dropped > 0,
        "no bad length was tried"
    );
}

#[test]
fn a_port_scan_and_half_open_connections_do_not_wedge_the_stack() {
    use smoltcp::wire::{
        EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpProtocol, Ipv4Packet,
        Ipv4Repr, TcpPacket, TcpRepr, TcpSeqNumber,
    };
    let mut lab = Lab::new();
    let server = netd::stack::STATIC_ADDRESS.address();
    let syn = |src_port: u16, dst_port: u16| -> Vec<u8> {
        let tcp = TcpRepr {
            src_port,
            dst_port,
            control: smoltcp::wire::TcpControl::Syn,
            seq_number: TcpSeqNumber(1000),
            ack_number: None,
            window_len: 1024,
            window_scale: None,
            max_seg_size: Some(1400),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let ip = Ipv4Repr {
            src_addr: lab::PEER,
            dst_addr: server,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.header_len(),
            hop_limit: 64,
        };
        let eth = EthernetRepr {
            src_addr: EthernetAddress(lab::PEER_MAC),
            dst_addr: EthernetAddress(fake_net::MAC),
            ethertype: EthernetProtocol::Ipv4,
        };
        let mut buf = vec![0; eth.buffer_len() + ip.buffer_len() + tcp.header_len()];
        let mut f = EthernetFrame::new_unchecked(&mut buf);
        eth.emit(&mut f);
        let mut p = Ipv4Packet::new_unchecked(f.payload_mut());
        ip.emit(&mut p, &Default::default());
        let mut t = TcpPacket::new_unchecked(p.payload_mut());
        tcp.emit(
            &mut t,
            &server.into(),
            &lab::PEER.into(),
            &Default::default(),
        );
        // The checksum over the right pseudo-header.
        t.fill_checksum(&lab::PEER.into(), &server.into());
        buf
    };
    // Every port from 1 to 1024, and far more half-open connections to the
    // echo port than it has sockets: SYNs whose handshake never completes.
    let mut inputs: Vec<Vec<u8>> = (1..=1024).map(|p| syn(30_000, p)).collect();
    inputs.extend((0..200).map(|i| syn(31_000 + i, 7)));
    inputs.extend((0..50).map(|i| syn(32_000 + i, 80)));
    for f in &inputs {
        while !lab.fake.inject(f) {
            poll(&mut lab);
        }
    }
    poll(&mut lab);
    // The half-open connections time out; then every socket serves again.
    for _ in 0..40_000 {
        poll(&mut lab);
    }
    let data = vec![0x5a; 5000];
    assert_eq!(lab.tcp_echo(&data, 33_000).as_deref(), Some(&data[..]));
    let page = lab.http(b"GET / HTTP/1.1\r\n\r\n", 33_001).expect("http");
    assert!(page.starts_with(b"HTTP/1.1 200 OK"));
}
