//! Assembly entry points: boot, trap entry from U-mode, return to U-mode.

use crate::task::TrapFrame;

// Boot: OpenSBI enters here in S-mode with a0 = hart id, a1 = DTB address,
// paging off. Set up the boot stack, zero .bss, call `neuron_start`.
core::arch::global_asm!(
    r#"
    .section .text.boot
    .globl _start
_start:
    .option push
    .option norelax
    la sp, __stack_top
    .option pop
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  csrw sscratch, zero
    call neuron_start
3:  wfi
    j 3b
"#
);

// Trap entry. In the kernel, sscratch is 0; in U-mode it holds the current
// task's TrapFrame. A trap from S goes to `neuron_kernel_trap`.
//
// A trap from U saves only what the Rust handler may clobber: the
// caller-saved registers (ra, t0-t6, a0-a7) and the user sp. The
// callee-saved ones (s0-s11) stay live in their registers across the call
// (the C ABI preserves them), and gp/tp are never touched by the kernel.
// `sepc` stays in its CSR while the task is the one running. The handler
// runs on the kernel stack (the kernel never blocks, so one stack serves
// every trap) with the user a0-a5 and a7 still in their registers and the
// frame in a6, and returns in a0 the frame to resume and in a1 the frame of
// the task being switched away from, or 0 when it returns to the same task:
//
// - same task: restore the caller-saved registers and sp, then `sret`;
// - switch: complete the old frame (s0-s11, gp, tp and sepc, which still
//   hold the old task's values), then restore every register of the next
//   frame (`neuron_return_to_user`).
core::arch::global_asm!(
    r#"
    .section .text
    .balign 4
    .globl neuron_trap_entry
neuron_trap_entry:
    csrrw sp, sscratch, sp
    bnez sp, 1f
    csrrw sp, sscratch, sp
    j neuron_kernel_trap
1:
    sd x1, 8(sp)
    sd x5, 40(sp)
    sd x6, 48(sp)
    sd x7, 56(sp)
    sd x10, 80(sp)
    sd x11, 88(sp)
    sd x12, 96(sp)
    sd x13, 104(sp)
    sd x14, 112(sp)
    sd x15, 120(sp)
    sd x16, 128(sp)
    sd x17, 136(sp)
    sd x28, 224(sp)
    sd x29, 232(sp)
    sd x30, 240(sp)
    sd x31, 248(sp)
    csrrw t0, sscratch, zero
    sd t0, 16(sp)
    mv a6, sp
    la sp, __stack_top
    jal neuron_user_trap
    bnez a1, 2f
    csrw sscratch, a0
    ld x1, 8(a0)
    ld x2, 16(a0)
    ld x5, 40(a0)
    ld x6, 48(a0)
    ld x7, 56(a0)
    ld x11, 88(a0)
    ld x12, 96(a0)
    ld x13, 104(a0)
    ld x14, 112(a0)
    ld x15, 120(a0)
    ld x16, 128(a0)
    ld x17, 136(a0)
    ld x28, 224(a0)
    ld x29, 232(a0)
    ld x30, 240(a0)
    ld x31, 248(a0)
    ld x10, 80(a0)
    sret
2:
    sd x3, 24(a1)
    sd x4, 32(a1)
    sd x8, 64(a1)
    sd x9, 72(a1)
    sd x18, 144(a1)
    sd x19, 152(a1)
    sd x20, 160(a1)
    sd x21, 168(a1)
    sd x22, 176(a1)
    sd x23, 184(a1)
    sd x24, 192(a1)
    sd x25, 200(a1)
    sd x26, 208(a1)
    sd x27, 216(a1)
    csrr t0, sepc
    sd t0, 256(a1)

    .globl neuron_return_to_user
neuron_return_to_user:
    csrw sscratch, a0
    ld t0, 256(a0)
    csrw sepc, t0
    ld x1, 8(a0)
    ld x2, 16(a0)
    ld x3, 24(a0)
    ld x4, 32(a0)
    ld x5, 40(a0)
    ld x6, 48(a0)
    ld x7, 56(a0)
    ld x8, 64(a0)
    ld x9, 72(a0)
    ld x11, 88(a0)
    ld x12, 96(a0)
    ld x13, 104(a0)
    ld x14, 112(a0)
    ld x15, 120(a0)
    ld x16, 128(a0)
    ld x17, 136(a0)
    ld x18, 144(a0)
    ld x19, 152(a0)
    ld x20, 160(a0)
    ld x21, 168(a0)
    ld x22, 176(a0)
    ld x23, 184(a0)
    ld x24, 192(a0)
    ld x25, 200(a0)
    ld x26, 208(a0)
    ld x27, 216(a0)
    ld x28, 224(a0)
    ld x29, 232(a0)
    ld x30, 240(a0)
    ld x31, 248(a0)
    ld x10, 80(a0)
    sret
"#
);

const _: () = {
    assert!(core::mem::offset_of!(TrapFrame, regs) == 0);
    assert!(core::mem::offset_of!(TrapFrame, pc) == 256);
};

unsafe extern "C" {
    /// The trap vector (4-byte aligned, as `stvec` requires).
    pub fn neuron_trap_entry();
    /// Restores every register of `frame` (pc included) and `sret`s to
    /// U-mode. Never returns.
    pub fn neuron_return_to_user(frame: *const TrapFrame) -> !;
}

unsafe extern "C" {
    /// Link-script symbols: only their addresses are meaningful.
    pub static __kernel_start: u8;
    pub static __text_start: u8;
    pub static __text_end: u8;
    pub static __rodata_start: u8;
    pub static __rodata_end: u8;
    pub static __data_start: u8;
    pub static __stack_guard: u8;
    pub static __stack_bottom: u8;
    pub static __kernel_end: u8;
}

/// The address of a link-script symbol.
macro_rules! sym_addr {
    ($s:ident) => {
        core::ptr::addr_of!($crate::arch::entry::$s) as usize
    };
}
pub(crate) use sym_addr;
