//! CSR access and machine control: the only users of the `riscv` and
//! `sbi-rt` crates.

use riscv::register::{satp, scause, scounteren, sepc, sie, sstatus, stval, stvec, time};

/// The `virt` test finisher (SiFive test device).
pub const FINISHER: usize = 0x10_0000;

/// A trap cause, decoded once.
#[derive(Clone, Copy, Debug)]
pub struct Cause {
    /// Interrupt (true) or exception.
    pub interrupt: bool,
    /// The cause code.
    pub code: usize,
    /// `stval`: the faulting address, where there is one.
    pub tval: usize,
    /// `sepc`: the pc of the trap.
    pub pc: usize,
}

/// Reads the cause of the current trap.
pub fn cause() -> Cause {
    let c = scause::read();
    Cause {
        interrupt: c.is_interrupt(),
        code: c.code(),
        tval: stval::read(),
        pc: sepc::read(),
    }
}

/// The raw `scause` of the current trap (interrupt bit and code): for an
/// exception, the code itself.
pub fn scause_bits() -> usize {
    scause::read().bits()
}

/// Moves `sepc` past the `ecall` that trapped, so the task resumes after it.
pub fn skip_ecall() {
    // SAFETY: `sepc` is the user pc the next `sret` returns to; `ecall` is
    // a 4-byte instruction (it has no compressed form), so this is the
    // instruction after it.
    unsafe { sepc::write(sepc::read().wrapping_add(4)) }
}

/// Supervisor timer interrupt code.
pub const TIMER_INTERRUPT: usize = 5;

/// Supervisor external interrupt code (the PLIC).
pub const EXTERNAL_INTERRUPT: usize = 9;

/// Installs the trap vector; returns whether `stvec` took it.
pub fn set_trap_vector(addr: usize) -> bool {
    let v = stvec::Stvec::new(addr, stvec::TrapMode::Direct);
    // SAFETY: `addr` is `neuron_trap_entry`, 4-byte aligned, which handles
    // every trap the kernel can take.
    unsafe { stvec::write(v) };
    stvec::read().address() == addr
}

/// Switches to the page table rooted at `root` and flushes the TLB.
///
/// # Safety
/// The table must map the kernel (code, data, stack, RAM, console) exactly
/// as the current one does.
pub unsafe fn switch_page_table(root: usize) {
    // SAFETY: the caller guarantees the kernel stays mapped identically.
    unsafe {
        satp::set(satp::Mode::Sv39, 0, root >> 12);
        riscv::asm::sfence_vma_all();
    }
}

/// Turns on Sv39 paging with the table rooted at `root` and flushes the
/// TLB. Returns false, with paging still off, if `satp` did not take the
/// Sv39 mode: a hart without an Sv39 MMU ignores the write.
///
/// # Safety
/// The table must identity-map everything the kernel touches (its image,
/// stack, RAM, the console and the finisher).
pub unsafe fn enable_paging(root: usize) -> bool {
    const MODE_SHIFT: usize = 60;
    const SV39: usize = 8;
    // SAFETY: guaranteed by the caller.
    unsafe { satp::set(satp::Mode::Sv39, 0, root >> 12) };
    if satp::read().bits() >> MODE_SHIFT != SV39 {
        return false;
    }
    riscv::asm::sfence_vma_all();
    true
}

/// Flushes the TLB entry of one page in the current address space.
pub fn flush_page(va: usize) {
    riscv::asm::sfence_vma(0, va);
}

/// Prepares `sret` to enter U-mode, with user access to `time`, `cycle`
/// and `instret`, and enables the supervisor timer interrupt (taken in
/// U-mode only: the kernel runs with `sstatus.SIE` clear). The FPU is
/// turned off: task switches do not save floating-point registers, so a
/// floating-point instruction is an illegal instruction that kills the task
/// instead of reading another task's values.
pub fn init_user_mode() {
    // SAFETY: these CSR writes only change how U-mode is entered, which
    // counters it may read, and that the (unused) FPU is off.
    unsafe {
        sstatus::set_fs(sstatus::FS::Off);
        sstatus::set_spp(sstatus::SPP::User);
        sstatus::clear_sie();
        scounteren::set_tm();
        scounteren::set_cy();
        scounteren::set_ir();
        sie::set_stimer();
    }
}

/// Enables the supervisor external interrupt (taken in U-mode only, like
/// the timer; the idle loop sees it pending through `wfi`).
pub fn enable_external_interrupts() {
    // SAFETY: only lets the PLIC's S-mode context interrupt U-mode; the
    // kernel itself still runs with `sstatus.SIE` clear.
    unsafe { sie::set_sext() };
}

/// Sleeps until an interrupt enabled in `sie` is pending. With
/// `sstatus.SIE` clear no trap is taken: the caller looks at what woke it.
pub fn wait_for_interrupt() {
    riscv::asm::wfi();
}

/// The `instret` CSR: instructions retired (exact under QEMU's `-icount`).
/// Stamps the interrupt that wakes a waiting task (`wait` returns it).
#[inline(always)]
pub fn instret() -> u64 {
    riscv::register::instret::read64()
}

/// The `time` CSR.
pub fn now() -> u64 {
    time::read64()
}

/// Arms the timer to fire when `time` reaches `at` (this also clears a
/// pending timer interrupt).
pub fn set_timer_at(at: u64) {
    let _ = sbi_rt::set_timer(at);
}

/// Ends the machine: QEMU exits 0 if `ok`, otherwise with `code` (1..255).
pub fn finish(ok: bool, code: u32) -> ! {
    let value = if ok {
        0x5555
    } else {
        (code.clamp(1, 255) << 16) | 0x3333
    };
    // SAFETY: FINISHER is the `virt` test device, mapped kernel-only; a
    // write ends the machine.
    unsafe { (FINISHER as *mut u32).write_volatile(value) };
    loop {
        riscv::asm::wfi();
    }
}

/// Resets the virtio-mmio device at `base` (writes 0 to its Status register
/// and waits, boundedly, until it reads back 0): it stops using its queues
/// and every buffer it was given.
pub fn reset_virtio_device(base: usize) {
    const STATUS: usize = 0x70;
    let status = (base + STATUS) as *mut u32;
    // SAFETY: `base` is a virtio-mmio window from the device table, mapped
    // read-write for the kernel by the boot page table; Status is a 32-bit
    // register whose write of 0 is the specified reset.
    unsafe { status.write_volatile(0) };
    for _ in 0..1_000_000 {
        // SAFETY: as above; reading Status has no side effects.
        if unsafe { status.read_volatile() } == 0 {
            return;
        }
    }
}
