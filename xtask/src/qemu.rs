//! Booting NEURON under QEMU `virt` and capturing its console.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a QEMU run produced.
pub struct Run {
    /// Console lines, `\r` stripped.
    pub lines: Vec<String>,
    /// QEMU's exit code (`None` if killed by the timeout or a signal).
    pub exit: Option<i32>,
    /// Whether the timeout ended the run.
    pub timed_out: bool,
    /// Whether xtask stopped the machine (QEMU's `C-a x`) while it ran.
    pub stopped: bool,
    /// Wall time.
    pub elapsed: Duration,
}

/// Host ports QEMU's user network forwards to the guest's services.
#[derive(Clone, Copy, Debug)]
pub struct Forwards {
    /// Host TCP port to guest TCP 7 (echo).
    pub tcp_echo: u16,
    /// Host UDP port to guest UDP 7 (echo).
    pub udp_echo: u16,
    /// Host TCP port to guest TCP 80 (HTTP).
    pub http: u16,
}

impl Forwards {
    /// Picks ports that are free on 127.0.0.1 now (the OS chooses them;
    /// all are held at once so they differ, then released for QEMU).
    pub fn pick() -> Result<Forwards, String> {
        let err = |e: std::io::Error| format!("cannot pick a free host port: {e}");
        let t1 = TcpListener::bind("127.0.0.1:0").map_err(err)?;
        let t2 = TcpListener::bind("127.0.0.1:0").map_err(err)?;
        let u = UdpSocket::bind("127.0.0.1:0").map_err(err)?;
        Ok(Forwards {
            tcp_echo: t1.local_addr().map_err(err)?.port(),
            http: t2.local_addr().map_err(err)?.port(),
            udp_echo: u.local_addr().map_err(err)?.port(),
        })
    }

    /// The `-netdev user` option with the forwards.
    fn netdev(&self) -> String {
        format!(
            "user,id=net0,hostfwd=tcp:127.0.0.1:{}-:7,hostfwd=udp:127.0.0.1:{}-:7,\
             hostfwd=tcp:127.0.0.1:{}-:80",
            self.tcp_echo, self.udp_echo, self.http
        )
    }

    /// How to reach the services from the host.
    pub fn describe(&self) -> String {
        format!(
            "  tcp echo  nc 127.0.0.1 {}\n  udp echo  nc -u 127.0.0.1 {}\n  http      curl http://127.0.0.1:{}/",
            self.tcp_echo, self.udp_echo, self.http
        )
    }
}

/// The machine: `virt`, OpenSBI, 128 MiB, the modern virtio-mmio transport,
/// with a virtio-blk (on `disk`), a virtio-net (user networking, with the
/// host ports of `fwd` forwarded to the guest's services) and a
/// virtio-rng. Devices fill transport slots from the top: blk, net, rng.
pub fn command(kernel: &Path, disk: &Path, fwd: Option<&Forwards>, extra: &[String]) -> Command {
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
    let netdev = fwd.map_or_else(|| "user,id=net0".to_string(), Forwards::netdev);
    c.arg("-netdev")
        .arg(netdev)
        .args(["-device", "virtio-net-device,netdev=net0"]);
    c.args(["-device", "virtio-rng-device"]);
    c.args(extra);
    c.arg("-kernel").arg(kernel);
    c
}

/// A running QEMU: its console lines as they come.
pub struct Machine {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: mpsc::Receiver<String>,
    readers: Vec<JoinHandle<()>>,
    lines: Vec<String>,
    echo: bool,
    start: Instant,
}

impl Machine {
    /// Starts `cmd`, echoing the console if `echo`.
    pub fn start(mut cmd: Command, echo: bool) -> Result<Machine, String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start qemu-system-riscv64: {e}"))?;
        let (tx, rx) = mpsc::channel::<String>();
        let streams = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ];
        let readers = streams
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
        Ok(Machine {
            stdin: child.stdin.take(),
            child,
            rx,
            readers,
            lines: Vec::new(),
            echo,
            start: Instant::now(),
        })
    }

    /// Takes one console line, waiting until `deadline`; `Err(true)` if
    /// the console closed (QEMU exited), `Err(false)` at the deadline.
    fn next_line(&mut self, deadline: Instant) -> Result<(), bool> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.rx.recv_timeout(left) {
            Ok(line) => {
                if self.echo {
                    println!("{line}");
                    let _ = std::io::stdout().flush();
                }
                self.lines.push(line);
                Ok(())
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(true),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(false),
        }
    }

    /// Waits until a console line (of the whole run so far) starts with
    /// `prefix`; false if QEMU exits or `deadline` passes first.
    pub fn wait_for(&mut self, prefix: &str, deadline: Instant) -> bool {
        let mut searched = 0;
        loop {
            if self.lines[searched..].iter().any(|l| l.starts_with(prefix)) {
                return true;
            }
            searched = self.lines.len();
            if self.next_line(deadline).is_err() {
                return false;
            }
        }
    }

    /// Streams the console until QEMU exits or `deadline` passes (then it
    /// is killed); whether the deadline ended it.
    fn drain(&mut self, deadline: Instant) -> bool {
        loop {
            match self.next_line(deadline) {
                Ok(()) => {}
                Err(true) => return false,
                Err(false) => {
                    let _ = self.child.kill();
                    return true;
                }
            }
        }
    }

    /// Streams the console until QEMU exits or `deadline` passes (then it
    /// is killed).
    pub fn finish(mut self, deadline: Instant) -> Result<Run, String> {
        let timed_out = self.drain(deadline);
        self.end(timed_out, false)
    }

    /// Stops the machine: QEMU's console escape `C-a x`, which makes it
    /// exit 0 at once. Whether it was still running is in the result
    /// (`stopped`); a QEMU that ignores the request is killed after
    /// `grace`.
    pub fn stop(mut self, grace: Duration) -> Result<Run, String> {
        let running = matches!(self.child.try_wait(), Ok(None));
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"\x01x");
            let _ = stdin.flush();
        }
        let timed_out = self.drain(Instant::now() + grace);
        self.end(timed_out, running)
    }

    fn end(mut self, timed_out: bool, stopped: bool) -> Result<Run, String> {
        let status = self
            .child
            .wait()
            .map_err(|e| format!("waiting for qemu: {e}"))?;
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        // Lines that arrived between the timeout and the kill.
        self.lines.extend(self.rx.try_iter());
        Ok(Run {
            lines: self.lines,
            exit: if timed_out { None } else { status.code() },
            timed_out,
            stopped,
            elapsed: self.start.elapsed(),
        })
    }
}

/// Runs `cmd`, echoing the console if `echo`, until it exits or `timeout`.
pub fn run(cmd: Command, timeout: Duration, echo: bool) -> Result<Run, String> {
    let deadline = Instant::now() + timeout;
    Machine::start(cmd, echo)?.finish(deadline)
}
