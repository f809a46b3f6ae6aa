//! `asm-check`: proves the typed MMIO layer costs no more instructions than raw volatile accesses.
//!
//! Compiles `mmio-asm-probes` for riscv64 in release with `--emit asm`, finds
//! every probe function in the assembly and counts its instructions (labels,
//! directives and comments excluded, `ret` included). Each operation has a
//! `_typed` probe (through `MmioWindow` and `nexus-virtio`), a `_raw` probe
//! (`read_volatile`/`write_volatile` on the address) and, as baselines, a
//! `_tock` (tock-registers) and a `_volatile_register` probe. The check fails
//! if a typed probe needs more instructions than its raw twin.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Target the probes are compiled for.
const TARGET: &str = "riscv64gc-unknown-none-elf";
/// Crate holding the probes.
const PROBE_CRATE: &str = "mmio-asm-probes";
/// Prefix of every probe symbol.
const PREFIX: &str = "probe_";
/// Probe suffixes: (suffix, name printed for the baseline). `_typed` and `_raw` come first.
const FLAVOURS: [(&str, &str); 4] = [
    ("_typed", "typed"),
    ("_raw", "raw"),
    ("_tock", "tock-registers"),
    ("_volatile_register", "volatile-register"),
];

/// Builds the probes, prints one line per probe and returns the lines.
///
/// `Err` if the build fails, a probe is missing, or a typed probe needs more
/// instructions than its raw equivalent.
pub fn run(workspace_root: &Path) -> Result<Vec<String>, String> {
    let asm_path = build(workspace_root)?;
    let asm = fs::read_to_string(&asm_path)
        .map_err(|e| format!("asm-check: cannot read {}: {e}", asm_path.display()))?;
    let counts = count_probes(&asm);
    let (lines, failures) = report(&counts)?;
    for line in &lines {
        println!("{line}");
    }
    if failures.is_empty() {
        Ok(lines)
    } else {
        Err(format!("asm-check: {}", failures.join("; ")))
    }
}

/// Compiles the probe crate and returns the path of the emitted assembly.
fn build(root: &Path) -> Result<PathBuf, String> {
    let target_dir = root.join("target").join("asm-check");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(cargo)
        .current_dir(root)
        .args(["rustc", "-p", PROBE_CRATE, "--release", "--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--", "--emit", "asm", "-C", "codegen-units=1"])
        .status()
        .map_err(|e| format!("asm-check: cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "asm-check: building {PROBE_CRATE} failed ({status})"
        ));
    }
    let deps = target_dir.join(TARGET).join("release").join("deps");
    let stem = format!("{}-", PROBE_CRATE.replace('-', "_"));
    let newest = fs::read_dir(&deps)
        .map_err(|e| format!("asm-check: cannot list {}: {e}", deps.display()))?
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&stem) && name.ends_with(".s")
        })
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .max_by_key(|(modified, _)| *modified);
    newest
        .map(|(_, path)| path)
        .ok_or_else(|| format!("asm-check: no {stem}*.s in {}", deps.display()))
}

/// Instruction count of every `probe_*` function in `asm`.
///
/// rustc merges identical functions into aliases (`probe_a = probe_b` or
/// `.set probe_a, probe_b`); an alias gets its target's count.
fn count_probes(asm: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let mut aliases = Vec::new();
    let mut current: Option<(String, usize)> = None;
    for line in asm.lines() {
        let text = strip_comment(line).trim();
        if let Some((alias, target)) = alias_of(text) {
            aliases.push((alias.to_string(), target.to_string()));
            continue;
        }
        if let Some(label) = text.strip_suffix(':') {
            if label.starts_with(PREFIX) && !line.starts_with(char::is_whitespace) {
                if let Some((name, n)) = current.take() {
                    counts.insert(name, n);
                }
                current = Some((label.to_string(), 0));
            } else if !label.starts_with(".L") {
                // Another global symbol: the probe before it has ended.
                if let Some((name, n)) = current.take() {
                    counts.insert(name, n);
                }
            }
            continue;
        }
        let Some((name, n)) = current.as_mut() else {
            continue;
        };
        if text.starts_with(".size") || text.starts_with(".cfi_endproc") {
            counts.insert(std::mem::take(name), *n);
            current = None;
        } else if is_instruction(text) {
            *n += 1;
        }
    }
    if let Some((name, n)) = current {
        counts.insert(name, n);
    }
    for (alias, target) in aliases {
        if let Some(&n) = counts.get(&target) {
            counts.insert(alias, n);
        }
    }
    counts
}

