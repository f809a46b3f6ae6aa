//! `cargo xtask bench`: NEURON's userspace virtio-blk driver and system
//! calls against the kernel-side `virtio-drivers` crate, on the same machine
//! in the same invocation.
//!
//! Each image prints `BENCH: <name> <value> <unit>` lines. Throughput comes
//! from a plain run (wall clock from the `time` CSR); instruction counts from
//! a run under `-icount shift=0`, where `instret` counts guest instructions
//! exactly. The network figures come from the standard system, measured
//! from the host through the forwarded ports (see `netbench`).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::{baseline, image, netbench, qemu, setup};

/// The bench system description (the `blk-bench` program and its grants).
const BENCH_SYSTEM: &str = "xtask/bench-system.toml";
/// The client-path system: `blkd` serving `blk-ring-bench` over a channel.
const RING_SYSTEM: &str = "xtask/bench-ring-system.toml";
/// The kill run's system: `blk-restarter` restarting `blk-victim`, a
/// client of `blkd`, mid-stream.
const RESTART_SYSTEM: &str = "xtask/bench-restart-system.toml";
/// Plain runs of the client-path system (each reads 80 MiB).
const RING_ROUNDS: usize = 3;

/// One measured figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

/// Parses the `BENCH:` lines of a console log. `BENCH: FAIL ...` is an error.
pub fn parse(lines: &[String]) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    let mut done = false;
    for l in lines {
        let Some(rest) = l.trim().strip_prefix("BENCH:") else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with("FAIL") {
            return Err(rest.to_string());
        }
        if rest == "done" {
            done = true;
            continue;
        }
        let mut parts = rest.splitn(3, ' ');
        let (Some(name), Some(value), Some(unit)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("malformed bench line: {l}"));
        };
        let value = value
            .parse()
            .map_err(|_| format!("malformed bench value: {l}"))?;
        figures.push(Figure {
            name: name.into(),
            value,
            unit: unit.trim().into(),
        });
    }
    if !done {
        return Err("the run did not finish (no `BENCH: done`)".into());
    }
    Ok(figures)
}

fn find<'a>(figs: &'a [Figure], name: &str) -> Result<&'a Figure, String> {
    figs.iter()
        .find(|f| f.name == name)
        .ok_or_else(|| format!("no `{name}` figure"))
}

/// Plain runs of each image, alternated (and which goes first alternating
/// too) so that load on the host falls on both alike; each figure is the
/// median over the rounds.
const ROUNDS: usize = 5;

/// Boots `kernel` once (under `-icount shift=0` if `icount`) and returns
/// its figures.
fn run_once(kernel: &Path, disk: &Path, icount: bool, what: &str) -> Result<Vec<Figure>, String> {
    image::write_disk(disk)?;
    let extra: Vec<String> = if icount {
        vec!["-icount".into(), "shift=0".into()]
    } else {
        Vec::new()
    };
    println!(
        "xtask: bench {what}{}",
        if icount { " under -icount shift=0" } else { "" }
    );
    let run = qemu::run(
        qemu::command(kernel, disk, &extra),
        Duration::from_secs(300),
        false,
    )?;
    parse(&run.lines).map_err(|e| {
        let from = run.lines.len().saturating_sub(15);
        format!("{what}: {e}\n  | {}", run.lines[from..].join("\n  | "))
    })
}

/// The per-name median of several runs' figures (names of the first run).
fn median_of(runs: &[Vec<Figure>]) -> Vec<Figure> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|f| {
            let mut v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.iter().find(|g| g.name == f.name).map(|g| g.value))
                .collect();
            v.sort_by(f64::total_cmp);
            Figure {
                value: v[v.len() / 2],
                ..f.clone()
            }
        })
        .collect()
}

