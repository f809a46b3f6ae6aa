//! `run`, `test` and `lint`: the QEMU selftest against the marker list,
//! the host tests, Miri, the packaging check of mmio-types, asm-check, and
//! the final tally.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::system::Transport;
use crate::{TARGET, asm_check, hostcheck, image, markers, qemu, rtc, setup};

/// The marker list the selftest run is checked against.
const MARKERS: &str = "xtask/markers.txt";
/// Further markers of a system on the PCI transport.
const PCI_MARKERS: &str = "xtask/markers-pci.txt";
/// netd's line once its services listen.
const NETD_SERVING: &str = "netd: serving ";
/// `--serve`: how long the machine stays up unless interrupted.
const SERVE_FOREVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The outcome of every check, in the order they ran.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
}

impl Tally {
    fn record(&mut self, name: &str, ok: bool) {
        if ok {
            self.passed += 1;
        } else {
            self.failed.push(name.to_string());
        }
    }

    fn add(&mut self, name: &str, passed: usize, failed: usize) {
        self.passed += passed;
        for i in 0..failed {
            self.failed.push(format!("{name} #{}", i + 1));
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs a `cargo test`-like command, echoing its output; returns the summed
/// `N passed; M failed` counts, or one failure if it failed without any.
fn run_tests(mut cmd: Command) -> (usize, usize) {
    let out = match cmd.stderr(Stdio::inherit()).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xtask: cannot run tests: {e}");
            return (0, 1);
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let (mut passed, mut failed) = (0, 0);
    for line in text.lines().filter(|l| l.starts_with("test result:")) {
        let num = |key: &str| {
            line.split(';')
                .find_map(|part| {
                    part.trim()
                        .strip_suffix(key)?
                        .split_whitespace()
                        .last()?
                        .parse()
                        .ok()
                })
                .unwrap_or(0)
        };
        passed += num(" passed");
        failed += num(" failed");
    }
    if !out.status.success() && failed == 0 {
        failed = 1;
    }
    (passed, failed)
}

/// Builds, boots and checks the system against the marker list. When tasks
/// serve until the machine stops, waits for the kernel's verdict, runs the
/// host-side checks of netd's services through the forwarded ports, then
/// stops the machine (or, with `serve`, leaves it up until interrupted).
fn selftest(
    root: &Path,
    timeout: Duration,
    echo: bool,
    serve: bool,
    transport: Transport,
    machine: &qemu::Machine,
    tally: &mut Tally,
) -> Result<(), String> {
    setup::ensure_qemu()?;
    let system = crate::system::load(&root.join("system.toml"), transport)?;
    let img = image::build(root, transport)?;
    let mut list = fs::read_to_string(root.join(MARKERS))
        .map_err(|e| format!("cannot read {MARKERS}: {e}"))?;
    if transport == Transport::Pci {
        list += &fs::read_to_string(root.join(PCI_MARKERS))
            .map_err(|e| format!("cannot read {PCI_MARKERS}: {e}"))?;
    }
    let expected = markers::parse(&list);
    println!(
        "xtask: booting NEURON under QEMU, virtio-blk and virtio-net on {} (timeout {}s)",
        match transport {
            Transport::Mmio => "virtio-mmio",
            Transport::Pci => "virtio-pci",
        },
        timeout.as_secs()
    );
    let fwd = qemu::Forwards::pick()?;
    let before = rtc::host_now();
    let deadline = Instant::now() + timeout;
    let machine = qemu::Machine {
        forwards: Some(fwd),
        ..machine.clone()
    };
    let cmd = qemu::machine_command(&img.kernel, &img.disk, &machine);
    let mut machine = qemu::Session::start(cmd, echo)?;
    let serving = system.serving().count() > 0;
    let netd = system.serving().any(|t| t.name == "netd");
    let mut checks = Vec::new();
    let mut verdict = false;
    let run = if serving && machine.wait_for(qemu::VERDICT, deadline) {
        verdict = true;
        if netd {
            if machine.wait_for(NETD_SERVING, deadline) {
                println!(
                    "xtask: netd's services, forwarded from the host:\n{}",
                    fwd.describe()
                );
                checks = hostcheck::run_all(&fwd);
                if echo {
                    // Streaming: the rows now, beside the console.
                    print_checks(&checks);
                }
            } else {
                checks.push(hostcheck::Check {
                    name: "host checks",
                    result: Err("netd never reported its services listening".into()),
                });
            }
        }
        if serve {
            println!(
                "xtask: the system stays up until interrupted (Ctrl-C); the services:\n{}",
                fwd.describe()
            );
            machine.finish(Instant::now() + SERVE_FOREVER)?
        } else {
            machine.stop(qemu::STOP_GRACE)?
        }
    } else {
        machine.finish(deadline)?
    };
    let after = rtc::host_now();
    let found = markers::check(&expected, &run.lines);

    println!("\n{:<8} marker", "result");
    for (m, f) in expected.iter().zip(&found) {
        let tag = if f.is_some() { "seen" } else { "MISSING" };
        println!("{tag:<8} {}{}", if m.ordered { "" } else { "~ " }, m.text);
        tally.record(
            &format!("{}marker `{}`", tag_of(transport), m.text),
            f.is_some(),
        );
    }
    if !echo {
        print_checks(&checks);
    }
    for c in &checks {
        tally.record(
            &format!("{}{}", tag_of(transport), c.name),
            c.result.is_ok(),
        );
    }
    // A serving system succeeded if the kernel gave its verdict and the
    // machine was still up (no task failed since) when xtask stopped it.
    let exit_ok = if serving {
        verdict && run.stopped && run.exit == Some(0)
    } else {
        run.exit == Some(0)
    };
    let exit_desc = match (run.timed_out, run.exit, run.stopped) {
        (true, _, _) => format!("timed out after {}s", timeout.as_secs()),
        (false, Some(c), true) => {
            format!("still serving after the verdict; stopped by xtask (exit code {c})")
        }
        (false, Some(c), false) if serving => {
            format!("exited by itself with code {c} before it was stopped")
        }
        (false, Some(c), false) => format!("exit code {c}"),
        (false, None, _) => "killed by a signal".into(),
    };
    println!(
        "{:<8} QEMU {exit_desc} ({:.1}s)",
        if exit_ok { "ok" } else { "FAILED" },
        run.elapsed.as_secs_f64()
    );
    tally.record(
        &format!(
            "{}QEMU exit status (system reported success)",
            tag_of(transport)
        ),
        exit_ok,
    );
    // What the blk driver wrote must be in the image file, read on the host.
    let image = image::check_scratch_sector(&img.disk);
    println!(
        "{:<8} blk image check{}",
        if image.is_ok() { "ok" } else { "FAILED" },
        image
            .as_ref()
            .err()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
    tally.record(
        &format!("{}blk image check", tag_of(transport)),
        image.is_ok(),
    );
    // What blk-client wrote through blkd must be in the image file too.
    let client = image::check_client_sectors(&img.disk);
    println!(
        "{:<8} blk client image check{}",
        if client.is_ok() { "ok" } else { "FAILED" },
        client
            .as_ref()
            .err()
            .map(|e| format!(": {e}"))
            .unwrap_or_default()
    );
    tally.record(
        &format!("{}blk client image check", tag_of(transport)),
        client.is_ok(),
    );
    // Every client of blkd that ended (blk-victim's 20 restarts and its
    // kill) gave back every buffer it had at the disk. How many were there
    // depends on scheduling (on PCI often none in 21 ends); the bench's
    // 1000 restarts count thousands.
    let reclaims = crate::reclaim::count(&run.lines);
    let reclaimed = reclaims.ends >= 21 && reclaims.leaked() == 0;
    println!(
        "{:<8} blk reclaim check ({} client end(s) noticed by blkd, {} request(s) at the disk, \
         {} came back)",
        if reclaimed { "ok" } else { "FAILED" },
        reclaims.ends,
        reclaims.at_disk,
        reclaims.came_back
    );
    tally.record(
        &format!(
            "{}blk reclaim check (every buffer of an ended client came back)",
            tag_of(transport)
        ),
        reclaimed,
    );
    // The RTC's reading against the host's clock around the run.
    let (tag, report) = match rtc::check(&run.lines, before, after) {
        Ok(r) => ("ok", r),
        Err(r) => ("FAILED", r),
    };
    println!("{tag:<8} SELFTEST: rtc ok ({report})");
    tally.record(
        &format!(
            "{}SELFTEST: rtc ok (the RTC against the host clock)",
            tag_of(transport)
        ),
        tag == "ok",
    );

    let first_missing = expected.iter().zip(&found).find(|(_, f)| f.is_none());
    if let Some((m, _)) = first_missing {
        println!("\nfirst missing marker: {}", m.text);
    }
    if first_missing.is_some() || !exit_ok {
        println!("last 30 console lines:");
        let from = run.lines.len().saturating_sub(30);
        for l in &run.lines[from..] {
            println!("  | {l}");
        }
    }
    Ok(())
}

/// How failures of a run on `transport` are named: runs on PCI say so.
fn tag_of(transport: Transport) -> &'static str {
    match transport {
        Transport::Mmio => "",
        Transport::Pci => "pci: ",
    }
}

/// Prints the host checks' result rows.
fn print_checks(checks: &[hostcheck::Check]) {
    for c in checks {
        match &c.result {
            Ok(detail) => println!("{:<8} {}: {detail}", "ok", c.name),
            Err(why) => println!("{:<8} {}: {why}", "FAILED", c.name),
        }
    }
}

/// `cargo xtask run`, with `qemu_args` appended to QEMU's command line;
/// with `serve`, the system stays up after the checks until interrupted.
pub fn run_system(
    root: &Path,
    timeout: Duration,
    serve: bool,
    qemu_args: &[String],
    transport: Transport,
) -> Result<(), String> {
    setup::ensure_target()?;
    let mut tally = Tally::default();
    let machine = qemu::Machine {
        extra: qemu_args.to_vec(),
        ..qemu::Machine::for_transport(transport)
    };
    selftest(root, timeout, true, serve, transport, &machine, &mut tally)?;
    if tally.failed.is_empty() {
        println!("xtask: NEURON ran and every expected marker appeared");
        Ok(())
    } else {
        Err(format!("{} check(s) failed", tally.failed.len()))
    }
}

fn miri(root: &Path, tally: &mut Tally) {
    let ready = Command::new("rustup")
        .current_dir(root)
        .args([
            "component",
            "add",
            "miri",
            "rust-src",
            "--toolchain",
            "nightly",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        println!("xtask: SKIPPING Miri: no nightly toolchain with the miri component here");
        return;
    }
    println!(
        "xtask: host tests of mmio-types, ring-types and the drivers tested with scripted devices, under Miri"
    );
    // Through rustup: `cargo` here may be the pinned toolchain's binary,
    // which knows no `+toolchain`.
    let mut cmd = Command::new("rustup");
    cmd.current_dir(root)
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .args([
            "run",
            "nightly",
            "cargo",
            "miri",
            "test",
            "-p",
            "mmio-types",
            "-p",
            "ns16550a",
            "-p",
            "goldfish-rtc",
            "-p",
            "ring-types",
        ]);
    let (p, f) = run_tests(cmd);
    tally.add(
        "miri test -p mmio-types -p ns16550a -p goldfish-rtc -p ring-types",
        p,
        f,
    );
}

/// `cargo package -p mmio-types`, offline and verified with every feature:
/// the crate builds from its packaged sources alone (no path-only
/// dependency in its normal build), so it could be published.
fn package_mmio_types(root: &Path, tally: &mut Tally) {
    println!("xtask: mmio-types packages on its own");
    let ok = cargo()
        .current_dir(root)
        .args([
            "package",
            "--offline",
            "--allow-dirty",
            "--all-features",
            "-p",
            "mmio-types",
        ])
        .status()
        .is_ok_and(|s| s.success());
    println!(
        "{:<8} cargo package -p mmio-types (verified offline)",
        if ok { "ok" } else { "FAILED" }
    );
    tally.record("cargo package -p mmio-types", ok);
}

/// `cargo xtask test`.
pub fn test_all(root: &Path, timeout: Duration) -> Result<(), String> {
    setup::ensure_target()?;
    let mut tally = Tally::default();

    println!("xtask: host tests (every host crate, doc tests included)");
    let mut cmd = cargo();
    cmd.current_dir(root).arg("test");
    let (p, f) = run_tests(cmd);
    tally.add("host tests", p, f);

    miri(root, &mut tally);

    package_mmio_types(root, &mut tally);

    println!("xtask: asm-check");
    match asm_check::run(root) {
        Ok(lines) => tally.add("asm-check", lines.len().max(1), 0),
        Err(e) => {
            println!("asm-check FAILED: {e}");
            tally.record("asm-check", false);
        }
    }

    // The same system twice: blk and net on virtio-mmio, then on
    // virtio-pci.
    for transport in [Transport::Mmio, Transport::Pci] {
        let machine = qemu::Machine::for_transport(transport);
        if let Err(e) = selftest(root, timeout, false, false, transport, &machine, &mut tally) {
            println!("selftest could not run: {e}");
            tally.record(&format!("{}QEMU selftest", tag_of(transport)), false);
        }
    }

    println!();
    for f in &tally.failed {
        println!("FAILED: {f}");
    }
    println!("{} passed, {} failed", tally.passed, tally.failed.len());
    if tally.failed.is_empty() {
        Ok(())
    } else {
        Err("some checks failed".into())
    }
}

/// `cargo xtask lint`: clippy, warnings denied, for both targets. The
/// kernel and the programs are checked in separate invocations, as they are
/// built: the programs turn on `nexus-abi`'s runtime (with its panic
/// handler), which the kernel must not get through feature unification.
pub fn lint(root: &Path) -> Result<(), String> {
    setup::ensure_target()?;
    let system = crate::system::load(&root.join("system.toml"), Transport::Mmio)?;
    let clippy = |target: Option<&str>, packages: &[&str]| {
        let mut c = cargo();
        c.current_dir(root).arg("clippy");
        match target {
            Some(t) => {
                c.args(["--target", t]);
            }
            None => {
                c.arg("--all-targets");
            }
        }
        for p in packages {
            c.args(["-p", p]);
        }
        c.args(["--", "-D", "warnings"]);
        c
    };
    let mut programs: Vec<&str> = system.tasks.iter().map(|t| t.package.as_str()).collect();
    programs.push("blk-bench");
    programs.push("blk-ring-bench");
    programs.sort_unstable();
    programs.dedup();
    let kernel_side = [
        "neuron",
        "nexus-abi",
        "mmio-types",
        "ring-types",
        "nexus-virtio",
        "mmio-asm-probes",
        "goldfish-rtc",
        "ns16550a",
        "neuron-bench-baseline",
    ];
    let runs = [
        ("host", clippy(None, &[])),
        (
            "riscv64 kernel and libraries",
            clippy(Some(TARGET), &kernel_side),
        ),
        ("riscv64 programs", clippy(Some(TARGET), &programs)),
    ];
    for (what, mut cmd) in runs {
        println!("xtask: clippy ({what})");
        let ok = cmd.status().is_ok_and(|s| s.success());
        if !ok {
            return Err(format!("clippy ({what}) found problems"));
        }
    }
    // mmio-types' API docs: every item documented (`missing_docs` is
    // denied in the crate) and every intra-doc link resolved.
    println!("xtask: rustdoc (mmio-types, warnings denied)");
    let ok = cargo()
        .current_dir(root)
        .env("RUSTDOCFLAGS", "-D warnings")
        .args(["doc", "--no-deps", "--all-features", "-p", "mmio-types"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err("rustdoc (mmio-types) found problems".into());
    }
    Ok(())
}