/// `(alias, target)` if the line defines one probe symbol as another.
fn alias_of(text: &str) -> Option<(&str, &str)> {
    let (alias, target) = match text.strip_prefix(".set") {
        Some(rest) => rest.split_once(',')?,
        None => text.split_once('=')?,
    };
    let (alias, target) = (alias.trim(), target.trim());
    (alias.starts_with(PREFIX) && target.starts_with(PREFIX)).then_some((alias, target))
}

/// `line` without a trailing `#` comment.
fn strip_comment(line: &str) -> &str {
    line.split_once('#').map_or(line, |(code, _)| code)
}

/// Whether a comment-free, trimmed line is an instruction.
fn is_instruction(text: &str) -> bool {
    !text.is_empty() && !text.starts_with('.') && !text.starts_with("//") && !text.ends_with(':')
}

/// One line per probe, and the list of typed probes that cost more than raw.
fn report(counts: &BTreeMap<String, usize>) -> Result<(Vec<String>, Vec<String>), String> {
    let operations: Vec<&str> = counts
        .keys()
        .filter_map(|name| name.strip_prefix(PREFIX)?.strip_suffix(FLAVOURS[0].0))
        .collect();
    if operations.is_empty() {
        return Err("asm-check: no typed probes found in the assembly".to_string());
    }
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for op in operations {
        let count = |suffix: &str| counts.get(&format!("{PREFIX}{op}{suffix}")).copied();
        let typed = count(FLAVOURS[0].0).unwrap_or_default();
        let raw =
            count(FLAVOURS[1].0).ok_or_else(|| format!("asm-check: probe {op} has no raw twin"))?;
        lines.push(format!("asm-check: {op} {typed} instructions (raw: {raw})"));
        if typed > raw {
            failures.push(format!("{op} needs {typed} instructions, raw needs {raw}"));
        }
        for (suffix, label) in &FLAVOURS[2..] {
            if let Some(n) = count(suffix) {
                lines.push(format!("asm-check: {op} {label} {n} instructions"));
            }
        }
    }
    Ok((lines, failures))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
\t.text
\t.section\t.text.probe_read32_raw,\"ax\",@progbits
\t.globl\tprobe_read32_raw
probe_read32_raw:
.Lfunc_begin0:
\t.cfi_startproc
\tlw\ta0, 8(a0)   # load
\tret
.Lfunc_end0:
\t.size\tprobe_read32_raw, .Lfunc_end0-probe_read32_raw
\t.cfi_endproc
probe_read32_typed:
\t.cfi_startproc
.LBB1_1:
\tlw\ta0, 8(a0)
\tbne\ta0, a1, .LBB1_1
\tret
\t.size\tprobe_read32_typed, .Lfunc_end1-probe_read32_typed
probe_read32_tock:
\tlw\ta0, 8(a0)
\tret
\t.cfi_endproc
\t.globl\tprobe_read32_volatile_register
probe_read32_volatile_register = probe_read32_tock
";

    #[test]
    fn counts_instructions_but_not_labels_directives_or_comments() {
        let counts = count_probes(SAMPLE);
        assert_eq!(counts["probe_read32_raw"], 2);
        assert_eq!(counts["probe_read32_typed"], 3);
        assert_eq!(counts["probe_read32_tock"], 2);
        assert_eq!(counts["probe_read32_volatile_register"], 2);
    }

    #[test]
    fn a_typed_probe_costlier_than_raw_is_a_failure() {
        let (lines, failures) = report(&count_probes(SAMPLE)).unwrap();
        assert_eq!(
            lines,
            [
                "asm-check: read32 3 instructions (raw: 2)",
                "asm-check: read32 tock-registers 2 instructions",
                "asm-check: read32 volatile-register 2 instructions",
            ]
        );
        assert_eq!(failures, ["read32 needs 3 instructions, raw needs 2"]);
    }

    #[test]
    fn a_typed_probe_without_raw_twin_is_an_error() {
        let counts = BTreeMap::from([("probe_read32_typed".to_string(), 2)]);
        assert!(report(&counts).unwrap_err().contains("no raw twin"));
    }

    #[test]
    #[ignore = "builds the probes for riscv64; run by `cargo xtask asm-check`"]
    fn probes_cost_no_more_than_raw_volatile() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let lines = run(root).unwrap();
        assert!(lines.iter().any(|l| l.starts_with("asm-check: read32 ")));
    }
}