/// `cargo xtask bench --only <part>`: one part's raw figures (medians of
/// the plain runs, then the `-icount` run), for working on that part.
pub fn run_part(root: &Path, part: &str, instructions_only: bool) -> Result<(), String> {
    setup::ensure_target()?;
    setup::ensure_qemu()?;
    let figures = match part {
        "blk" | "ring" => {
            let (file, name, what) = if part == "blk" {
                (BENCH_SYSTEM, "bench", "NEURON blk-bench")
            } else {
                (RING_SYSTEM, "bench-ring", "blk-ring-bench through blkd")
            };
            let img = image::build_system(root, file, name, crate::system::Transport::Mmio)?;
            let rounds = match (instructions_only, part) {
                (true, _) => 0,
                (false, "blk") => ROUNDS,
                (false, _) => RING_ROUNDS,
            };
            let runs = (0..rounds)
                .map(|_| run_once(&img.kernel, &img.disk, false, what))
                .collect::<Result<Vec<_>, _>>()?;
            let mut figs = median_of(&runs);
            figs.extend(run_once(&img.kernel, &img.disk, true, what)?);
            figs
        }
        "kill" => kill_figures(root)?,
        _ => {
            let system = image::build(root, crate::system::Transport::Mmio)?;
            let mut figs = if instructions_only {
                Vec::new()
            } else {
                netbench::throughput(&system.kernel, &system.disk)?
            };
            figs.extend(netbench::instructions(&system.kernel, &system.disk)?);
            figs
        }
    };
    for f in &figures {
        println!("{}", line(f));
    }
    Ok(())
}

/// `cargo xtask bench`; with `instructions_only`, just the `-icount` runs.
pub fn run(root: &Path, instructions_only: bool) -> Result<(), String> {
    setup::ensure_target()?;
    setup::ensure_qemu()?;
    let img = image::build_system(root, BENCH_SYSTEM, "bench", crate::system::Transport::Mmio)?;
    let base_elf = baseline::build(root)?;

    let ours = "NEURON blk-bench";
    let base = "virtio-drivers baseline";
    let (mut ours_runs, mut base_runs) = (Vec::new(), Vec::new());
    let rounds = if instructions_only { 0 } else { ROUNDS };
    for round in 0..rounds {
        // Which image goes first alternates, so neither always follows the
        // other (order has shown up in the figures).
        if round % 2 == 0 {
            ours_runs.push(run_once(&img.kernel, &img.disk, false, ours)?);
            base_runs.push(run_once(&base_elf, &img.disk, false, base)?);
        } else {
            base_runs.push(run_once(&base_elf, &img.disk, false, base)?);
            ours_runs.push(run_once(&img.kernel, &img.disk, false, ours)?);
        }
    }
    let (ours_plain, base_plain) = (median_of(&ours_runs), median_of(&base_runs));
    let ours_icount = run_once(&img.kernel, &img.disk, true, ours)?;
    let base_icount = run_once(&base_elf, &img.disk, true, base)?;
    // The client path: blk-ring-bench through blkd's rings.
    let ring = image::build_system(
        root,
        RING_SYSTEM,
        "bench-ring",
        crate::system::Transport::Mmio,
    )?;
    let ring_name = "blk-ring-bench through blkd";
    let mut ring_runs = Vec::new();
    for _ in 0..if instructions_only { 0 } else { RING_ROUNDS } {
        ring_runs.push(run_once(&ring.kernel, &ring.disk, false, ring_name)?);
    }
    let ring_plain = median_of(&ring_runs);
    let ring_icount = run_once(&ring.kernel, &ring.disk, true, ring_name)?;
    // The network figures come from the standard system, where netd runs.
    let system = image::build(root, crate::system::Transport::Mmio)?;
    let net_plain = if instructions_only {
        Vec::new()
    } else {
        netbench::throughput(&system.kernel, &system.disk)?
    };
    let net_icount = netbench::instructions(&system.kernel, &system.disk)?;

    let mut out: Vec<Figure> = Vec::new();
    let mut push = |name: &str, value: f64, unit: &str| {
        out.push(Figure {
            name: name.into(),
            value,
            unit: unit.into(),
        })
    };
    if !instructions_only {
        for name in ["blk_read_4k", "blk_read_64k"] {
            push(name, find(&ours_plain, name)?.value, "MiB/s");
        }
    }
    for f in &ours_icount {
        if f.unit == "instructions" || f.name == "irq_latency_samples" {
            push(&f.name, f.value, &f.unit);
        }
    }
    if !instructions_only {
        for name in ["blk_read_4k", "blk_read_64k"] {
            push(
                &format!("virtio_drivers_{name}"),
                find(&base_plain, name)?.value,
                "MiB/s",
            );
        }
    }
    for name in [
        "blk_instr_submit",
        "blk_instr_complete",
        "blk_instr_per_req",
    ] {
        push(
            &format!("virtio_drivers_{name}"),
            find(&base_icount, name)?.value,
            "instructions",
        );
    }
    if !instructions_only {
        let ratio_read =
            find(&ours_plain, "blk_read_64k")?.value / find(&base_plain, "blk_read_64k")?.value;
        push("blk_read_64k_vs_virtio_drivers", ratio_read, "ratio");
    }
    let ratio_instr = find(&ours_icount, "blk_instr_per_req")?.value
        / find(&base_icount, "blk_instr_per_req")?.value;
    push("blk_instr_per_req_vs_virtio_drivers", ratio_instr, "ratio");
    // The interrupt path (interrupt-driven reads against polled ones, in
    // the same run).
    if !instructions_only {
        for name in ["blk_irq_read_64k", "blk_poll_read_64k"] {
            push(name, find(&ours_plain, name)?.value, "MiB/s");
        }
        let vs = find(&ours_plain, "blk_irq_read_64k")?.value
            / find(&ours_plain, "blk_poll_read_64k")?.value;
        push("blk_irq_vs_poll_64k", vs, "ratio");
    }
    for (name, size) in [
        ("blk_irq_idle_ratio", "4k"),
        ("blk_irq_idle_ratio_64k", "64k"),
    ] {
        let irq = find(&ours_icount, &format!("blk_irq_instr_per_mib_{size}"))?.value;
        let poll = find(&ours_icount, &format!("blk_poll_instr_per_mib_{size}"))?.value;
        push(name, irq / poll.max(1.0), "ratio");
    }
    // Every run's completions and spurious wakeups count.
    let all = ours_runs.iter().chain(std::iter::once(&ours_icount));
    let (mut completions, mut spurious) = (0.0, 0.0);
    for run in all {
        completions += find(run, "irq_completions")?.value;
        spurious += find(run, "irq_spurious")?.value;
    }
    push("irq_completions", completions, "completions");
    push("irq_spurious", spurious, "wakeups");
    ring_figures(
        &mut out,
        &ring_plain,
        &ring_icount,
        &base_plain,
        instructions_only,
    )?;
    out.extend(net_plain);
    out.extend(net_icount);
    if !instructions_only {
        out.extend(kill_figures(root)?);
    }

    for f in &out {
        println!("{}", line(f));
    }

    let targets = targets(&out);
    println!();
    for (name, met, why) in &targets {
        println!(
            "target {}: {name} ({why})",
            if *met { "met" } else { "MISSED" }
        );
    }

    let dir = root.join("target").join("bench");
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("results.json");
    fs::write(&path, to_json(&out, &targets)).map_err(|e| format!("cannot write results: {e}"))?;
    println!("xtask: figures written to {}", path.display());
    Ok(())
}

