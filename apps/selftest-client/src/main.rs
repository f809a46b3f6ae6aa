//! NEURON's on-target selftest: each marker is printed only after its check passed.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use nexus_abi::{SysError, println, sys};

nexus_abi::entry!(main);

/// A kernel address (the kernel's own entry point): never user memory.
const KERNEL_ADDR: usize = 0x8020_0000;

fn main() -> i32 {
    println!("SELFTEST: start");
    match check_userptr_guard() {
        Ok(()) => println!("SELFTEST: userptr guard ok"),
        Err(why) => return fail("userptr guard", why),
    }
    // Let the hostile tasks run (and be killed) while this one goes on.
    sys::yield_now();
    println!("SELFTEST: done");
    0
}

fn fail(check: &str, why: &str) -> i32 {
    println!("SELFTEST: FAIL {check}: {why}");
    1
}

/// A `debug_write` whose pointer names kernel memory, or wraps around the
/// address space, gets `BadAddress` and prints nothing.
fn check_userptr_guard() -> Result<(), &'static str> {
    if sys::debug_write_raw(KERNEL_ADDR, 16) != Err(SysError::BadAddress) {
        return Err("kernel pointer was not refused with BadAddress");
    }
    if sys::debug_write_raw(usize::MAX - 4, 16) != Err(SysError::BadAddress) {
        return Err("wrapping range was not refused with BadAddress");
    }
    if sys::debug_write(b"") != Ok(0) {
        return Err("empty write did not succeed");
    }
    Ok(())
}
