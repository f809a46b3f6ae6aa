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

/// The kernel's line once every task expected to end has ended as expected.
pub const VERDICT: &str = "neuron: all tasks ended as expected";
/// How long a machine gets to exit after it is asked to stop.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Host ports QEMU's user network forwards to the guest's services.
#[derive(Clone, Copy, Debug)]
pub struct Forwards {
    /// Host TCP port to guest TCP 7 (echo).
    pub tcp_echo: u16,
    /// Host UDP port to guest UDP 7 (echo).
    pub udp_echo: u16,
    /// Host TCP port to guest TCP 80 (HTTP).
    pub http: u16,
    /// Host UDP port to guest UDP 7007 (echo by the `udp-echo` task,
    /// through netd's relay).
    pub udp_relay: u16,
    /// Host UDP port to guest UDP 7009 (`relay-hog`, the hostile relay
    /// client; for the host checks).
    pub udp_hog: u16,
}

impl Forwards {
    /// Picks ports that are free on 127.0.0.1 now (the OS chooses them;
    /// all are held at once so they differ, then released for QEMU).
    pub fn pick() -> Result<Forwards, String> {
        let err = |e: std::io::Error| format!("cannot pick a free host port: {e}");
        let t1 = TcpListener::bind("127.0.0.1:0").map_err(err)?;
        let t2 = TcpListener::bind("127.0.0.1:0").map_err(err)?;
        let u = UdpSocket::bind("127.0.0.1:0").map_err(err)?;
        let u2 = UdpSocket::bind("127.0.0.1:0").map_err(err)?;
        let u3 = UdpSocket::bind("127.0.0.1:0").map_err(err)?;
        Ok(Forwards {
            tcp_echo: t1.local_addr().map_err(err)?.port(),
            http: t2.local_addr().map_err(err)?.port(),
            udp_echo: u.local_addr().map_err(err)?.port(),
            udp_relay: u2.local_addr().map_err(err)?.port(),
            udp_hog: u3.local_addr().map_err(err)?.port(),
        })
    }

    /// The `-netdev user` option with the forwards.
    fn netdev(&self) -> String {
        format!(
            "user,id=net0,hostfwd=tcp:127.0.0.1:{}-:7,hostfwd=udp:127.0.0.1:{}-:7,\
             hostfwd=tcp:127.0.0.1:{}-:80,hostfwd=udp:127.0.0.1:{}-:7007,\
             hostfwd=udp:127.0.0.1:{}-:7009",
            self.tcp_echo, self.udp_echo, self.http, self.udp_relay, self.udp_hog
        )
    }

    /// How to reach the services from the host.
    pub fn describe(&self) -> String {
        format!(
            "  tcp echo  nc 127.0.0.1 {}\n  udp echo  nc -u 127.0.0.1 {}\n  http      curl http://127.0.0.1:{}/\n  udp echo by the udp-echo task  nc -u 127.0.0.1 {}",
            self.tcp_echo, self.udp_echo, self.http, self.udp_relay
        )
    }
}

/// A virtio device of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dev {
    /// virtio-blk on the disk image.
    Blk,
    /// virtio-net on QEMU's user network.
    Net,
    /// virtio-rng.
    Rng,
    /// virtio-blk-pci (modern only) on the disk image.
    BlkPci,
    /// virtio-net-pci (modern only) on QEMU's user network.
    NetPci,
    /// virtio-blk-pci as a transitional device (legacy and modern; PCI
    /// Device ID 0x1001), which the driver does not take.
    BlkPciTransitional,
}

/// A QEMU `virt` machine to boot NEURON on.
#[derive(Clone, Debug)]
pub struct Machine {
    /// `-m`.
    pub memory: String,
    /// The virtio devices, in command-line order (virtio-mmio fills
    /// transport slots from the top down in this order).
    pub devices: Vec<Dev>,
    /// The modern virtio-mmio transport (`force-legacy=false`); QEMU's
    /// default is the legacy one.
    pub modern: bool,
    /// Attach the disk read-only.
    pub readonly_disk: bool,
    /// Host ports forwarded to netd's services (`None`: no forwarding).
    pub forwards: Option<Forwards>,
    /// Further arguments, passed last.
    pub extra: Vec<String>,
}

