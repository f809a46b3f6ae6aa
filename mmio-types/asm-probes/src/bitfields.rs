//! Bitfield probes on the NS16550A: typed (`ns16550a`'s definition),
//! raw (hand-written masks and shifts) and tock-registers.

use mmio_types::{field, field_shared};
use ns16550a::{Iir, Lcr, Lsr, Mcr, Ns16550aWindow, WordLength};
use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};

use crate::uart_tock::{IIR, LCR, LSR, MCR, TockUart};

/// The register at `offset` of the UART window.
fn reg(window: &Ns16550aWindow, offset: usize) -> *mut u8 {
    (window.base() + offset) as *mut u8
}

/// Reads `LCR.WORD_LENGTH` (an enumeration naming every value).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_read_enum_typed(window: Ns16550aWindow) -> u8 {
    field_shared!(window.regs_shared(), lcr)
        .read()
        .get(Lcr::WORD_LENGTH) as u8
}

/// Reads `LCR.WORD_LENGTH` (an enumeration naming every value).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_read_enum_raw(window: Ns16550aWindow) -> u8 {
    // SAFETY: LCR (0x3) is a byte register inside the mapped window.
    unsafe { reg(&window, 3).read_volatile() & 0b11 }
}

/// Reads `LCR.WORD_LENGTH` (an enumeration naming every value).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_read_enum_tock(regs: &TockUart) -> u8 {
    regs.lcr.read(LCR::WORD_LENGTH)
}

/// Decodes `IIR.ID` (not every value named): the code, or 0xff.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_read_option_typed(mut window: Ns16550aWindow) -> u8 {
    let mut regs = window.regs();
    match field!(regs, iir_fcr).read().get(Iir::ID) {
        Some(id) => id as u8,
        None => 0xff,
    }
}

/// Decodes `IIR.ID` (not every value named): the code, or 0xff.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_read_option_raw(window: Ns16550aWindow) -> u8 {
    // SAFETY: IIR (0x2) is a byte register inside the mapped window.
    let id = unsafe { reg(&window, 2).read_volatile() } >> 1 & 0b111;
    match id {
        0 | 1 | 2 | 3 | 6 => id,
        _ => 0xff,
    }
}

/// Decodes `IIR.ID` (not every value named): the code, or 0xff.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_read_option_tock(regs: &TockUart) -> u8 {
    match regs.iir_fcr.read_as_enum::<IIR::ID::Value>(IIR::ID) {
        Some(id) => id as u8,
        None => 0xff,
    }
}

/// Tests `LSR.THR_EMPTY`.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_is_set_typed(mut window: Ns16550aWindow) -> bool {
    let mut regs = window.regs();
    field!(regs, lsr).read().is_set(Lsr::THR_EMPTY)
}

/// Tests `LSR.THR_EMPTY`.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_is_set_raw(window: Ns16550aWindow) -> bool {
    // SAFETY: LSR (0x5) is a byte register inside the mapped window.
    unsafe { reg(&window, 5).read_volatile() & 0x20 != 0 }
}

/// Tests `LSR.THR_EMPTY`.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_is_set_tock(regs: &TockUart) -> bool {
    regs.lsr.is_set(LSR::THR_EMPTY)
}

/// Writes MCR with DTR, RTS and OUT2 set, in one access.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_write_typed(mut window: Ns16550aWindow) {
    let mut regs = window.regs();
    field!(regs, mcr).write(
        Mcr::new()
            .with(Mcr::DTR, true)
            .with(Mcr::RTS, true)
            .with(Mcr::OUT2, true),
    );
}

/// Writes MCR with DTR, RTS and OUT2 set, in one access.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_write_raw(window: Ns16550aWindow) {
    // SAFETY: MCR (0x4) is a byte register inside the mapped window.
    unsafe { reg(&window, 4).write_volatile(0b1011) }
}

/// Writes MCR with DTR, RTS and OUT2 set, in one access.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_write_tock(regs: &TockUart) {
    regs.mcr
        .write(MCR::DTR::SET + MCR::RTS::SET + MCR::OUT2::SET);
}

/// Sets `MCR.LOOPBACK` and clears `MCR.OUT2`: one read, one write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_modify_typed(mut window: Ns16550aWindow) {
    let mut regs = window.regs();
    field!(regs, mcr).modify(|m| m.with(Mcr::LOOPBACK, true).with(Mcr::OUT2, false));
}

/// Sets `MCR.LOOPBACK` and clears `MCR.OUT2`: one read, one write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_modify_raw(window: Ns16550aWindow) {
    let mcr = reg(&window, 4);
    // SAFETY: MCR (0x4) is a byte register inside the mapped window.
    unsafe { mcr.write_volatile(mcr.read_volatile() & !0b1000 | 0b1_0000) }
}

/// Sets `MCR.LOOPBACK` and clears `MCR.OUT2`: one read, one write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_modify_tock(regs: &TockUart) {
    regs.mcr.modify(MCR::LOOPBACK::SET + MCR::OUT2::CLEAR);
}

/// Sets `LCR.WORD_LENGTH` to seven bits through the selector register
/// (whose DLAB bit the write keeps): one read, one write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_modify_selector_typed(mut window: Ns16550aWindow) {
    let mut regs = window.regs();
    field!(regs, lcr).modify(|l| l.with(Lcr::WORD_LENGTH, WordLength::Seven));
}

/// Sets `LCR.WORD_LENGTH` to seven bits: one read, one write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_modify_selector_raw(window: Ns16550aWindow) {
    let lcr = reg(&window, 3);
    // SAFETY: LCR (0x3) is a byte register inside the mapped window.
    unsafe { lcr.write_volatile(lcr.read_volatile() & !0b11 | 0b10) }
}

/// Sets `LCR.WORD_LENGTH` to seven bits: one read, one write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_bf_modify_selector_tock(regs: &TockUart) {
    regs.lcr.modify(LCR::WORD_LENGTH::Seven);
}
