//! Benchmarks of the userspace virtio-blk driver and of the system calls it
//! rests on. Prints `BENCH: <name> <value> <unit>` lines for `cargo xtask bench`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

mod blk;
mod irq;
mod stats;
mod syscalls;

use nexus_abi::println;

nexus_abi::entry!(main);

fn main() -> i32 {
    let result = syscalls::run().and_then(|()| blk::run());
    match result {
        Ok(()) => {
            println!("BENCH: done");
            0
        }
        Err(why) => {
            println!("BENCH: FAIL {why}");
            1
        }
    }
}
