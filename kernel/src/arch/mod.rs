//! RISC-V 64 (S-mode, Sv39, under OpenSBI on QEMU `virt`): everything that
//! touches CSRs, assembly or fixed physical addresses.

pub mod boot;
mod console;
mod cpu;
mod dt;
mod ecam;
mod entry;
mod kernel;
mod phys;
mod plic;
mod trap;

pub use console::Console;
