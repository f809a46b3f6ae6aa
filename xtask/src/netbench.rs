//! The network figures of `cargo xtask bench`: the standard system booted
//! with its ports forwarded, netd's services measured from the host.
//!
//! - `net_tcp_echo`: MiB/s of TCP echo as the host client sees it (bytes
//!   sent, and each echoed back, over the time from connecting to the
//!   close), median of several transfers;
//! - `net_udp_rtt`: the median round trip of small UDP echoes;
//! - `net_instr_per_packet`: under `-icount shift=0`, netd's own
//!   instructions per echoed UDP datagram (receive, stack, echo, transmit),
//!   as netd counts them with `instret` around its rounds and reports on
//!   its status page.
//! - `net_client_instr_ratio`: under `-icount shift=0`, the whole system's
//!   instructions per datagram echoed by the `udp-echo` task (UDP 7007,
//!   through netd's relay and a channel) over the same for netd answering
//!   itself (UDP 7), both from `instret` on the status page, the page's own
//!   cost subtracted.
//! - `net_client_busy_ratio` (and its two counts): the same without the
//!   time netd slept until its interrupt (`netd asleep:` on the status
//!   page). Under `-icount` QEMU's `instret` is its virtual clock, which
//!   also moves while the guest waits for the host; these counts leave
//!   most of that waiting out.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::bench::Figure;
use crate::hostcheck::{self, Noise};
use crate::image;
use crate::qemu::{self, Forwards, Machine, Session};

/// Bytes of one TCP echo transfer.
const TCP_BYTES: usize = 4 << 20;
/// TCP transfers; the figure is their median.
const TCP_ROUNDS: usize = 5;
/// UDP round trips timed (after a few to warm up).
const UDP_TRIPS: usize = 500;
const UDP_WARMUP: usize = 20;
/// Payload of each timed datagram.
const UDP_BYTES: usize = 64;
/// Datagrams echoed for the instruction count.
const ICOUNT_DATAGRAMS: u64 = 200;
/// Datagrams echoed for each whole-system count (many, so that what the
/// two status-page reads around them cost varies little per datagram).
const SYSTEM_DATAGRAMS: u64 = 1000;
/// Windows of each kind (netd answering, the task answering), alternating;
/// the figures are their medians.
const SYSTEM_WINDOWS: usize = 5;
/// How long the system may take to come up.
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);

/// Boots the system on `machine` with fresh forwards and waits until netd
/// serves; the session and the forwards.
fn boot(kernel: &Path, disk: &Path, icount: bool) -> Result<(Session, Forwards), String> {
    // A fresh disk for every boot: the drivers of the last one wrote to
    // it (blkd's scratch sector, blk-client's sectors), and blkd checks
    // that every sector it reads holds its own number.
    image::write_disk(disk)?;
    let fwd = Forwards::pick()?;
    let mut machine = Machine {
        forwards: Some(fwd),
        ..Machine::default()
    };
    if icount {
        machine.extra = vec!["-icount".into(), "shift=0".into()];
    }
    let cmd = qemu::machine_command(kernel, disk, &machine);
    let mut session = Session::start(cmd, false)?;
    let deadline = Instant::now() + BOOT_TIMEOUT;
    if !(session.wait_for(qemu::VERDICT, deadline) && session.wait_for("netd: serving ", deadline))
    {
        let run = session.stop(qemu::STOP_GRACE)?;
        let from = run.lines.len().saturating_sub(15);
        return Err(format!(
            "netd did not come up\n  | {}",
            run.lines[from..].join("\n  | ")
        ));
    }
    Ok((session, fwd))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `net_tcp_echo` and `net_udp_rtt`, from a plain run.
pub fn throughput(kernel: &Path, disk: &Path) -> Result<Vec<Figure>, String> {
    println!("xtask: bench netd's services from the host");
    let (session, fwd) = boot(kernel, disk, false)?;
    let result = (|| {
        let mut noise = Noise::from_clock();
        let mut rates = Vec::new();
        for _ in 0..TCP_ROUNDS {
            let data = noise.bytes(TCP_BYTES);
            let t = hostcheck::tcp_echo(fwd.tcp_echo, &data)?;
            rates.push(TCP_BYTES as f64 / (1 << 20) as f64 / t.as_secs_f64());
        }
        let sock = hostcheck::udp_socket(fwd.udp_echo)?;
        let payload = noise.bytes(UDP_BYTES);
        let mut rtts = Vec::new();
        for i in 0..UDP_WARMUP + UDP_TRIPS {
            let rtt = hostcheck::udp_round_trip(&sock, &payload)?;
            if i >= UDP_WARMUP {
                rtts.push(rtt.as_secs_f64() * 1e6);
            }
        }
        Ok(vec![
            Figure {
                name: "net_tcp_echo".into(),
                value: median(rates),
                unit: "MiB/s".into(),
            },
            Figure {
                name: "net_udp_rtt".into(),
                value: median(rtts),
                unit: "us".into(),
            },
        ])
    })();
    session.stop(qemu::STOP_GRACE)?;
    result
}

/// The status page.
fn page(http_port: u16) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    agent
        .get(&format!("http://127.0.0.1:{http_port}/"))
        .call()
        .map_err(|e| format!("GET /: {e}"))?
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("GET /: {e}"))
}

