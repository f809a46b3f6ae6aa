//! Links the kernel with `kernel.ld` (target builds only) and chooses the
//! system table: the one `cargo xtask` generated (`NEURON_SYSTEM`), or an
//! empty one so the kernel also builds alone (for clippy and host tests).
use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    if env::var("TARGET").is_ok_and(|t| t.starts_with("riscv64")) {
        println!(
            "cargo:rustc-link-arg-bins=-T{}",
            dir.join("kernel.ld").display()
        );
        println!("cargo:rerun-if-changed=kernel.ld");
    }
    println!("cargo:rerun-if-env-changed=NEURON_SYSTEM");
    let system = match env::var_os("NEURON_SYSTEM") {
        Some(path) => {
            println!("cargo:rerun-if-changed={}", PathBuf::from(&path).display());
            PathBuf::from(path)
        }
        None => {
            let empty = out.join("empty_system.rs");
            fs::write(
                &empty,
                "/// No programs: this kernel was built without `cargo xtask`.\n\
                 pub static TASKS: &[neuron::system::TaskSpec] = &[];\n\
                 /// No channels.\n\
                 pub static CHANNELS: &[neuron::system::ChannelSpec] = &[];\n",
            )
            .expect("write empty system table");
            empty
        }
    };
    println!("cargo:rustc-env=NEURON_SYSTEM_RS={}", system.display());
}
