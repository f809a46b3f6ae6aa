//! Building the bootable system: programs, the generated system table, the
//! kernel, and the disk image.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{TARGET, system};

/// Sectors of the disk image (32 MiB).
pub const DISK_SECTORS: u64 = 64 * 1024;
/// Bytes per sector.
pub const SECTOR: usize = 512;

/// The built system.
pub struct Image {
    /// The kernel ELF (with every program embedded).
    pub kernel: PathBuf,
    /// The disk image for the virtio-blk device.
    pub disk: PathBuf,
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run cargo for {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building {what} failed"))
    }
}

/// The content of sector `n` of a fresh image: its own number, as a
/// little-endian u64, repeated.
pub fn sector_pattern(n: u64) -> [u8; SECTOR] {
    let mut s = [0u8; SECTOR];
    for chunk in s.chunks_exact_mut(8) {
        chunk.copy_from_slice(&n.to_le_bytes());
    }
    s
}

/// Writes a fresh disk image with every sector holding its own number.
pub fn write_disk(path: &Path) -> Result<(), String> {
    let mut data = Vec::with_capacity(DISK_SECTORS as usize * SECTOR);
    for n in 0..DISK_SECTORS {
        data.extend_from_slice(&sector_pattern(n));
    }
    fs::write(path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Builds every program of `system.toml`, then the kernel around them, and
/// writes a fresh disk image.
pub fn build(root: &Path) -> Result<Image, String> {
    let system = system::load(&root.join("system.toml"))?;
    let out = root.join("target").join("neuron");
    fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    let mut packages: Vec<&str> = system.tasks.iter().map(|t| t.package.as_str()).collect();
    packages.sort_unstable();
    packages.dedup();
    let mut cmd = cargo();
    cmd.current_dir(root)
        .args(["build", "--release", "--target", TARGET]);
    for p in &packages {
        cmd.args(["-p", p]);
    }
    run(cmd, "the programs")?;

    let bin_dir = root.join("target").join(TARGET).join("release");
    let table = system::generate(&system, |p| bin_dir.join(p));
    let table_path = out.join("system.rs");
    // Rewrite only on change, so an unchanged system does not rebuild the kernel.
    if fs::read_to_string(&table_path).ok().as_deref() != Some(table.as_str()) {
        fs::write(&table_path, table).map_err(|e| format!("cannot write system table: {e}"))?;
    }

    let mut cmd = cargo();
    cmd.current_dir(root)
        .args(["build", "--release", "--target", TARGET, "-p", "neuron"])
        .env("NEURON_SYSTEM", &table_path);
    run(cmd, "the kernel")?;

    let disk = out.join("disk.img");
    write_disk(&disk)?;
    Ok(Image {
        kernel: bin_dir.join("neuron"),
        disk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sector_holds_its_number() {
        let s = sector_pattern(0x0102_0304);
        assert_eq!(&s[..8], &0x0102_0304u64.to_le_bytes());
        assert_eq!(&s[504..], &0x0102_0304u64.to_le_bytes());
        assert_ne!(sector_pattern(1), sector_pattern(2));
    }
}
