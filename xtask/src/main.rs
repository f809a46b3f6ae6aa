//! `cargo xtask`: build, run, test and check NEURON. The single entry point.

mod asm_check;
mod baseline;
mod bench;
mod hostcheck;
mod image;
mod markers;
mod matrix;
mod netbench;
mod qemu;
mod reclaim;
mod rtc;
mod setup;
mod system;
mod test;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// The target every kernel and userspace crate is built for.
pub const TARGET: &str = "riscv64gc-unknown-none-elf";

#[derive(Parser)]
#[command(about = "Build, run and test NEURON")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the programs and the kernel, boot them under QEMU and stream
    /// the console; once the system's verdict is in, check netd's services
    /// from the host through the forwarded ports (printed) and stop; exits
    /// 0 only if the system reported success, every expected marker
    /// appeared and every host check passed.
    Run {
        /// Seconds before the run is stopped.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        /// Keep the system up after the checks until interrupted (Ctrl-C).
        #[arg(long)]
        serve: bool,
        /// An argument appended to QEMU's command line (repeatable), to try
        /// other machine configurations: `--qemu-arg=-smp --qemu-arg=4`.
        #[arg(long = "qemu-arg", allow_hyphen_values = true)]
        qemu_args: Vec<String>,
        /// The transport of virtio-blk and virtio-net: `mmio` (virtio-mmio
        /// slots) or `pci` (modern virtio-pci functions behind the PCIe
        /// host bridge; system.toml's grants for that transport).
        #[arg(long, default_value = "mmio", value_parser = ["mmio", "pci"])]
        transport: String,
    },
    /// Run every test: host tests, Miri, asm-check, the QEMU selftest.
    Test {
        /// Seconds before the QEMU run is stopped.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Boot the system on many QEMU `virt` configurations (RAM, harts,
    /// device orders, extra devices, interrupt controllers, no MMU, legacy
    /// transport, read-only and tiny disks) and check each outcome against
    /// the one expected.
    Matrix {
        /// Seconds before one configuration's run is stopped.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Count the instructions of typed and raw MMIO accesses on riscv64.
    AsmCheck,
    /// Benchmark the userspace virtio-blk driver and system calls against
    /// the kernel-side virtio-drivers crate; writes target/bench/results.json.
    Bench {
        /// Only the instruction counts (the deterministic `-icount` runs);
        /// skips throughput.
        #[arg(long)]
        instructions_only: bool,
        /// Only one part, its raw figures with no comparison or targets:
        /// `blk` (blk-bench and the virtio-drivers baseline), `ring` (the
        /// client path through blkd), `net` (netd from the host) or `kill`
        /// (a blkd client restarted 1000 times mid-stream).
        #[arg(long, value_parser = ["blk", "ring", "net", "kill"])]
        only: Option<String>,
    },
    /// Clippy with -D warnings for the host crates and the riscv64 crates.
    Lint,
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = root();
    let result = match cli.cmd {
        Cmd::Run {
            timeout,
            serve,
            qemu_args,
            transport,
        } => {
            let transport = if transport == "pci" {
                system::Transport::Pci
            } else {
                system::Transport::Mmio
            };
            test::run_system(
                &root,
                Duration::from_secs(timeout),
                serve,
                &qemu_args,
                transport,
            )
        }
        Cmd::Test { timeout } => test::test_all(&root, Duration::from_secs(timeout)),
        Cmd::Matrix { timeout } => matrix::run(&root, Duration::from_secs(timeout)),
        Cmd::AsmCheck => asm_check::run(&root).map(drop),
        Cmd::Bench {
            instructions_only,
            only: Some(part),
        } => bench::run_part(&root, &part, instructions_only),
        Cmd::Bench {
            instructions_only,
            only: None,
        } => bench::run(&root, instructions_only),
        Cmd::Lint => test::lint(&root),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
