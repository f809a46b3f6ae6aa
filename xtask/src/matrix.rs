//! `cargo xtask matrix`: the same image booted on many QEMU `virt`
//! configurations, each with the outcome it must have.

use std::fs;
use std::path::Path;
use std::time::Duration;

use nexus_virtio::disk_pattern::SECTOR_SIZE;

use crate::qemu::{self, Dev, Machine};
use crate::system::Transport;
use crate::{image, markers, rtc, setup};

/// The disk a row boots with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Disk {
    /// The standard 32 MiB image.
    Standard,
    /// Eight sectors (each holding its number): too small for the scratch
    /// sector.
    Tiny,
}

/// What a row must end with.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// QEMU exits 0, the blk image check passes, every marker of
    /// `xtask/markers.txt` appears (if `all_markers`), and so does every
    /// line of `lines` (each a substring of some console line); the RTC
    /// check passes if `rtc` (fails if not).
    Pass {
        all_markers: bool,
        rtc: bool,
        lines: Vec<&'static str>,
    },
    /// QEMU exits `exit` and every line of `lines` appears.
    Stops { exit: i32, lines: Vec<&'static str> },
}

impl Expect {
    fn pass(lines: &[&'static str]) -> Expect {
        Expect::Pass {
            all_markers: true,
            rtc: true,
            lines: lines.to_vec(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Expect::Pass {
                all_markers,
                rtc,
                lines,
            } => {
                let mut s = String::from(if *all_markers {
                    "pass, every marker"
                } else {
                    "pass"
                });
                if !rtc {
                    s.push_str(", RTC check FAILED");
                }
                for l in lines {
                    s.push_str(&format!(" + `{l}`"));
                }
                s
            }
            Expect::Stops { exit, lines } => {
                let mut s = format!("exit {exit}");
                for l in lines {
                    s.push_str(&format!(" + `{l}`"));
                }
                s
            }
        }
    }
}

/// One configuration.
struct Row {
    name: &'static str,
    machine: Machine,
    disk: Disk,
    expect: Expect,
    /// The transport of blk and net: which system image boots.
    transport: Transport,
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn with(extra: &[&str]) -> Machine {
    Machine {
        extra: args(extra),
        ..Machine::default()
    }
}

fn memory(m: &str) -> Machine {
    Machine {
        memory: m.into(),
        ..Machine::default()
    }
}

fn order(devices: &[Dev]) -> Machine {
    Machine {
        devices: devices.to_vec(),
        ..Machine::default()
    }
}

/// What the standard system prints without interrupts (no PLIC): the
/// selftest skips its irq checks, and blkd and netd poll.
const POLLING: [&str; 6] = [
    "neuron: no PLIC for this hart",
    "blkd: no irq capability: polling",
    "netd: no irq capability: polling",
    "SELFTEST: virtio-blk write ok",
    "SELFTEST: virtio-net dhcp ok",
    "neuron: all tasks ended as expected",
];

fn rows() -> Vec<Row> {
    let row = |name, machine, expect| Row {
        name,
        machine,
        disk: Disk::Standard,
        expect,
        transport: Transport::Mmio,
    };
    // blk and net as virtio-pci functions, on the system built for PCI.
    let pci = |name, machine: Machine, expect| Row {
        name,
        machine: Machine {
            devices: Machine::for_transport(Transport::Pci).devices,
            ..machine
        },
        disk: Disk::Standard,
        expect,
        transport: Transport::Pci,
    };
    let pci_found = "neuron: pci 00:01.0 1af4:1042 class 01:00:00 pin A: bar 1 ";
    let cut = "using the 2048 MiB at 0x80000000 (the kernel maps only the low 4 GiB)";
    let aia = |name, opt: &'static str| {
        row(
            name,
            with(&["-machine", opt]),
            Expect::Pass {
                all_markers: false,
                rtc: true,
                lines: [
                    &["neuron: device virtio-blk at 0x10008000 (irq 8)"][..],
                    &POLLING[..],
                ]
                .concat(),
            },
        )
    };
    use Dev::{Blk, Net, Rng};
    vec![
        row("default", Machine::default(), Expect::pass(&[])),
        row(
            "-m 64M",
            memory("64M"),
            Expect::pass(&["neuron: 64 MiB RAM,"]),
        ),
        row(
            "-m 512M",
            memory("512M"),
            Expect::pass(&["neuron: 512 MiB RAM,"]),
        ),
        row(
            "-m 2G",
            memory("2G"),
            Expect::pass(&["neuron: 2048 MiB RAM,"]),
        ),
        row(
            "-m 3G",
            memory("3G"),
            Expect::pass(&["neuron: 3072 MiB RAM;", cut]),
        ),
        row(
            "-m 8G",
            memory("8G"),
            Expect::pass(&["neuron: 8192 MiB RAM;", cut]),
        ),
        row(
            "-m 8G, two NUMA nodes",
            Machine {
                memory: "8G".into(),
                extra: args(&[
                    "-smp",
                    "2",
                    "-object",
                    "memory-backend-ram,id=m0,size=4G",
                    "-object",
                    "memory-backend-ram,id=m1,size=4G",
                    "-numa",
                    "node,memdev=m0,cpus=0",
                    "-numa",
                    "node,memdev=m1,cpus=1",
                ]),
                ..Machine::default()
            },
            // Both nodes' harts and PLICs: QEMU wires the devices to the
            // second node's PLIC, which serves only hart 1. OpenSBI boots
            // on either hart: on hart 0 blkd polls, on hart 1 it gets its
            // interrupt.
            Expect::Pass {
                all_markers: false,
                rtc: true,
                lines: vec![
                    "neuron: 8192 MiB RAM;",
                    cut,
                    "no irq for blkd: its device interrupts another controller\
                     |neuron: granted irq 8 to blkd",
                    "blkd: no irq capability: polling|SELFTEST: irq ok",
                    "SELFTEST: virtio-blk write ok",
                    "SELFTEST: virtio-net dhcp ok",
                    "neuron: all tasks ended as expected",
                ],
            },
        ),
        row("-smp 2", with(&["-smp", "2"]), Expect::pass(&[])),
        row("-smp 4", with(&["-smp", "4"]), Expect::pass(&[])),
        row("-smp 22", with(&["-smp", "22"]), Expect::pass(&[])),
        row("-smp 32", with(&["-smp", "32"]), Expect::pass(&[])),
        row(
            "order net, rng, blk, rng",
            order(&[Net, Rng, Blk, Rng]),
            Expect::pass(&["neuron: device virtio-blk at 0x10006000 (irq 6)"]),
        ),
        row(
            "order rng, rng, net, blk",
            order(&[Rng, Rng, Net, Blk]),
            Expect::pass(&["neuron: device virtio-blk at 0x10005000 (irq 5)"]),
        ),
        row(
            "extra virtio-keyboard, virtio-gpu",
            with(&[
                "-device",
                "virtio-keyboard-device",
                "-device",
                "virtio-gpu-device",
            ]),
            Expect::pass(&[
                "neuron: device virtio-18 at 0x10004000 (irq 4)",
                "neuron: device virtio-16 at 0x10003000 (irq 3)",
            ]),
        ),
        row(
            "extra PCI virtio-rng-pci, e1000",
            with(&["-device", "virtio-rng-pci", "-device", "e1000,romfile="]),
            Expect::pass(&[]),
        ),
        row(
            "-rtc base=2020-01-01",
            with(&["-rtc", "base=2020-01-01"]),
            Expect::Pass {
                all_markers: true,
                rtc: false,
                lines: vec!["rtcd: the RTC reads 15778"],
            },
        ),
        aia("aia=aplic", "virt,aia=aplic"),
        aia("aia=aplic-imsic", "virt,aia=aplic-imsic"),
        row(
            "-cpu rv64,mmu=false",
            with(&["-cpu", "rv64,mmu=false"]),
            Expect::Stops {
                exit: 5,
                lines: vec!["NEURON needs Sv39 paging"],
            },
        ),
        row(
            "legacy virtio-mmio",
            Machine {
                modern: false,
                ..Machine::default()
            },
            Expect::Stops {
                exit: 1,
                lines: vec![
                    "blkd: FAIL virtio-blk initialisation: legacy transport (Version 1)",
                    "netd: virtio-net initialisation: legacy transport (Version 1)",
                ],
            },
        ),
        row(
            "read-only disk",
            Machine {
                readonly_disk: true,
                ..Machine::default()
            },
            Expect::Stops {
                exit: 1,
                lines: vec![
                    "blkd: FAIL writing the scratch sector: the disk is read-only (VIRTIO_BLK_F_RO)",
                ],
            },
        ),
        pci(
            "pci",
            Machine::default(),
            Expect::pass(&[pci_found, "neuron: granted pci:1af4:1042#0 bar 4 to blkd"]),
        ),
        pci(
            "pci, -m 8G",
            memory("8G"),
            Expect::pass(&[pci_found, "neuron: 8192 MiB RAM;"]),
        ),
        pci(
            "pci, aia=aplic",
            with(&["-machine", "virt,aia=aplic"]),
            Expect::Pass {
                all_markers: false,
                rtc: true,
                lines: vec![
                    pci_found,
                    "neuron: no PLIC for this hart",
                    "blkd: no irq capability: polling",
                    "SELFTEST: virtio-pci blk ok",
                    "SELFTEST: virtio-net dhcp ok",
                    "neuron: all tasks ended as expected",
                ],
            },
        ),
        Row {
            machine: Machine {
                devices: vec![Dev::BlkPciTransitional, Dev::NetPci, Dev::Rng, Dev::Rng],
                ..Machine::default()
            },
            ..pci(
                "pci, transitional virtio-blk-pci",
                Machine::default(),
                Expect::Stops {
                    exit: 1,
                    lines: vec![
                        "neuron: pci 00:01.0 1af4:1001",
                        "neuron: cannot grant pci:1af4:1042#0 bar 4 to blkd: no such PCI function",
                    ],
                },
            )
        },
        Row {
            name: "8-sector disk",
            machine: Machine::default(),
            disk: Disk::Tiny,
            transport: Transport::Mmio,
            expect: Expect::Stops {
                exit: 1,
                lines: vec![
                    "blkd: the disk has 8 sectors; the scratch sector is 4096",
                    "blkd: FAIL writing the scratch sector: the disk is too small",
                ],
            },
        },
    ]
}

/// The time a row gets: `timeout`, times one per 8 harts of `-smp` (each
/// hart is a host thread that QEMU's TCG runs, parked or not).
fn row_timeout(machine: &Machine, timeout: Duration) -> Duration {
    let harts = machine
        .extra
        .windows(2)
        .find(|w| w[0] == "-smp")
        .and_then(|w| w[1].parse::<u32>().ok())
        .unwrap_or(1);
    timeout * harts.div_ceil(8).max(1)
}

/// What a run produced, reduced to what rows are judged on.
struct Seen<'a> {
    lines: &'a [String],
    exit: Option<i32>,
    markers_ok: bool,
    image_ok: bool,
    rtc_ok: bool,
}

/// Whether `seen` is what `expect` asks for, and the outcome in words.
fn judge(expect: &Expect, seen: &Seen<'_>) -> (bool, String) {
    // `a|b`: either line will do.
    let has = |want: &str| {
        want.split('|')
            .any(|alt| seen.lines.iter().any(|l| l.contains(alt)))
    };
    let exit = match seen.exit {
        Some(c) => format!("exit {c}"),
        None => "timed out or killed".into(),
    };
    let (want_exit, all_markers, want_rtc, lines) = match expect {
        Expect::Pass {
            all_markers,
            rtc,
            lines,
        } => (0, *all_markers, Some(*rtc), lines),
        Expect::Stops { exit, lines } => (*exit, false, None, lines),
    };
    let mut outcome = exit;
    let mut ok = seen.exit == Some(want_exit);
    if want_exit == 0 {
        if !seen.image_ok {
            outcome.push_str(", blk image check FAILED");
            ok = false;
        }
        if all_markers {
            outcome.push_str(if seen.markers_ok {
                ", every marker"
            } else {
                ", markers MISSING"
            });
            ok &= seen.markers_ok;
        }
    }
    if let Some(want) = want_rtc {
        outcome.push_str(if seen.rtc_ok {
            ", RTC check ok"
        } else {
            ", RTC check FAILED"
        });
        ok &= seen.rtc_ok == want;
    }
    for l in lines {
        if !has(l) {
            outcome.push_str(&format!(", no `{l}`"));
            ok = false;
        }
    }
    if ok && !lines.is_empty() {
        outcome.push_str(", lines seen");
    }
    (ok, outcome)
}

/// `cargo xtask matrix`.
pub fn run(root: &Path, timeout: Duration) -> Result<(), String> {
    setup::ensure_target()?;
    setup::ensure_qemu()?;
    let mmio_img = image::build(root, Transport::Mmio)?;
    let pci_img = image::build(root, Transport::Pci)?;
    let list = fs::read_to_string(root.join("xtask/markers.txt"))
        .map_err(|e| format!("cannot read xtask/markers.txt: {e}"))?;
    let pci_list = fs::read_to_string(root.join("xtask/markers-pci.txt"))
        .map_err(|e| format!("cannot read xtask/markers-pci.txt: {e}"))?;
    let mmio_expected = markers::parse(&list);
    let pci_expected = markers::parse(&(list + &pci_list));
    let dir = root.join("target").join("neuron").join("matrix");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // The lines that follow the verdict of a system whose tasks serve:
    // each serving task's line, and netd's report that it listens.
    let system = crate::system::load(&root.join("system.toml"), crate::system::Transport::Mmio)?;
    let mut then: Vec<String> = system
        .serving()
        .map(|t| format!("neuron: task {} serves until the machine stops", t.name))
        .collect();
    if system.serving().any(|t| t.name == "netd") {
        then.push("netd: serving ".into());
    }
    let rows = rows();
    let mut failed = Vec::new();
    println!("{:<36} {:<8} expected / outcome", "configuration", "result");
    for (i, row) in rows.iter().enumerate() {
        let disk = dir.join(format!("disk-{i}.img"));
        image::write_disk(&disk)?;
        if row.disk == Disk::Tiny {
            let data = fs::read(&disk).map_err(|e| format!("cannot read disk: {e}"))?;
            fs::write(&disk, &data[..8 * SECTOR_SIZE])
                .map_err(|e| format!("cannot write disk: {e}"))?;
        }
        let (img, expected) = match row.transport {
            Transport::Mmio => (&mmio_img, &mmio_expected),
            Transport::Pci => (&pci_img, &pci_expected),
        };
        let cmd = qemu::machine_command(&img.kernel, &disk, &row.machine);
        let before = rtc::host_now();
        // netd serves until the machine stops: each run ends at the verdict
        // (and the serving lines after it).
        let run = qemu::run_to_verdict(cmd, row_timeout(&row.machine, timeout), &then)?;
        let after = rtc::host_now();
        let found = markers::check(expected, &run.lines);
        let seen = Seen {
            lines: &run.lines,
            exit: run.exit,
            markers_ok: found.iter().all(Option::is_some),
            image_ok: image::check_scratch_sector(&disk).is_ok(),
            rtc_ok: rtc::check(&run.lines, before, after).is_ok(),
        };
        let (ok, outcome) = judge(&row.expect, &seen);
        println!(
            "{:<36} {:<8} expected {}\n{:<45} got      {outcome} ({:.1}s)",
            row.name,
            if ok { "ok" } else { "FAILED" },
            row.expect.describe(),
            "",
            run.elapsed.as_secs_f64()
        );
        if !ok {
            failed.push(row.name);
            let from = run.lines.len().saturating_sub(12);
            for l in &run.lines[from..] {
                println!("{:<45} | {l}", "");
            }
        }
        let _ = fs::remove_file(&disk);
    }
    println!(
        "\nmatrix: {} of {} configurations as expected",
        rows.len() - failed.len(),
        rows.len()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("not as expected: {}", failed.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_pass_needs_exit_0_markers_image_and_lines() {
        let lines = console(&["neuron: 3072 MiB RAM; using"]);
        let expect = Expect::pass(&["3072 MiB RAM;"]);
        let ok = |exit, markers_ok, image_ok| {
            judge(
                &expect,
                &Seen {
                    lines: &lines,
                    exit,
                    markers_ok,
                    image_ok,
                    rtc_ok: true,
                },
            )
            .0
        };
        assert!(ok(Some(0), true, true));
        assert!(!ok(Some(1), true, true));
        assert!(!ok(None, true, true));
        assert!(!ok(Some(0), false, true));
        assert!(!ok(Some(0), true, false));
        let missing = Expect::pass(&["8192 MiB"]);
        let (pass, outcome) = judge(
            &missing,
            &Seen {
                lines: &lines,
                exit: Some(0),
                markers_ok: true,
                image_ok: true,
                rtc_ok: true,
            },
        );
        assert!(!pass);
        assert!(outcome.contains("no `8192 MiB`"), "{outcome}");
    }

    #[test]
    fn alternatives_and_slow_rows() {
        let lines = console(&["SELFTEST: irq ok"]);
        let judged = |want: &'static str| {
            judge(
                &Expect::pass(&[want]),
                &Seen {
                    lines: &lines,
                    exit: Some(0),
                    markers_ok: true,
                    image_ok: true,
                    rtc_ok: true,
                },
            )
            .0
        };
        assert!(judged("polling|SELFTEST: irq ok"));
        assert!(judged("SELFTEST: irq ok|polling"));
        assert!(!judged("polling|no irq"));
        let t = Duration::from_secs(60);
        assert_eq!(row_timeout(&Machine::default(), t), t);
        assert_eq!(row_timeout(&with(&["-smp", "4"]), t), t);
        assert_eq!(row_timeout(&with(&["-smp", "32"]), t), t * 4);
    }

    #[test]
    fn a_stop_needs_its_exit_code_and_lines() {
        let lines = console(&["neuron: ... NEURON needs Sv39 paging"]);
        let expect = Expect::Stops {
            exit: 5,
            lines: vec!["NEURON needs Sv39 paging"],
        };
        let judge_exit = |exit| {
            judge(
                &expect,
                &Seen {
                    lines: &lines,
                    exit,
                    markers_ok: false,
                    image_ok: false,
                    rtc_ok: false,
                },
            )
            .0
        };
        assert!(judge_exit(Some(5)));
        assert!(!judge_exit(Some(0)));
        assert!(!judge_exit(None));
        let other = Expect::Stops {
            exit: 5,
            lines: vec!["something else"],
        };
        let s = Seen {
            lines: &lines,
            exit: Some(5),
            markers_ok: false,
            image_ok: false,
            rtc_ok: false,
        };
        assert!(!judge(&other, &s).0);
    }

    #[test]
    fn the_rtc_check_must_come_out_as_expected() {
        let lines = console(&["rtcd: the RTC reads 1577836800.000 s"]);
        let seen = |rtc_ok| Seen {
            lines: &lines,
            exit: Some(0),
            markers_ok: true,
            image_ok: true,
            rtc_ok,
        };
        let off = Expect::Pass {
            all_markers: true,
            rtc: false,
            lines: vec![],
        };
        assert!(judge(&off, &seen(false)).0);
        assert!(!judge(&off, &seen(true)).0);
        assert!(judge(&Expect::pass(&[]), &seen(true)).0);
        assert!(!judge(&Expect::pass(&[]), &seen(false)).0);
    }

    #[test]
    fn every_row_has_a_distinct_name() {
        let rows = rows();
        let mut names: Vec<_> = rows.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), rows.len());
    }
}
