//! NEURON's on-target selftest: each marker is printed only after its check passed.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

mod irq;
mod mmio;
mod pci;
mod preempt;
mod transfer;

use nexus_abi::{SysError, println, sys};

nexus_abi::entry!(main);

/// A kernel address (the kernel's own entry point): never user memory.
const KERNEL_ADDR: usize = 0x8020_0000;

/// A check's outcome: `Err` says what went wrong.
pub type Check = Result<(), &'static str>;

/// A check and the name its marker carries.
type NamedCheck = (&'static str, fn() -> Check);

fn main() -> i32 {
    println!("SELFTEST: start");
    let irq_checks = irq::granted();
    if !irq_checks {
        println!("SELFTEST: irq checks skipped: no irq capability (no PLIC on this machine)");
    }
    let checks: [NamedCheck; 19] = [
        ("userptr guard", check_userptr_guard),
        ("mmio map", mmio::map),
        ("mmio deny exec", mmio::deny_exec),
        ("mmio deny no cap", mmio::deny_no_cap),
        ("mmio deny wrong kind", mmio::deny_wrong_kind),
        ("mmio deny rights", mmio::deny_rights),
        ("mmio deny out of window", mmio::deny_out_of_window),
        ("mmio unmap", mmio::unmap),
        ("mmio revoke", mmio::revoke),
        ("cap transfer deny", transfer::deny),
        ("cap transfer and revoke", transfer::hand_over),
        ("pci deny not a bar", pci::deny_not_a_bar),
        ("preemption keeps registers", preempt::registers_survive),
        ("irq deny no cap", irq::deny_no_cap),
        ("irq deny wrong kind", irq::deny_wrong_kind),
        ("irq deny not pending", irq::deny_not_pending),
        ("irq deny transfer", irq::deny_transfer),
        ("wait deadline", irq::wait_deadline),
        ("kill while waiting", irq::kill_while_waiting),
    ];
    let mut failed = 0;
    for (i, (name, check)) in checks.into_iter().enumerate() {
        if !irq_checks && name.starts_with("irq") {
            continue;
        }
        if i == 1 {
            // The hostile tasks get their turn here: they fault and are
            // killed while this task goes on.
            sys::yield_now();
        }
        match check() {
            Ok(()) => println!("SELFTEST: {name} ok"),
            Err(why) => {
                println!("SELFTEST: FAIL {name}: {why}");
                failed += 1;
            }
        }
    }
    if failed != 0 {
        println!("SELFTEST: {failed} check(s) failed");
        return 1;
    }
    println!("SELFTEST: done");
    0
}

/// A `debug_write` whose pointer names kernel memory, or wraps around the
/// address space, gets `BadAddress` and prints nothing.
fn check_userptr_guard() -> Check {
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