/// The kill run: `blk-restarter` restarts `blk-victim` 1000 times while
/// its reads stream through blkd. From blkd's reports of each end before
/// the restarter's final line: the kills, the requests the victim had at
/// the disk then, and how many of those buffers never came back.
fn kill_figures(root: &Path) -> Result<Vec<Figure>, String> {
    let img = image::build_system(
        root,
        RESTART_SYSTEM,
        "bench-restart",
        crate::system::Transport::Mmio,
    )?;
    image::write_disk(&img.disk)?;
    println!("xtask: bench blk-restarter restarting blk-victim through blkd");
    let run = qemu::run(
        qemu::command(&img.kernel, &img.disk, &[]),
        Duration::from_secs(600),
        false,
    )?;
    let tail = || {
        let from = run.lines.len().saturating_sub(15);
        run.lines[from..].join("\n  | ")
    };
    let done = run
        .lines
        .iter()
        .position(|l| l.starts_with("blk-restarter: restarted blk-victim"));
    let failed = run
        .lines
        .iter()
        .any(|l| l.starts_with("blk-restarter: FAIL"));
    // A run that ended for another reason than a life that never streamed
    // (a channel never reset) measured nothing.
    let timed_out = run
        .lines
        .iter()
        .any(|l| l.contains("blk-victim did not report streaming"));
    if done.is_none() && !(failed && timed_out) {
        return Err(format!("the kill run did not finish:\n  | {}", tail()));
    }
    let lines = &run.lines[..done.unwrap_or(run.lines.len())];
    let kills = lines
        .iter()
        .filter(|l| l.starts_with("neuron: task blk-victim killed by blk-restarter"))
        .count();
    let r = crate::reclaim::count(lines);
    if r.ends != kills {
        return Err(format!(
            "blkd noticed {} of {kills} ends of blk-victim:\n  | {}",
            r.ends,
            tail()
        ));
    }
    let figure = |name: &str, value: usize, unit: &str| Figure {
        name: name.into(),
        value: value as f64,
        unit: unit.into(),
    };
    Ok(vec![
        figure("blk_client_kills", kills, "kills"),
        figure("blk_client_kill_at_disk", r.at_disk, "requests"),
        figure("blk_client_kill_leaks", r.leaked(), "buffers"),
    ])
}

