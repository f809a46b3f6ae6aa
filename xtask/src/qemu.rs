//! Booting NEURON under QEMU `virt` and capturing its console.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a QEMU run produced.
pub struct Run {
    /// Console lines, `\r` stripped.
    pub lines: Vec<String>,
    /// QEMU's exit code (`None` if killed by the timeout or a signal).
    pub exit: Option<i32>,
    /// Whether the timeout ended the run.
    pub timed_out: bool,
    /// Wall time.
    pub elapsed: Duration,
}

/// The machine: `virt`, OpenSBI, 128 MiB, the modern virtio-mmio transport,
/// with a virtio-blk (on `disk`), a virtio-net (user networking) and a
/// virtio-rng twice. Devices fill transport slots from the top: blk, net,
/// rng, rng.
pub fn command(kernel: &Path, disk: &Path, extra: &[String]) -> Command {
    let mut c = Command::new("qemu-system-riscv64");
    c.args([
        "-machine",
        "virt",
        "-bios",
        "default",
        "-nographic",
        "-m",
        "128M",
    ]);
    c.args(["-global", "virtio-mmio.force-legacy=false"]);
    c.arg("-drive").arg(format!(
        "file={},if=none,format=raw,id=blk0",
        disk.display()
    ));
    c.args(["-device", "virtio-blk-device,drive=blk0"]);
    c.args([
        "-netdev",
        "user,id=net0",
        "-device",
        "virtio-net-device,netdev=net0",
    ]);
    // Two rngs: one whose window the selftest maps, one irq-hog drives.
    c.args(["-device", "virtio-rng-device"]);
    c.args(["-device", "virtio-rng-device"]);
    c.args(extra);
    c.arg("-kernel").arg(kernel);
    c
}

/// Runs `cmd`, echoing the console if `echo`, until it exits or `timeout`.
pub fn run(mut cmd: Command, timeout: Duration, echo: bool) -> Result<Run, String> {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-riscv64: {e}"))?;
    let (tx, rx) = mpsc::channel::<String>();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|stream| {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                let line = String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_string();
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
    })
    .collect();
    drop(tx);
    let mut lines = Vec::new();
    let mut timed_out = false;
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if echo {
                    println!("{line}");
                    let _ = std::io::stdout().flush();
                }
                lines.push(line);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for qemu: {e}"))?;
    for r in readers {
        let _ = r.join();
    }
    // Lines that arrived between the timeout and the kill.
    lines.extend(rx.try_iter());
    Ok(Run {
        lines,
        exit: if timed_out { None } else { status.code() },
        timed_out,
        elapsed: start.elapsed(),
    })
}
