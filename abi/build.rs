//! Provides `user.ld`, the link script of every userspace program.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    fs::write(out.join("user.ld"), include_str!("user.ld")).expect("write user.ld");
    // Dependents find `-Tuser.ld` through this search path.
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=user.ld");
}
