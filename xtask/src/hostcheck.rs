//! Host-side checks of netd's services, from the host through QEMU's port
//! forwarding: TCP echo of a large random stream, UDP echo of datagrams of
//! many sizes (answered by netd, and by the `udp-echo` task through netd's
//! relay), HTTP with a real client, and many TCP connections at once.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::qemu::Forwards;

/// Bytes of the TCP echo check.
pub const TCP_ECHO_BYTES: usize = 1 << 20;
/// Datagrams of the UDP echo check.
const UDP_DATAGRAMS: usize = 100;
/// The largest UDP payload in one unfragmented frame (1500 - 20 - 8).
const UDP_MAX: usize = 1472;
/// Connections of the concurrency check.
const CONCURRENT: usize = 50;
/// Bytes each of them echoes.
const CONCURRENT_BYTES: usize = 4096;
/// How long any one read or write may block.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a UDP echo may take to come back.
const UDP_TIMEOUT: Duration = Duration::from_secs(3);

/// One check's outcome: a detail line, or why it failed.
pub struct Check {
    /// The row's name, e.g. `host tcp echo`.
    pub name: &'static str,
    /// What was seen.
    pub result: Result<String, String>,
}

/// A small deterministic generator of test bytes (xorshift64*).
pub struct Noise(u64);

impl Noise {
    /// Seeded from `seed` (any value).
    pub fn new(seed: u64) -> Noise {
        Noise(seed | 1)
    }

    /// Seeded from the clock.
    pub fn from_clock() -> Noise {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Noise::new(t)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        v.truncate(len);
        v
    }
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

fn connect(port: u16) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&local(port), IO_TIMEOUT)
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| s.set_write_timeout(Some(IO_TIMEOUT)))
        .and_then(|()| s.set_nodelay(true))
        .map_err(|e| format!("socket options: {e}"))?;
    Ok(s)
}

/// Where two byte strings first differ, as a message.
fn mismatch(sent: &[u8], got: &[u8]) -> String {
    match sent.iter().zip(got).position(|(a, b)| a != b) {
        Some(at) => format!(
            "echo differs at byte {at} of {} (sent {:#04x}, got {:#04x})",
            sent.len(),
            sent[at],
            got[at]
        ),
        None => format!("echo has {} bytes, {} were sent", got.len(), sent.len()),
    }
}

/// Sends `data` on `stream` while reading the echo back (as many bytes as
/// were sent), compares byte for byte, then closes the sending side and
/// expects the service to close too, with nothing more.
fn echo_on(stream: TcpStream, data: &[u8]) -> Result<(), String> {
    let mut writer = stream.try_clone().map_err(|e| format!("clone: {e}"))?;
    let mut reader = stream;
    let mut got = Vec::with_capacity(data.len());
    let (sent, read) = std::thread::scope(|s| {
        let w = s.spawn(move || writer.write_all(data).map_err(|e| format!("write: {e}")));
        let read = (&mut reader)
            .take(data.len() as u64)
            .read_to_end(&mut got)
            .map_err(|e| format!("read after {} bytes: {e}", got.len()));
        let sent = w.join().unwrap_or_else(|_| Err("writer panicked".into()));
        (sent, read)
    });
    sent?;
    read?;
    if got != data {
        return Err(mismatch(data, &got));
    }
    // The service closes once the peer has closed and all is echoed.
    reader
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("shutdown: {e}"))?;
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .map_err(|e| format!("waiting for the close: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes more than were sent", rest.len()));
    }
    Ok(())
}

/// Echoes `data` over a fresh TCP connection to `port` (see [`echo_on`]);
/// returns the time from connecting to the close.
pub fn tcp_echo(port: u16, data: &[u8]) -> Result<Duration, String> {
    let start = Instant::now();
    echo_on(connect(port)?, data)?;
    Ok(start.elapsed())
}