/// Reads netd's `udp echo cost: <i> instructions over <n> datagrams` from
/// its status page.
fn udp_cost(http_port: u16) -> Result<(u64, u64), String> {
    let page = page(http_port)?;
    parse_cost(&page).ok_or_else(|| format!("no udp echo cost on the status page:\n{page}"))
}

/// The hart's `instret` when `net-services` wrote the status page, and
/// the part of it netd spent asleep until its interrupt (`netd asleep:`).
fn instret(http_port: u16) -> Result<Reading, String> {
    let page = page(http_port)?;
    match (parse_instret(&page), parse_asleep(&page)) {
        (Some(instret), Some(asleep)) => Ok(Reading { instret, asleep }),
        _ => Err(format!(
            "no instret or netd asleep on the status page:\n{page}"
        )),
    }
}

/// What one status page says of the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reading {
    /// `instret` (under `-icount`, QEMU's virtual clock).
    instret: u64,
    /// Of it, netd's sleeps until its interrupt so far.
    asleep: u64,
}

/// What passed between two readings: everything, and everything but
/// netd's sleeps until its interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Spent {
    all: u64,
    busy: u64,
}

impl Reading {
    fn since(self, earlier: Reading) -> Spent {
        let all = self.instret.saturating_sub(earlier.instret);
        let asleep = self.asleep.saturating_sub(earlier.asleep);
        Spent {
            all,
            busy: all.saturating_sub(asleep),
        }
    }
}

fn parse_asleep(page: &str) -> Option<u64> {
    page.lines()
        .find_map(|l| l.strip_prefix("netd asleep: "))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn parse_instret(page: &str) -> Option<u64> {
    page.lines()
        .find_map(|l| l.strip_prefix("instret: "))?
        .trim()
        .parse()
        .ok()
}

/// The whole system's instructions per datagram echoed on the forwarded
/// UDP `port`: `instret` from the status page before and after
/// [`SYSTEM_DATAGRAMS`] echoes, less what serving one page costs
/// (`page_cost`); with and without netd's sleeps until its interrupt.
fn system_per_packet(http: u16, port: u16, page_cost: Spent) -> Result<(f64, f64), String> {
    let sock = hostcheck::udp_socket(port)?;
    let payload = Noise::new(2).bytes(UDP_BYTES);
    // One round trip first: the path is warm (ARP, the relay's buffers).
    hostcheck::udp_round_trip(&sock, &payload)?;
    let a = instret(http)?;
    for _ in 0..SYSTEM_DATAGRAMS {
        hostcheck::udp_round_trip(&sock, &payload)?;
    }
    let spent = instret(http)?.since(a);
    let per = |v: u64, page: u64| v.saturating_sub(page) as f64 / SYSTEM_DATAGRAMS as f64;
    Ok((
        per(spent.all, page_cost.all),
        per(spent.busy, page_cost.busy),
    ))
}

/// What serving the status page costs between two readings: the median
/// of three back-to-back pairs (each of the two counts on its own).
fn page_cost(http: u16) -> Result<Spent, String> {
    let (mut all, mut busy) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let a = instret(http)?;
        let spent = instret(http)?.since(a);
        all.push(spent.all);
        busy.push(spent.busy);
    }
    all.sort_unstable();
    busy.sort_unstable();
    Ok(Spent {
        all: all[1],
        busy: busy[1],
    })
}

