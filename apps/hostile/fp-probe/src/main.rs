//! Hostile: executes a floating-point instruction. The kernel keeps the FPU
//! off for tasks (their FP registers are not saved on a switch), so this is
//! an illegal instruction. Expected: killed, without seeing any FP state.
#![no_std]
#![no_main]

nexus_abi::entry!(main);

fn main() -> i32 {
    nexus_abi::println!("fp-probe: reading the floating-point status register");
    let fcsr: usize;
    // SAFETY: none: this instruction is meant to trap. With sstatus.FS off,
    // any floating-point instruction is illegal in U-mode.
    unsafe { core::arch::asm!("frcsr {}", out(reg) fcsr) };
    nexus_abi::println!("fp-probe: fcsr = {fcsr:#x}: the FPU was on");
    0
}