impl Default for Machine {
    /// The machine `run` and `test` use: 128 MiB, one hart, the modern
    /// transport, virtio-blk, virtio-net and virtio-rng twice (in slots 7,
    /// 6, 5, 4).
    fn default() -> Self {
        Machine {
            memory: "128M".into(),
            devices: vec![Dev::Blk, Dev::Net, Dev::Rng, Dev::Rng],
            modern: true,
            readonly_disk: false,
            forwards: None,
            extra: Vec::new(),
        }
    }
}

impl Machine {
    /// The standard machine for a system on `transport`: on PCI, blk and
    /// net are modern virtio-pci functions (the two virtio-rng stay on
    /// virtio-mmio).
    pub fn for_transport(transport: crate::system::Transport) -> Machine {
        match transport {
            crate::system::Transport::Mmio => Machine::default(),
            crate::system::Transport::Pci => Machine {
                devices: vec![Dev::BlkPci, Dev::NetPci, Dev::Rng, Dev::Rng],
                ..Machine::default()
            },
        }
    }
}

/// The standard [`Machine`] with `extra` arguments.
pub fn command(kernel: &Path, disk: &Path, extra: &[String]) -> Command {
    let machine = Machine {
        extra: extra.to_vec(),
        ..Machine::default()
    };
    machine_command(kernel, disk, &machine)
}

/// The QEMU command line booting `kernel` on `machine`, with `disk` behind
/// its virtio-blk.
pub fn machine_command(kernel: &Path, disk: &Path, machine: &Machine) -> Command {
    let mut c = Command::new("qemu-system-riscv64");
    c.args(["-machine", "virt", "-bios", "default", "-nographic", "-m"]);
    c.arg(&machine.memory);
    if machine.modern {
        c.args(["-global", "virtio-mmio.force-legacy=false"]);
    }
    for dev in &machine.devices {
        match dev {
            Dev::Blk | Dev::BlkPci | Dev::BlkPciTransitional => {
                c.arg("-drive").arg(format!(
                    "file={},if=none,format=raw,id=blk0{}",
                    disk.display(),
                    if machine.readonly_disk {
                        ",readonly=on"
                    } else {
                        ""
                    }
                ));
                c.args([
                    "-device",
                    match dev {
                        Dev::Blk => "virtio-blk-device,drive=blk0",
                        Dev::BlkPci => "virtio-blk-pci,drive=blk0,disable-legacy=on",
                        _ => "virtio-blk-pci,drive=blk0",
                    },
                ]);
            }
            Dev::Net | Dev::NetPci => {
                let netdev = machine
                    .forwards
                    .map_or_else(|| "user,id=net0".to_string(), |f| f.netdev());
                // Debian's QEMU ships no option ROM for virtio-net-pci:
                // `romfile=` (none) lets it start.
                c.arg("-netdev").arg(netdev).args([
                    "-device",
                    if *dev == Dev::Net {
                        "virtio-net-device,netdev=net0"
                    } else {
                        "virtio-net-pci,netdev=net0,disable-legacy=on,romfile="
                    },
                ]);
            }
            Dev::Rng => {
                c.args(["-device", "virtio-rng-device"]);
            }
        }
    }
    c.args(&machine.extra);
    c.arg("-kernel").arg(kernel);
    c
}

/// A running QEMU: its console lines as they come.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: mpsc::Receiver<String>,
    readers: Vec<JoinHandle<()>>,
    lines: Vec<String>,
    echo: bool,
    start: Instant,
}

impl Session {
    /// Starts `cmd`, echoing the console if `echo`.
    pub fn start(mut cmd: Command, echo: bool) -> Result<Session, String> {
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
        Ok(Session {
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

/// Runs `cmd` until the kernel's verdict (`neuron: all tasks ended as
/// expected`) and the lines starting with each of `then` after it, and
/// stops it then, so that a system whose tasks serve until the machine
/// stops ends too; a system that fails before its verdict exits by itself.
/// `timeout` bounds the wait.
pub fn run_to_verdict(cmd: Command, timeout: Duration, then: &[String]) -> Result<Run, String> {
    let deadline = Instant::now() + timeout;
    let mut session = Session::start(cmd, false)?;
    if session.wait_for(VERDICT, deadline) {
        for prefix in then {
            if !session.wait_for(prefix, deadline) {
                break;
            }
        }
        session.stop(STOP_GRACE)
    } else {
        session.finish(deadline)
    }
}

/// Runs `cmd`, echoing the console if `echo`, until it exits or `timeout`.
pub fn run(cmd: Command, timeout: Duration, echo: bool) -> Result<Run, String> {
    let deadline = Instant::now() + timeout;
    Session::start(cmd, echo)?.finish(deadline)
}
