//! Baseline for `cargo xtask bench`: virtio-blk driven by the virtio-drivers crate in S-mode.
//!
//! Booted by OpenSBI like the kernel (a0 = hart id, a1 = device tree, paging
//! off), it prints `BENCH:` lines and exits QEMU through the test finisher.
#![no_std]
#![no_main]

mod bench;
mod console;
mod hal;

use core::arch::{asm, global_asm};
use core::panic::PanicInfo;
use core::ptr::NonNull;

use fdt::Fdt;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};

/// `time` ticks per second when the device tree does not say (QEMU virt: 10 MHz).
const DEFAULT_TIMEBASE: u64 = 10_000_000;
/// The whole run must end within this many seconds of `time`.
const WATCHDOG_SECS: u64 = 60;
/// SBI TIME extension, function 0: `sbi_set_timer`.
const SBI_EXT_TIME: usize = 0x5449_4D45;
/// Supervisor timer interrupt, as `scause` reports it.
const SCAUSE_TIMER: usize = (1 << 63) | 5;

// Boot: set up the stack, catch every trap, zero .bss, call `baseline_main`
// with a0 = hart id and a1 = device tree untouched.
global_asm!(
    r#"
    .section .text.boot
    .globl _start
_start:
    .option push
    .option norelax
    la sp, __stack_top
    .option pop
    la t0, baseline_trap_entry
    csrw stvec, t0
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  call baseline_main
3:  wfi
    j 3b

    .section .text
    .balign 4
baseline_trap_entry:
    call baseline_trap
"#
);

#[unsafe(no_mangle)]
extern "C" fn baseline_main(_hartid: usize, dtb: usize) -> ! {
    // SAFETY: OpenSBI passes the address of a valid device tree in a1, and
    // nothing writes to it.
    let fdt = unsafe { Fdt::from_ptr(dtb as *const u8) }
        .unwrap_or_else(|e| fail!("bad device tree: {e:?}"));
    let timebase = fdt
        .find_node("/cpus")
        .and_then(|cpus| cpus.property("timebase-frequency"))
        .and_then(|p| p.as_usize())
        .map_or(DEFAULT_TIMEBASE, |f| f as u64);
    arm_watchdog(bench::time() + timebase * WATCHDOG_SECS);
    let transport = find_blk(&fdt).unwrap_or_else(|| fail!("no virtio-blk device"));
    bench::run(transport, timebase);
    println!("BENCH: done");
    console::exit(0)
}

/// The first virtio-mmio slot of the device tree that holds a block device.
fn find_blk(fdt: &Fdt) -> Option<MmioTransport<'static>> {
    let slots = fdt.all_nodes().filter(|n| {
        n.compatible()
            .is_some_and(|c| c.all().any(|s| s == "virtio,mmio"))
    });
    for node in slots {
        let Some(region) = node.reg().and_then(|mut r| r.next()) else {
            continue;
        };
        let Some(header) = NonNull::new(region.starting_address as *mut VirtIOHeader) else {
            continue;
        };
        // SAFETY: the device tree describes this range as a virtio-mmio register
        // window; paging is off, and nothing else uses it.
        let transport = unsafe { MmioTransport::new(header, region.size.unwrap_or(0x200)) };
        if let Ok(t) = transport
            && t.device_type() == DeviceType::Block
        {
            return Some(t);
        }
    }
    None
}

/// Raises a supervisor timer interrupt at `deadline` (in `time` ticks), which
/// ends the run: no spin anywhere, even inside the driver, can hang QEMU.
fn arm_watchdog(deadline: u64) {
    let error: isize;
    // SAFETY: an SBI call only clobbers a0 and a1; sie.STIE and sstatus.SIE
    // let the timer interrupt reach `baseline_trap_entry`, installed at boot.
    unsafe {
        asm!("ecall", inlateout("a0") deadline as usize => error, lateout("a1") _,
             in("a6") 0, in("a7") SBI_EXT_TIME);
        asm!("csrs sie, {}", in(reg) 1usize << 5);
        asm!("csrs sstatus, {}", in(reg) 1usize << 1);
    }
    if error != 0 {
        fail!("sbi_set_timer: error {error}");
    }
}

/// Every trap is fatal: the watchdog firing, or a fault.
#[unsafe(no_mangle)]
extern "C" fn baseline_trap() -> ! {
    let (scause, sepc, stval): (usize, usize, usize);
    // SAFETY: reading the trap CSRs has no side effect.
    unsafe {
        asm!("csrr {}, scause", "csrr {}, sepc", "csrr {}, stval",
             out(reg) scause, out(reg) sepc, out(reg) stval);
    }
    if scause == SCAUSE_TIMER {
        fail!("watchdog: the run took over {WATCHDOG_SECS} s");
    }
    fail!("trap scause={scause:#x} sepc={sepc:#x} stval={stval:#x}")
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    match info.location() {
        Some(at) => fail!("panic at {at}: {}", info.message()),
        None => fail!("panic: {}", info.message()),
    }
}