/// One UDP datagram echoed: sends `payload` from `sock` (connected to the
/// service) and waits for the same bytes back; returns the round trip.
pub fn udp_round_trip(sock: &UdpSocket, payload: &[u8]) -> Result<Duration, String> {
    let mut buf = [0u8; 2048];
    let start = Instant::now();
    sock.send(payload).map_err(|e| format!("send: {e}"))?;
    let n = sock
        .recv(&mut buf)
        .map_err(|e| format!("no echo of a {}-byte datagram: {e}", payload.len()))?;
    let rtt = start.elapsed();
    if &buf[..n] != payload {
        return Err(format!(
            "a {}-byte datagram came back as {n} bytes{}",
            payload.len(),
            if n == payload.len() {
                " with other contents"
            } else {
                ""
            }
        ));
    }
    Ok(rtt)
}

/// A UDP socket connected to the service on `port`.
pub fn udp_socket(port: u16) -> Result<UdpSocket, String> {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("bind: {e}"))?;
    sock.connect(local(port))
        .and_then(|()| sock.set_read_timeout(Some(UDP_TIMEOUT)))
        .map_err(|e| format!("udp socket: {e}"))?;
    Ok(sock)
}

fn check_tcp_echo(port: u16) -> Result<String, String> {
    let data = Noise::from_clock().bytes(TCP_ECHO_BYTES);
    let t = tcp_echo(port, &data)?;
    Ok(format!(
        "{} random bytes echoed in {:.2} s",
        data.len(),
        t.as_secs_f64()
    ))
}

fn check_udp_echo(port: u16) -> Result<String, String> {
    let sock = udp_socket(port)?;
    let mut noise = Noise::from_clock();
    let mut sizes = Vec::new();
    for i in 0..UDP_DATAGRAMS {
        // 1, the largest, then sizes spread over the whole range.
        let len = match i {
            0 => 1,
            1 => UDP_MAX,
            _ => 1 + (i * 733 + 97) % UDP_MAX,
        };
        let payload = noise.bytes(len);
        udp_round_trip(&sock, &payload).map_err(|e| format!("datagram {i}: {e}"))?;
        sizes.push(len);
    }
    Ok(format!(
        "{} datagrams of {} to {} bytes each answered exactly",
        sizes.len(),
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0)
    ))
}

/// Datagrams sent to the hostile relay client's port, and the time
/// between them (each wakes it; it then keeps the hart for 50 ms).
const HOG_DATAGRAMS: usize = 5;
const HOG_GAP: Duration = Duration::from_millis(100);
/// UDP echoes asked of netd itself after the hog's datagrams.
const AFTER_HOG_ECHOES: usize = 20;

/// Wakes `relay-hog` through its port (UDP 7009) until netd must have
/// stopped handing it the hart (netd reports that on its console, which
/// the marker list checks), then asks netd's own UDP echo: it must answer
/// every datagram.
fn check_beside_hog(hog: u16, echo: u16) -> Result<String, String> {
    let to_hog = udp_socket(hog)?;
    for i in 0..HOG_DATAGRAMS {
        to_hog
            .send(format!("hog {i}").as_bytes())
            .map_err(|e| format!("send to the hog's port: {e}"))?;
        std::thread::sleep(HOG_GAP);
    }
    let sock = udp_socket(echo)?;
    let mut noise = Noise::from_clock();
    let mut slowest = Duration::ZERO;
    for i in 0..AFTER_HOG_ECHOES {
        let rtt = udp_round_trip(&sock, &noise.bytes(64))
            .map_err(|e| format!("udp echo after the hog's datagrams, datagram {i}: {e}"))?;
        slowest = slowest.max(rtt);
    }
    Ok(format!(
        "{HOG_DATAGRAMS} datagrams woke relay-hog; then {AFTER_HOG_ECHOES} udp echoes answered \
         (slowest {} us)",
        slowest.as_micros()
    ))
}

