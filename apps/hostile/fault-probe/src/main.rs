//! Hostile: reads kernel memory from U-mode. Expected: killed by a load page fault.
#![no_std]
#![no_main]

nexus_abi::entry!(main);

/// The kernel's entry point: mapped, but supervisor-only.
const KERNEL_ADDR: usize = 0x8020_0000;

fn main() -> i32 {
    nexus_abi::println!("fault-probe: reading kernel memory at {KERNEL_ADDR:#x}");
    // SAFETY: none: this load is meant to fault. The kernel maps its memory
    // without the U bit, so it kills this task before the load completes.
    let value = unsafe { core::ptr::read_volatile(KERNEL_ADDR as *const u32) };
    nexus_abi::println!("fault-probe: read {value:#x}: the kernel did not stop me");
    0
}