/// The client-path figures: throughput through blkd's rings against
/// virtio-drivers at the same depth and at depth 1, and instructions per
/// request through the rings over blkd reading for itself.
fn ring_figures(
    out: &mut Vec<Figure>,
    ring_plain: &[Figure],
    ring_icount: &[Figure],
    base_plain: &[Figure],
    instructions_only: bool,
) -> Result<(), String> {
    let mut push = |name: &str, value: f64, unit: &str| {
        out.push(Figure {
            name: name.into(),
            value,
            unit: unit.into(),
        })
    };
    // `instr`: everything `instret` counted; `busy`: the same without the
    // stretches the hart idled in `wfi`, which the virtual clock counts
    // (`idle_stats`).
    for depth in ["qd16", "qd1"] {
        for kind in ["instr", "busy"] {
            let client = find(ring_icount, &format!("blk_client_{kind}_per_req_{depth}"))?.value;
            let own = find(ring_icount, &format!("blkd_{kind}_per_req_{depth}"))?.value;
            push(
                &format!("blk_client_{kind}_per_req_{depth}"),
                client,
                "instructions",
            );
            push(&format!("blkd_{kind}_per_req_{depth}"), own, "instructions");
            let ratio = match (kind, depth) {
                ("instr", "qd16") => "blk_client_instr_per_req_vs_blkd".to_string(),
                ("instr", _) => "blk_client_instr_per_req_vs_blkd_qd1".to_string(),
                _ => format!("blk_client_busy_per_req_vs_blkd_{depth}"),
            };
            push(&ratio, client / own.max(1.0), "ratio");
        }
    }
    if instructions_only {
        return Ok(());
    }
    // The depth sweep, each against virtio-drivers at the deepest queue it
    // reaches (the `_qd16` run, five requests in flight).
    let base16_4k = find(base_plain, "blk_read_4k_qd16")?.value;
    for depth in ["qd4", "qd8", "qd12"] {
        let v = find(ring_plain, &format!("blk_client_read_4k_{depth}"))?.value;
        push(&format!("blk_client_read_4k_{depth}"), v, "MiB/s");
        push(
            &format!("blk_read_4k_{depth}_vs_virtio_drivers"),
            v / base16_4k,
            "ratio",
        );
    }
    for size in ["4k", "64k"] {
        let q16 = find(ring_plain, &format!("blk_client_read_{size}_qd16"))?.value;
        let q1 = find(ring_plain, &format!("blk_client_read_{size}_qd1"))?.value;
        let base16 = find(base_plain, &format!("blk_read_{size}_qd16"))?.value;
        let base1 = find(base_plain, &format!("blk_read_{size}"))?.value;
        push(&format!("blk_client_read_{size}_qd16"), q16, "MiB/s");
        push(&format!("blk_client_read_{size}_qd1"), q1, "MiB/s");
        push(
            &format!("virtio_drivers_blk_read_{size}_qd16"),
            base16,
            "MiB/s",
        );
        push(
            &format!("blk_read_{size}_qd16_vs_virtio_drivers"),
            q16 / base16,
            "ratio",
        );
        push(
            &format!("blk_read_{size}_qd16_vs_virtio_drivers_qd1"),
            q16 / base1,
            "ratio",
        );
        push(
            &format!("blk_read_{size}_qd1_vs_virtio_drivers_qd1"),
            q1 / base1,
            "ratio",
        );
    }
    Ok(())
}

