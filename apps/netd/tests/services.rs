//! The services end to end on the fake device, answered to a peer stack:
//! UDP echo by netd itself; TCP echo, the HTTP status page and 404 by the
//! service task's logic through netd's stream channel.

#[path = "../../../drivers/virtio/tests/common/mod.rs"]
mod common;
#[path = "../../../drivers/virtio/tests/common/fake_net.rs"]
mod fake_net;
mod lab;

use lab::Lab;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn tcp_echo_returns_every_byte() {
    let mut lab = Lab::new();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let got = lab.tcp_echo(&data, 40_000).expect("echo finished");
    assert!(
        got == data,
        "echo differs ({} of {} bytes)",
        got.len(),
        data.len()
    );
    assert_eq!(lab.services().echo_connections, 1);
    assert_eq!(lab.services().echo_bytes, data.len() as u64);
}

#[test]
fn udp_echo_answers_each_datagram() {
    let mut lab = Lab::new();
    for (i, len) in [1usize, 100, 1472, 512].into_iter().enumerate() {
        let payload: Vec<u8> = (0..len).map(|b| (b + i) as u8).collect();
        let got = lab.udp_echo(&payload, 50_000 + i as u16);
        assert_eq!(got.as_deref(), Some(&payload[..]), "{len} bytes");
    }
    assert_eq!(lab.netd.stats().udp_datagrams, 4);
    lab.netd.note_udp_cost(1000, 2);
    let page = String::from_utf8_lossy(
        &lab.http(b"GET / HTTP/1.1\r\n\r\n", 51_000)
            .expect("an answer"),
    )
    .into_owned();
    assert!(
        page.contains("udp echo cost: 1000 instructions over 2 datagrams"),
        "{page}"
    );
}

#[test]
fn http_serves_the_status_page_and_404() {
    let mut lab = Lab::new();
    let page = text(
        &lab.http(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 41_000)
            .expect("an answer"),
    );
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    for want in [
        "NEURON status",
        "uptime: 5.",
        "address: 10.0.2.15/24 (static fallback), gateway 10.0.2.2",
        "link: virtio-net mac 52:54:00:12:34:56",
        "http :80 (1 requests)",
        "tasks: lab",
    ] {
        assert!(page.contains(want), "no `{want}` in\n{page}");
    }
    let (head, body) = page.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains(&format!("Content-Length: {}", body.len())),
        "{head}"
    );

    let missing = text(
        &lab.http(b"GET /x HTTP/1.1\r\n\r\n", 41_001)
            .expect("an answer"),
    );
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );
    let bad = text(
        &lab.http(b"BREW / HTCPCP/1.0\r\n\r\n", 41_002)
            .expect("an answer"),
    );
    assert!(bad.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bad}");
    let long = vec![b'a'; 600];
    let big = text(&lab.http(&long, 41_003).expect("an answer"));
    assert!(big.starts_with("HTTP/1.1 431 "), "{big}");
}

#[test]
fn fifty_connections_at_once_each_echo() {
    use smoltcp::socket::tcp;
    use smoltcp::wire::IpAddress;
    let mut lab = Lab::new();
    let server = IpAddress::Ipv4(netd::stack::STATIC_ADDRESS.address());
    let handles: Vec<_> = (0..50u16)
        .map(|i| {
            let rx = tcp::SocketBuffer::new(vec![0; 8192]);
            let tx = tcp::SocketBuffer::new(vec![0; 8192]);
            let h = lab.sockets.add(tcp::Socket::new(rx, tx));
            let cx = lab.peer.context();
            lab.sockets
                .get_mut::<tcp::Socket>(h)
                .connect(cx, (server, 7), 42_000 + i)
                .unwrap();
            h
        })
        .collect();
    let all_up = lab.run_until(10_000, |lab| {
        handles
            .iter()
            .all(|&h| lab.sockets.get_mut::<tcp::Socket>(h).may_send())
    });
    let up = handles
        .iter()
        .filter(|&&h| lab.sockets.get_mut::<tcp::Socket>(h).may_send())
        .count();
    let states: Vec<_> = handles
        .iter()
        .map(|&h| lab.sockets.get_mut::<tcp::Socket>(h).state())
        .collect();
    assert!(all_up, "{up} of 50 connections established: {states:?}");
    let data: Vec<Vec<u8>> = (0..50)
        .map(|i| (0..3000).map(|b| (b * 3 + i) as u8).collect())
        .collect();
    let mut got = vec![Vec::new(); 50];
    let mut sent = vec![0; 50];
    let done = lab.run_until(20_000, |lab| {
        let mut all = true;
        for (i, &h) in handles.iter().enumerate() {
            let s = lab.sockets.get_mut::<tcp::Socket>(h);
            let d = &data[i];
            if sent[i] < d.len() && s.can_send() {
                sent[i] += s.send_slice(&d[sent[i]..]).unwrap();
            }
            let mut buf = [0u8; 4096];
            while s.can_recv() {
                let n = s.recv_slice(&mut buf).unwrap();
                got[i].extend_from_slice(&buf[..n]);
            }
            all &= got[i].len() >= d.len();
        }
        all
    });
    assert!(done, "not every echo came back");
    for (i, g) in got.iter().enumerate() {
        assert!(*g == data[i], "connection {i} echoed wrongly");
    }
    assert_eq!(lab.services().echo_connections, 50);
}

#[test]
fn an_idle_connection_outlives_the_timeout() {
    use smoltcp::socket::tcp;
    let mut lab = Lab::new();
    let h = lab.connect(7, 43_000).expect("connected");
    // The peer answers keep-alives: the connection stays up for a minute.
    lab.run_for(60_000);
    assert!(lab.sockets.get_mut::<tcp::Socket>(h).may_send());
    let data = b"still there";
    lab.sockets
        .get_mut::<tcp::Socket>(h)
        .send_slice(data)
        .unwrap();
    let mut got = Vec::new();
    assert!(lab.run_until(1_000, |lab| {
        let s = lab.sockets.get_mut::<tcp::Socket>(h);
        let mut buf = [0u8; 64];
        while s.can_recv() {
            let n = s.recv_slice(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        got == data
    }));
    // A peer that forgets the connection answers the next keep-alive with
    // a reset; the port goes on serving.
    lab.sockets.remove(h);
    let before = lab.services().echo_connections;
    lab.run_for(40_000);
    let again = lab.tcp_echo(b"x", 43_000).expect("the socket serves again");
    assert_eq!(again, b"x");
    assert!(lab.services().echo_connections > before);
}
