//! Building the baseline for `cargo xtask bench`: virtio-blk driven by the
//! virtio-drivers crate, booted bare-metal like the kernel.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TARGET;

/// The baseline's package (and binary) name.
const PACKAGE: &str = "neuron-bench-baseline";

/// Builds the baseline in release mode for the kernel target; returns its ELF.
///
/// The ELF lands in `root/target`, or under `CARGO_TARGET_DIR` when that is set.
pub fn build(root: &Path) -> Result<PathBuf, String> {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(root)
        .args(["build", "--release", "--target", TARGET, "-p", PACKAGE])
        .status()
        .map_err(|e| format!("cannot run cargo for the baseline: {e}"))?;
    if !status.success() {
        return Err("building the baseline failed".to_string());
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    let elf = target_dir.join(TARGET).join("release").join(PACKAGE);
    if elf.is_file() {
        Ok(elf)
    } else {
        Err(format!("the baseline ELF is missing: {}", elf.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[ignore = "builds the baseline for the target (slow)"]
    fn builds_the_baseline_elf() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let elf = build(root).unwrap();
        assert!(elf.ends_with("riscv64gc-unknown-none-elf/release/neuron-bench-baseline"));
    }
}
