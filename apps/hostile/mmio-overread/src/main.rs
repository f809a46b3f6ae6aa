//! Hostile: maps its granted window and reads one byte past its end.
//! Expected: killed by a load page fault at the first address after the window.
#![no_std]
#![no_main]

use nexus_abi::{MapProt, println, sys};

nexus_abi::entry!(main);

fn main() -> i32 {
    let token = match sys::mmio_map(1, MapProt::READ) {
        Ok(t) => t,
        Err(e) => {
            println!("mmio-overread: mmio_map failed: {e}");
            return 1;
        }
    };
    let past_end = token.base() + token.len();
    println!("mmio-overread: reading {past_end:#x}, one byte past my window");
    // SAFETY: none: this load is meant to fault. The kernel leaves the page
    // after every device mapping unmapped.
    let byte = unsafe { core::ptr::read_volatile(past_end as *const u8) };
    println!("mmio-overread: read {byte:#x} outside my window: the kernel did not stop me");
    0
}
