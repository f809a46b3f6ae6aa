//! Links the baseline with `link.ld` at 0x80200000 (target builds only).
use std::{env, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    if env::var("TARGET").is_ok_and(|t| t.starts_with("riscv64")) {
        println!(
            "cargo:rustc-link-arg-bins=-T{}",
            dir.join("link.ld").display()
        );
    }
    println!("cargo:rerun-if-changed=link.ld");
}