fn check_http(port: u16) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(IO_TIMEOUT))
        .build()
        .into();
    let get = |path: &str| -> Result<(u16, String), String> {
        let mut r = agent
            .get(&format!("http://127.0.0.1:{port}{path}"))
            .call()
            .map_err(|e| format!("GET {path}: {e}"))?;
        let body = r
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("GET {path}: body: {e}"))?;
        Ok((r.status().as_u16(), body))
    };
    let (status, page) = get("/")?;
    if status != 200 {
        return Err(format!("GET / gave {status}"));
    }
    for want in [
        "NEURON status",
        "uptime: ",
        "address: ",
        "link: virtio-net",
        "tasks: ",
    ] {
        if !page.contains(want) {
            return Err(format!("the page of GET / has no `{want}`:\n{page}"));
        }
    }
    let (status, _) = get("/no-such-page")?;
    if status != 404 {
        return Err(format!("GET /no-such-page gave {status}, not 404"));
    }
    Ok(format!(
        "GET / 200 ({} bytes of status page), GET /no-such-page 404",
        page.len()
    ))
}

fn check_concurrent(port: u16) -> Result<String, String> {
    // Connected one after the other: QEMU's forwarding accepts with a
    // listen backlog of one, and simultaneous connects would wait for the
    // host's SYN retries. All are open before any sends.
    let streams = (0..CONCURRENT)
        .map(|i| connect(port).map_err(|e| format!("connection {i}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let seed = Noise::from_clock().next_u64();
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(i, stream)| {
                s.spawn(move || {
                    let data = Noise::new(seed ^ i as u64).bytes(CONCURRENT_BYTES);
                    echo_on(stream, &data)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("panicked".into())))
            .collect()
    });
    let failed: Vec<String> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| format!("connection {i}: {e}")))
        .collect();
    if failed.is_empty() {
        Ok(format!(
            "{CONCURRENT} connections open at once, {CONCURRENT_BYTES} bytes each echoed"
        ))
    } else {
        Err(format!(
            "{} of {CONCURRENT} failed; {}",
            failed.len(),
            failed[..failed.len().min(3)].join("; ")
        ))
    }
}

/// Runs every check against the forwarded ports, in order.
pub fn run_all(fwd: &Forwards) -> Vec<Check> {
    vec![
        Check {
            name: "host tcp echo",
            result: check_tcp_echo(fwd.tcp_echo),
        },
        Check {
            name: "host udp echo",
            result: check_udp_echo(fwd.udp_echo),
        },
        Check {
            name: "host udp echo via a task",
            result: check_udp_echo(fwd.udp_relay),
        },
        Check {
            name: "host udp echo beside a relay hog",
            result: check_beside_hog(fwd.udp_hog, fwd.udp_echo),
        },
        Check {
            name: "host http",
            result: check_http(fwd.http),
        },
        Check {
            name: "host tcp concurrent",
            result: check_concurrent(fwd.tcp_echo),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_deterministic_per_seed_and_varied() {
        let a = Noise::new(7).bytes(100);
        assert_eq!(a, Noise::new(7).bytes(100));
        assert_ne!(a, Noise::new(8).bytes(100));
        assert_eq!(Noise::new(1).bytes(13).len(), 13);
        assert!(a.iter().any(|&b| b != a[0]));
    }

    #[test]
    fn mismatch_names_the_first_difference() {
        assert!(mismatch(b"abc", b"abd").contains("byte 2 of 3"));
        assert!(mismatch(b"abc", b"ab").contains("2 bytes, 3 were sent"));
    }

    #[test]
    fn echo_checks_pass_against_a_real_echo_and_fail_against_a_bad_one() {
        use std::net::TcpListener;
        fn serve(corrupt: bool) -> u16 {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = l.local_addr().unwrap().port();
            std::thread::spawn(move || {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = [0u8; 4096];
                let mut total = 0usize;
                loop {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    if corrupt && total + n > 5000 && total <= 5000 {
                        buf[5000 - total] ^= 1;
                    }
                    total += n;
                    s.write_all(&buf[..n]).unwrap();
                }
            });
            port
        }
        let data = Noise::new(3).bytes(64 * 1024);
        assert!(tcp_echo(serve(false), &data).is_ok());
        let e = tcp_echo(serve(true), &data).unwrap_err();
        assert!(e.contains("byte 5000"), "{e}");
        let e = echo_on(connect(serve(true)).unwrap(), &data).unwrap_err();
        assert!(e.contains("byte 5000"), "{e}");
    }
}