fn parse_cost(page: &str) -> Option<(u64, u64)> {
    let line = page
        .lines()
        .find_map(|l| l.strip_prefix("udp echo cost: "))?;
    let mut words = line.split_whitespace();
    let instructions = words.next()?.parse().ok()?;
    let datagrams = words.nth(2)?.parse().ok()?;
    Some((instructions, datagrams))
}

/// `net_instr_per_packet`, from a run under `-icount shift=0`.
pub fn instructions(kernel: &Path, disk: &Path) -> Result<Vec<Figure>, String> {
    println!("xtask: bench netd's instructions per UDP echo under -icount shift=0");
    let (session, fwd) = boot(kernel, disk, true)?;
    let result = (|| {
        let (i0, n0) = udp_cost(fwd.http)?;
        let sock = hostcheck::udp_socket(fwd.udp_echo)?;
        let payload = Noise::new(1).bytes(UDP_BYTES);
        for _ in 0..ICOUNT_DATAGRAMS {
            hostcheck::udp_round_trip(&sock, &payload)?;
        }
        let (i1, n1) = udp_cost(fwd.http)?;
        // A round that also took in another frame (a late segment of the
        // page read's TCP connection) is left out of both sums; most must
        // be clean for the figure to stand for netd's echo.
        let n = n1 - n0;
        if n < ICOUNT_DATAGRAMS * 9 / 10 {
            return Err(format!(
                "netd measured {n} of {ICOUNT_DATAGRAMS} datagrams (rounds mixed with other work)"
            ));
        }
        println!("xtask: netd measured {n} of {ICOUNT_DATAGRAMS} datagrams in rounds of their own");
        let own = Figure {
            name: "net_instr_per_packet".into(),
            value: ((i1 - i0) as f64 / n as f64).round(),
            unit: "instructions".into(),
        };
        // Three measurements of each, alternating; the medians.
        let cost = page_cost(fwd.http)?;
        let (mut netd, mut task) = (Vec::new(), Vec::new());
        let (mut netd_busy, mut task_busy) = (Vec::new(), Vec::new());
        for _ in 0..SYSTEM_WINDOWS {
            let (all, busy) = system_per_packet(fwd.http, fwd.udp_echo, cost)?;
            netd.push(all);
            netd_busy.push(busy);
            let (all, busy) = system_per_packet(fwd.http, fwd.udp_relay, cost)?;
            task.push(all);
            task_busy.push(busy);
        }
        println!(
            "xtask: whole-system instructions per datagram, netd: {netd:.0?}, udp-echo task: {task:.0?}"
        );
        println!(
            "xtask: the same without netd's sleeps until its interrupt, netd: {netd_busy:.0?}, \
             udp-echo task: {task_busy:.0?}"
        );
        let (netd, task) = (median(netd), median(task));
        let (netd_busy, task_busy) = (median(netd_busy), median(task_busy));
        let figure = |name: &str, value: f64, unit: &str| Figure {
            name: name.into(),
            value,
            unit: unit.into(),
        };
        Ok(vec![
            own,
            figure("net_system_instr_per_packet", netd.round(), "instructions"),
            figure("net_client_instr_per_packet", task.round(), "instructions"),
            figure("net_client_instr_ratio", task / netd, "ratio"),
            figure(
                "net_system_busy_per_packet",
                netd_busy.round(),
                "instructions",
            ),
            figure(
                "net_client_busy_per_packet",
                task_busy.round(),
                "instructions",
            ),
            figure("net_client_busy_ratio", task_busy / netd_busy, "ratio"),
        ])
    })();
    session.stop(qemu::STOP_GRACE)?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cost_line() {
        let page = "NEURON status\nudp echo cost: 12345 instructions over 7 datagrams\n";
        assert_eq!(parse_cost(page), Some((12345, 7)));
        assert_eq!(parse_cost("udp echo cost: x instructions over 7"), None);
        assert_eq!(parse_cost("nothing"), None);
        assert_eq!(parse_instret("a\ninstret: 123456\nb"), Some(123_456));
        assert_eq!(parse_instret("instret: lots"), None);
        let page = "instret: 1000\nnetd asleep: 300 instret until its interrupt\n";
        assert_eq!(parse_asleep(page), Some(300));
        assert_eq!(parse_asleep("netd asleep: x"), None);
        let a = Reading {
            instret: 1000,
            asleep: 300,
        };
        let b = Reading {
            instret: 5000,
            asleep: 1300,
        };
        assert_eq!(
            b.since(a),
            Spent {
                all: 4000,
                busy: 3000
            }
        );
    }
}
