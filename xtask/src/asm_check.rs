//! `asm-check`: proves the typed MMIO layer costs no more instructions than raw volatile accesses.
//!
//! Compiles `mmio-asm-probes` for riscv64 in release with `--emit asm`, finds
//! every probe function in the assembly and counts its instructions (labels,
//! directives and comments excluded, `ret` included). Each operation has a
//! `_typed` probe (through `MmioWindow`), a `_raw` probe
//! (`read_volatile`/`write_volatile` on the address, masks and shifts by
//! hand) and, as baselines, a `_tock` (tock-registers) and a
//! `_volatile_register` probe. The check fails if a typed probe needs more
//! instructions than its raw twin, or if a bitfield probe (`bf_`) is not
//! its raw twin's very instructions (local labels renamed).

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
    let bodies = probe_bodies(&asm);
    let (lines, failures) = report(&bodies)?;
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
#[cfg(test)]
fn count_probes(asm: &str) -> BTreeMap<String, usize> {
    probe_bodies(asm)
        .into_iter()
        .map(|(name, body)| (name, body.len()))
        .collect()
}

/// The instructions of every `probe_*` function in `asm`, with local
/// labels (`.LBB3_1`) renamed by order of appearance so that two bodies
/// compare equal when their code is the same.
///
/// rustc merges identical functions into aliases (`probe_a = probe_b` or
/// `.set probe_a, probe_b`); an alias gets its target's body.
fn probe_bodies(asm: &str) -> BTreeMap<String, Vec<String>> {
    let mut bodies = BTreeMap::new();
    let mut aliases = Vec::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in asm.lines() {
        let text = strip_comment(line).trim();
        if let Some((alias, target)) = alias_of(text) {
            aliases.push((alias.to_string(), target.to_string()));
            continue;
        }
        if let Some(label) = text.strip_suffix(':') {
            if label.starts_with(PREFIX) && !line.starts_with(char::is_whitespace) {
                if let Some((name, body)) = current.take() {
                    bodies.insert(name, body);
                }
                current = Some((label.to_string(), Vec::new()));
            } else if !label.starts_with(".L") {
                // Another global symbol: the probe before it has ended.
                if let Some((name, body)) = current.take() {
                    bodies.insert(name, body);
                }
            }
            continue;
        }
        let Some((name, body)) = current.as_mut() else {
            continue;
        };
        if text.starts_with(".size") || text.starts_with(".cfi_endproc") {
            bodies.insert(std::mem::take(name), std::mem::take(body));
            current = None;
        } else if is_instruction(text) {
            body.push(text.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    if let Some((name, body)) = current {
        bodies.insert(name, body);
    }
    for (alias, target) in aliases {
        if let Some(body) = bodies.get(&target).cloned() {
            bodies.insert(alias, body);
        }
    }
    bodies
        .into_iter()
        .map(|(name, body)| (name, normalise_labels(body)))
        .collect()
}

/// `body` with each `.L...` label renamed `L0`, `L1`, ... in order of first use.
fn normalise_labels(body: Vec<String>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    body.into_iter()
        .map(|ins| {
            ins.split([' ', ','])
                .filter(|word| !word.is_empty())
                .map(|word| {
                    if word.starts_with(".L") {
                        let i = names.iter().position(|n| n == word).unwrap_or_else(|| {
                            names.push(word.to_string());
                            names.len() - 1
                        });
                        format!("L{i}")
                    } else {
                        word.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
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

/// Operations whose typed probe must be the raw probe's very instructions
/// (the bitfield probes: a field access is the hand-written mask and shift).
const SAME_CODE_PREFIX: &str = "bf_";

/// One line per probe, and the list of typed probes that cost more than
/// raw (or, for bitfield probes, differ from raw at all).
fn report(bodies: &BTreeMap<String, Vec<String>>) -> Result<(Vec<String>, Vec<String>), String> {
    let operations: Vec<&str> = bodies
        .keys()
        .filter_map(|name| name.strip_prefix(PREFIX)?.strip_suffix(FLAVOURS[0].0))
        .collect();
    if operations.is_empty() {
        return Err("asm-check: no typed probes found in the assembly".to_string());
    }
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for op in operations {
        let body = |suffix: &str| bodies.get(&format!("{PREFIX}{op}{suffix}"));
        let typed = body(FLAVOURS[0].0).cloned().unwrap_or_default();
        let raw =
            body(FLAVOURS[1].0).ok_or_else(|| format!("asm-check: probe {op} has no raw twin"))?;
        let same = typed == *raw;
        let (t, r) = (typed.len(), raw.len());
        let note = if same { ", the same instructions" } else { "" };
        lines.push(format!("asm-check: {op} {t} instructions (raw: {r}{note})"));
        if t > r {
            failures.push(format!("{op} needs {t} instructions, raw needs {r}"));
        } else if op.starts_with(SAME_CODE_PREFIX) && !same {
            failures.push(format!(
                "{op} is not the raw probe's code: typed [{}], raw [{}]",
                typed.join("; "),
                raw.join("; ")
            ));
        }
        for (suffix, label) in &FLAVOURS[2..] {
            if let Some(b) = body(suffix) {
                lines.push(format!("asm-check: {op} {label} {} instructions", b.len()));
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
        let (lines, failures) = report(&probe_bodies(SAMPLE)).unwrap();
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
    fn a_bitfield_probe_must_be_the_raw_code_even_at_equal_cost() {
        let body = |ins: &[&str]| ins.iter().map(|i| i.to_string()).collect::<Vec<_>>();
        let mut bodies = BTreeMap::from([
            (
                "probe_bf_is_set_typed".to_string(),
                body(&["lbu a0, 5(a0)", "srli a0, a0, 5", "ret"]),
            ),
            (
                "probe_bf_is_set_raw".to_string(),
                body(&["lbu a0, 5(a0)", "srli a0, a0, 5", "ret"]),
            ),
        ]);
        let (lines, failures) = report(&bodies).unwrap();
        assert_eq!(
            lines,
            ["asm-check: bf_is_set 3 instructions (raw: 3, the same instructions)"]
        );
        assert!(failures.is_empty());
        bodies.insert(
            "probe_bf_is_set_typed".to_string(),
            body(&["lbu a0, 5(a0)", "andi a0, a0, 32", "ret"]),
        );
        let (_, failures) = report(&bodies).unwrap();
        assert_eq!(failures.len(), 1);
        assert!(failures[0].starts_with("bf_is_set is not the raw probe's code"));
    }

    #[test]
    fn local_labels_do_not_make_bodies_differ() {
        let a = normalise_labels(vec!["bnez a0, .LBB3_1".into(), "j .LBB3_2".into()]);
        let b = normalise_labels(vec!["bnez a0, .LBB7_4".into(), "j .LBB7_9".into()]);
        assert_eq!(a, b);
        assert_eq!(a, ["bnez a0 L0", "j L1"]);
    }

    #[test]
    fn a_typed_probe_without_raw_twin_is_an_error() {
        let bodies = BTreeMap::from([("probe_read32_typed".to_string(), vec!["ret".to_string()])]);
        assert!(report(&bodies).unwrap_err().contains("no raw twin"));
    }

    #[test]
    #[ignore = "builds the probes for riscv64; run by `cargo xtask asm-check`"]
    fn probes_cost_no_more_than_raw_volatile() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let lines = run(root).unwrap();
        assert!(lines.iter().any(|l| l.starts_with("asm-check: read32 ")));
    }
}
