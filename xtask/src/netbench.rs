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

use std::path::Path;
use std::time::{Duration, Instant};

use crate::bench::Figure;
use crate::hostcheck::{self, Noise};
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
/// How long the system may take to come up.
const BOOT_TIMEOUT: Duration = Duration::from_secs(300);

/// Why the split figure is not measured.
pub const CLIENT_RATIO_NOT_MEASURABLE: &str = "net_client_instr_ratio is not measured: the \
    services run inside netd; moving them to a task of their own over a channel ring (as blkd's \
    clients are) is not done, so there is nothing to compare netd answering itself with";

/// Boots the system on `machine` with fresh forwards and waits until netd
/// serves; the session and the forwards.
fn boot(kernel: &Path, disk: &Path, icount: bool) -> Result<(Session, Forwards), String> {
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

/// Reads netd's `udp echo cost: <i> instructions over <n> datagrams` from
/// its status page.
fn udp_cost(http_port: u16) -> Result<(u64, u64), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let page = agent
        .get(&format!("http://127.0.0.1:{http_port}/"))
        .call()
        .map_err(|e| format!("GET /: {e}"))?
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("GET /: {e}"))?;
    parse_cost(&page).ok_or_else(|| format!("no udp echo cost on the status page:\n{page}"))
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
        let n = n1 - n0;
        if n < ICOUNT_DATAGRAMS {
            return Err(format!(
                "netd measured {n} of {ICOUNT_DATAGRAMS} datagrams (rounds mixed with other work)"
            ));
        }
        Ok(vec![Figure {
            name: "net_instr_per_packet".into(),
            value: ((i1 - i0) as f64 / n as f64).round(),
            unit: "instructions".into(),
        }])
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
    }
}
