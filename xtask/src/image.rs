//! Building the bootable system: programs, the generated system table, the
//! kernel, and the disk image.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::system::Transport;
use crate::{TARGET, system};

use nexus_virtio::disk_pattern::{
    CLIENT_SECTOR, CLIENT_SECTORS, SCRATCH_SECTOR, SECTOR_SIZE, client_pattern, scratch_pattern,
    sector_pattern,
};

/// Sectors of the disk image (32 MiB).
pub const DISK_SECTORS: u64 = 64 * 1024;

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

/// Writes a fresh disk image with every sector holding its own number.
pub fn write_disk(path: &Path) -> Result<(), String> {
    let mut data = Vec::with_capacity(DISK_SECTORS as usize * SECTOR_SIZE);
    for n in 0..DISK_SECTORS {
        data.extend_from_slice(&sector_pattern(n));
    }
    fs::write(path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Builds the system of `system.toml` for `transport` (see
/// [`build_system`]).
pub fn build(root: &Path, transport: Transport) -> Result<Image, String> {
    match transport {
        Transport::Mmio => build_system(root, "system.toml", "system", transport),
        Transport::Pci => build_system(root, "system.toml", "system-pci", transport),
    }
}

/// Builds every program of the system description `file` (relative to
/// `root`, its grants for `transport`), then the kernel around them, and
/// writes a fresh disk image; the kernel, the generated table and the
/// image go to `target/neuron/<name>/`.
pub fn build_system(
    root: &Path,
    file: &str,
    name: &str,
    transport: Transport,
) -> Result<Image, String> {
    let system = system::load(&root.join(file), transport)?;
    let out = root.join("target").join("neuron").join(name);
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

    // A copy per system: another system's build overwrites cargo's.
    let kernel = out.join("neuron.elf");
    fs::copy(bin_dir.join("neuron"), &kernel)
        .map_err(|e| format!("cannot copy the kernel to {}: {e}", kernel.display()))?;
    let disk = out.join("disk.img");
    write_disk(&disk)?;
    Ok(Image { kernel, disk })
}

/// After a run: whether the image's scratch sector holds what `blkd`
/// wrote. Reads the file itself, so it sees only what reached the disk.
pub fn check_scratch_sector(disk: &Path) -> Result<(), String> {
    let data = fs::read(disk).map_err(|e| format!("cannot read {}: {e}", disk.display()))?;
    let at = SCRATCH_SECTOR as usize * SECTOR_SIZE;
    let sector = data
        .get(at..at + SECTOR_SIZE)
        .ok_or_else(|| format!("{} is too short", disk.display()))?;
    if sector == scratch_pattern() {
        Ok(())
    } else if sector == sector_pattern(SCRATCH_SECTOR) {
        Err(format!(
            "sector {SCRATCH_SECTOR} still holds its original pattern"
        ))
    } else {
        Err(format!(
            "sector {SCRATCH_SECTOR} holds neither the written nor the original pattern"
        ))
    }
}

/// After a run: whether the image holds, in each of the sectors
/// `blk-client` wrote through `blkd`'s rings, what it wrote.
pub fn check_client_sectors(disk: &Path) -> Result<(), String> {
    let data = fs::read(disk).map_err(|e| format!("cannot read {}: {e}", disk.display()))?;
    for n in CLIENT_SECTOR..CLIENT_SECTOR + CLIENT_SECTORS {
        let at = n as usize * SECTOR_SIZE;
        let sector = data
            .get(at..at + SECTOR_SIZE)
            .ok_or_else(|| format!("{} is too short", disk.display()))?;
        if sector != client_pattern(n) {
            let what = if sector == sector_pattern(n) {
                "still holds its original pattern"
            } else {
                "holds neither what blk-client wrote nor the original pattern"
            };
            return Err(format!("sector {n} {what}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_check_wants_every_sector_written() {
        let dir = std::env::temp_dir().join(format!("neuron-img-client-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let disk = dir.join("disk.img");
        let end = CLIENT_SECTOR + CLIENT_SECTORS;
        let mut data = Vec::new();
        for n in 0..end {
            data.extend_from_slice(&sector_pattern(n));
        }
        fs::write(&disk, &data).unwrap();
        assert!(
            check_client_sectors(&disk)
                .unwrap_err()
                .contains("original")
        );
        for n in CLIENT_SECTOR..end {
            let at = n as usize * SECTOR_SIZE;
            data[at..at + SECTOR_SIZE].copy_from_slice(&client_pattern(n));
        }
        fs::write(&disk, &data).unwrap();
        assert_eq!(check_client_sectors(&disk), Ok(()));
        let last = (end - 1) as usize * SECTOR_SIZE;
        data[last] ^= 1;
        fs::write(&disk, &data).unwrap();
        assert!(check_client_sectors(&disk).unwrap_err().contains("neither"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn scratch_check_tells_written_from_untouched() {
        let dir = std::env::temp_dir().join(format!("neuron-img-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let disk = dir.join("disk.img");
        let mut data = Vec::new();
        for n in 0..=SCRATCH_SECTOR {
            data.extend_from_slice(&sector_pattern(n));
        }
        fs::write(&disk, &data).unwrap();
        assert!(
            check_scratch_sector(&disk)
                .unwrap_err()
                .contains("original")
        );
        let at = SCRATCH_SECTOR as usize * SECTOR_SIZE;
        data[at..at + SECTOR_SIZE].copy_from_slice(&scratch_pattern());
        fs::write(&disk, &data).unwrap();
        assert_eq!(check_scratch_sector(&disk), Ok(()));
        data[at + 100] ^= 1;
        fs::write(&disk, &data).unwrap();
        assert!(check_scratch_sector(&disk).unwrap_err().contains("neither"));
        fs::write(&disk, &data[..at]).unwrap();
        assert!(
            check_scratch_sector(&disk)
                .unwrap_err()
                .contains("too short")
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
