//! Probe functions for `cargo xtask asm-check`.
//!
//! Each operation exists in four spellings: `_typed` (through
//! `MmioWindow` and a virtio-like register block), `_raw` (`read_volatile`/`write_volatile`
//! on an address, the floor), `_tock` (tock-registers 0.10) and
//! `_volatile_register` (volatile-register 0.2). The check compiles this crate
//! for riscv64 in release and compares instruction counts: a typed probe may
//! not need more instructions than its raw twin. The `bf_` probes do the
//! same for bitfields, on `ns16550a`'s registers, against hand-written
//! masks and shifts.
#![no_std]

mod baselines;
mod bitfields;
mod raw;
mod typed;
mod uart_tock;

pub use baselines::*;
pub use bitfields::*;
pub use raw::*;
pub use typed::*;
pub use uart_tock::*;

#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
