//! What a fresh machine lacks: the riscv64 Rust target and QEMU.

use std::process::{Command, Stdio};

use crate::TARGET;

/// Installs the riscv64 target for the pinned toolchain if it is missing.
pub fn ensure_target() -> Result<(), String> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("cannot run rustup ({e}): install Rust with rustup"))?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    eprintln!("xtask: installing the Rust target {TARGET} (rustup target add)");
    let ok = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err(format!("`rustup target add {TARGET}` failed"))
    }
}

fn qemu_works() -> bool {
    Command::new("qemu-system-riscv64")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn apt(args: &[&str]) -> bool {
    Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Finds `qemu-system-riscv64`, installing Debian's `qemu-system-misc` when
/// it is missing and this user is root with apt-get.
pub fn ensure_qemu() -> Result<(), String> {
    if qemu_works() {
        return Ok(());
    }
    let has_apt = Command::new("apt-get")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !is_root() || !has_apt {
        return Err("qemu-system-riscv64 not found: install the Debian package \
                    `qemu-system-misc` (apt-get install qemu-system-misc)"
            .into());
    }
    eprintln!(
        "xtask: qemu-system-riscv64 not found; installing the Debian package qemu-system-misc"
    );
    let pkg = [
        "install",
        "-y",
        "--no-install-recommends",
        "qemu-system-misc",
    ];
    // A fresh machine may have no package lists yet: update once and retry.
    let installed = apt(&pkg) || (apt(&["update"]) && apt(&pkg));
    if !installed {
        return Err("apt-get install qemu-system-misc failed".into());
    }
    if qemu_works() {
        Ok(())
    } else {
        Err("qemu-system-misc installed but qemu-system-riscv64 does not run".into())
    }
}
