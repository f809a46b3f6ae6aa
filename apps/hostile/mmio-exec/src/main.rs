//! Hostile: maps its granted window and jumps into it.
//! Expected: killed by an instruction page fault at the window's address.
#![no_std]
#![no_main]

use nexus_abi::{MapProt, println, sys};

nexus_abi::entry!(main);

fn main() -> i32 {
    let token = match sys::mmio_map(1, MapProt::RW) {
        Ok(t) => t,
        Err(e) => {
            println!("mmio-exec: mmio_map failed: {e}");
            return 1;
        }
    };
    let target = token.base();
    println!("mmio-exec: jumping to my device window at {target:#x}");
    // SAFETY: none: this call is meant to fault. Device mappings are never
    // executable, so the fetch at `target` traps before anything runs.
    let f: extern "C" fn() = unsafe { core::mem::transmute(target) };
    f();
    println!("mmio-exec: executed device memory: the kernel did not stop me");
    0
}