/// A figure's `bench:` line: a ratio with three decimals and no unit,
/// anything else with its unit.
fn line(f: &Figure) -> String {
    if f.unit == "ratio" {
        format!("bench: {} {:.3}", f.name, f.value)
    } else {
        format!("bench: {} {} {}", f.name, fmt_value(f.value), f.unit)
    }
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The project's performance targets, checked against the figures.
fn targets(figs: &[Figure]) -> Vec<(String, bool, String)> {
    let get = |n: &str| figs.iter().find(|f| f.name == n).map(|f| f.value);
    let mut t = Vec::new();
    let mut check = |name: &str, value: Option<f64>, ok: fn(f64) -> bool, limit: &str| {
        if let Some(v) = value {
            t.push((
                name.to_string(),
                ok(v),
                format!("{} vs {limit}", fmt_value_ratio(v)),
            ));
        }
    };
    check(
        "userspace blk read throughput >= virtio-drivers (64 KiB)",
        get("blk_read_64k_vs_virtio_drivers"),
        |v| v >= 1.0,
        ">= 1.0",
    );
    check(
        "userspace blk instructions per request <= virtio-drivers",
        get("blk_instr_per_req_vs_virtio_drivers"),
        |v| v <= 1.0,
        "<= 1.0",
    );
    check(
        "null syscall within 10% of a 92-instruction minimal trap",
        get("null_syscall"),
        |v| v <= 92.0 * 1.1,
        "<= 101",
    );
    check(
        "mmio_map under 300 instructions",
        get("mmio_map"),
        |v| v < 300.0,
        "< 300",
    );
    check(
        "blk_client_instr_per_req_vs_blkd: client -> ring -> blkd -> disk over blkd alone (16 in flight)",
        get("blk_client_instr_per_req_vs_blkd"),
        |v| v <= 1.15,
        "<= 1.15",
    );
    check(
        "blk_read_4k_qd16_vs_virtio_drivers: client through blkd over virtio-drivers, 16 in flight",
        get("blk_read_4k_qd16_vs_virtio_drivers"),
        |v| v >= 1.0,
        ">= 1.0",
    );
    check(
        "blk_read_64k_qd16_vs_virtio_drivers: client through blkd over virtio-drivers, 16 in flight",
        get("blk_read_64k_qd16_vs_virtio_drivers"),
        |v| v >= 1.0,
        ">= 1.0",
    );
    const LATENCY: &str = "irq_latency: interrupt taken to the waiter's next instruction";
    check(LATENCY, get("irq_latency"), |v| v <= 200.0, "<= 200");
    check(
        "irq_ack: the acknowledge call",
        get("irq_ack"),
        |v| v <= 110.0,
        "<= 110",
    );
    check(
        "blk_irq_idle_ratio: instructions per MiB (4 KiB reads), interrupt-driven over polled",
        get("blk_irq_idle_ratio"),
        |v| v <= 0.1,
        "<= 0.1",
    );
    check(
        "blk_irq_vs_poll_64k: throughput, interrupt-driven over polled",
        get("blk_irq_vs_poll_64k"),
        |v| v >= 0.9,
        ">= 0.9",
    );
    check(
        "net_client_instr_ratio: the udp-echo task over netd answering itself",
        get("net_client_instr_ratio"),
        |v| v <= 1.15,
        "<= 1.15",
    );
    check(
        "net_client_busy_ratio: the same, without netd's sleeps until its interrupt",
        get("net_client_busy_ratio"),
        |v| v <= 1.15,
        "<= 1.15",
    );
    if get("irq_latency").is_none() && get("irq_latency_samples") == Some(0.0) {
        t.push((
            LATENCY.into(),
            false,
            "not measured: every interrupt arrived before its wait".into(),
        ));
    }
    if let (Some(spurious), Some(completions)) = (get("irq_spurious"), get("irq_completions")) {
        t.push((
            "irq_spurious: no wakeup without a cause, over at least 100,000 completions".into(),
            spurious == 0.0 && completions >= 100_000.0,
            format!("{spurious} in {completions} completions vs 0 in >= 100000"),
        ));
    }
    if let (Some(leaks), Some(kills)) = (get("blk_client_kill_leaks"), get("blk_client_kills")) {
        t.push((
            "blk_client_kill_leaks: buffers not returned after 1000 client kills mid-stream".into(),
            leaks == 0.0 && kills >= 1000.0,
            format!("{leaks} after {kills} kills vs 0 after >= 1000"),
        ));
    }
    t
}

fn fmt_value_ratio(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

fn json_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn to_json(figs: &[Figure], targets: &[(String, bool, String)]) -> String {
    let mut s = String::from("{\n  \"figures\": [\n");
    for (i, f) in figs.iter().enumerate() {
        let _ = writeln!(
            s,
            "    {{\"name\": {}, \"value\": {}, \"unit\": {}}}{}",
            json_str(&f.name),
            f.value,
            json_str(&f.unit),
            if i + 1 < figs.len() { "," } else { "" }
        );
    }
    s.push_str("  ],\n  \"targets\": [\n");
    for (i, (name, met, why)) in targets.iter().enumerate() {
        let _ = writeln!(
            s,
            "    {{\"target\": {}, \"met\": {met}, \"detail\": {}}}{}",
            json_str(name),
            json_str(why),
            if i + 1 < targets.len() { "," } else { "" }
        );
    }
    s.push_str("  ]\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_prints_three_decimals_and_other_figures_their_unit() {
        let f = |name: &str, value: f64, unit: &str| Figure {
            name: name.into(),
            value,
            unit: unit.into(),
        };
        assert_eq!(line(&f("r", 1.12849, "ratio")), "bench: r 1.128");
        assert_eq!(line(&f("t", 14.54, "MiB/s")), "bench: t 14.5 MiB/s");
        assert_eq!(
            line(&f("n", 101.0, "instructions")),
            "bench: n 101 instructions"
        );
    }

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_figures_and_requires_done() {
        let l = lines(&[
            "x",
            "BENCH: blk_read_4k 75.5 MiB/s",
            "BENCH: null_syscall 120 instructions",
            "BENCH: done",
        ]);
        let f = parse(&l).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, "blk_read_4k");
        assert_eq!(f[0].value, 75.5);
        assert_eq!(f[1].unit, "instructions");
        assert!(parse(&l[..3]).unwrap_err().contains("did not finish"));
    }

    #[test]
    fn a_failed_run_or_bad_line_is_an_error() {
        let l = lines(&["BENCH: FAIL data mismatch at sector 3", "BENCH: done"]);
        assert!(parse(&l).unwrap_err().contains("data mismatch"));
        assert!(parse(&lines(&["BENCH: x", "BENCH: done"])).is_err());
        assert!(parse(&lines(&["BENCH: x y MiB/s", "BENCH: done"])).is_err());
    }

    #[test]
    fn medians_are_per_figure() {
        let fig = |n: &str, v: f64| Figure {
            name: n.into(),
            value: v,
            unit: "MiB/s".into(),
        };
        let runs = vec![
            vec![fig("a", 3.0), fig("b", 10.0)],
            vec![fig("a", 1.0), fig("b", 30.0)],
            vec![fig("a", 2.0), fig("b", 20.0)],
        ];
        let m = median_of(&runs);
        assert_eq!((m[0].value, m[1].value), (2.0, 20.0));
        assert!(median_of(&[]).is_empty());
    }

    #[test]
    fn targets_follow_the_figures() {
        let fig = |n: &str, v: f64| Figure {
            name: n.into(),
            value: v,
            unit: "ratio".into(),
        };
        let t = targets(&[
            fig("blk_read_64k_vs_virtio_drivers", 1.2),
            fig("blk_instr_per_req_vs_virtio_drivers", 1.3),
            fig("null_syscall", 100.0),
            fig("mmio_map", 300.0),
            fig("irq_latency", 200.0),
            fig("irq_ack", 120.0),
            fig("blk_irq_idle_ratio", 0.05),
            fig("blk_irq_vs_poll_64k", 0.8),
            fig("irq_spurious", 0.0),
            fig("irq_completions", 99_999.0),
        ]);
        let met: Vec<bool> = t.iter().map(|x| x.1).collect();
        assert_eq!(
            met,
            [true, false, true, false, true, false, true, false, false]
        );
        let enough = targets(&[fig("irq_spurious", 0.0), fig("irq_completions", 100_000.0)]);
        assert!(
            enough[0].1,
            "0 spurious in 100,000 completions meets the target"
        );
        let json = to_json(&[fig("a\"b", 1.5)], &t);
        assert!(json.contains("\"name\": \"a\\\"b\", \"value\": 1.5"));
        assert!(json.contains("\"met\": false"));
    }
}
