//! Instructions per system call: a null call, a call through the general
//! dispatcher, `mmio_map`, `mmio_unmap`, and a one-page `dma_alloc` +
//! `dma_free`.

use nexus_abi::{CapRights, MapProt, SysError, println, sys};

use crate::stats::{SAMPLES, instructions, median};

/// The slot of the small device window mapped and unmapped (system
/// description: `xtask/bench-system.toml`).
const MAP_SLOT: usize = 2;

pub fn run() -> Result<(), &'static str> {
    // The cheapest call: describe the task's own capability.
    let null = instructions(|| sys::cap_info(0).map(drop).map_err(|_| "cap_info failed"))?;
    println!("BENCH: null_syscall {null} instructions");
    // A call through the general dispatcher that fails at its first check:
    // the round trip every call but the fast-path ones pays.
    let general = instructions(
        || match sys::cap_derive(usize::MAX, 0, 0, CapRights::empty()) {
            Err(SysError::BadSlot) => Ok(()),
            _ => Err("cap_derive of a bad slot was not refused with BadSlot"),
        },
    )?;
    println!("BENCH: syscall_general_path {general} instructions");

    let mut map = [0u64; SAMPLES];
    let mut unmap = [0u64; SAMPLES];
    for i in 0..SAMPLES {
        let a = sys::instret();
        let token = sys::mmio_map(MAP_SLOT, MapProt::READ).map_err(|_| "mmio_map failed")?;
        let b = sys::instret();
        sys::mmio_unmap(token).map_err(|_| "mmio_unmap failed")?;
        let c = sys::instret();
        map[i] = b - a;
        unmap[i] = c - b;
    }
    println!("BENCH: mmio_map {} instructions", median(&mut map));
    println!("BENCH: mmio_unmap {} instructions", median(&mut unmap));

    let dma = instructions(|| {
        let t = sys::dma_alloc(1).map_err(|_| "dma_alloc failed")?;
        sys::dma_free(t).map_err(|_| "dma_free failed")
    })?;
    println!("BENCH: dma_alloc_free {dma} instructions");
    Ok(())
}
