//! The NS16550A UART (`ns16550a` on QEMU virt): registers, bitfields and
//! the DLAB banks through a typed MMIO window, and a polling driver.
//!
//! Every register access goes through `mmio-types`: the divisor latch is
//! reachable only while the crate has set `LCR.DLAB`, the data registers
//! only while it has cleared it, and a field is read or written with the
//! register it belongs to, in one access. The crate is host-tested against
//! scripted fake devices, which check the driver's register sequence.
//!
//! It is a driver crate rather than an example of `mmio-types` so that it
//! is written as any driver is (`no_std`, `#![forbid(unsafe_code)]`, built
//! and linted for riscv64), and so that `mmio-types`' asm-check probes can
//! use its register definitions: the bitfield probes measure the very
//! types a driver uses. QEMU's UART belongs to the kernel console, so no
//! task drives it; its tests run on the host and under Miri.
#![no_std]
#![forbid(unsafe_code)]

mod regs;

use mmio_types::{MmioWindow, Selected, field};

pub use regs::{
    Data, DataBank, Divisor, DivisorBank, Dlab, Fcr, Ier, Iir, Interrupt, Lcr, Lsr, Mcr, Parity,
    RxTrigger, Uart16550, WordLength,
};

/// The window the kernel grants: the page holding the registers.
pub const WINDOW_LEN: usize = 0x1000;

/// A 4 KiB window with the 16550 registers at its start.
pub type Ns16550aWindow = MmioWindow<Uart16550, WINDOW_LEN>;

/// The line: baud-rate divisor and frame format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineConfig {
    /// Input clock / (16 × baud rate).
    pub divisor: u16,
    /// Data bits per character.
    pub word_length: WordLength,
    /// Parity bit.
    pub parity: Parity,
    /// Two stop bits (1.5 with five data bits) instead of one.
    pub two_stop_bits: bool,
}

impl LineConfig {
    /// 8 data bits, no parity, one stop bit, at `divisor`.
    pub const fn eight_n_one(divisor: u16) -> LineConfig {
        LineConfig {
            divisor,
            word_length: WordLength::Eight,
            parity: Parity::None,
            two_stop_bits: false,
        }
    }

    /// The line control value of this format (DLAB clear).
    pub fn lcr(&self) -> Lcr {
        Lcr::new()
            .with(Lcr::WORD_LENGTH, self.word_length)
            .with(Lcr::TWO_STOP_BITS, self.two_stop_bits)
            .with(Lcr::PARITY, self.parity)
    }
}

/// The transmitter holding register is full: try again later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WouldBlock;

/// The line status reported an error (overrun, parity, framing or break);
/// the status read cleared it, and the received byte, if any, was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineError(pub Lsr);

/// What the interrupt identification register says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    /// No interrupt is pending.
    Nothing,
    /// The highest-priority pending interrupt.
    Interrupt(Interrupt),
    /// An identification the 16550 does not define.
    Unknown(Iir),
}

/// The UART.
pub struct Uart {
    window: Ns16550aWindow,
}

impl Uart {
    /// Drives the UART behind `window` (call [`init`](Self::init) first).
    pub fn new(window: Ns16550aWindow) -> Self {
        Uart { window }
    }

    /// Programs the line: the divisor latch, then the frame format, then
    /// (data bank) interrupts off, FIFOs on and cleared, DTR, RTS and OUT2.
    pub fn init(&mut self, config: &LineConfig) {
        let mut regs = self.window.regs();
        {
            let mut latch = Selected::<DivisorBank>::new(regs.reborrow(), ());
            let mut divisor = latch.bank();
            let [low, high] = config.divisor.to_le_bytes();
            field!(divisor, dll).write(low);
            field!(divisor, dlm).write(high);
            // The format is written while DLAB is set; the selector keeps it.
            let mut unbanked = latch.regs();
            field!(unbanked, lcr).write(config.lcr());
        }
        let mut data = Selected::<DataBank>::new(regs, ());
        let mut bank = data.bank();
        field!(bank, ier).write(Ier::new());
        let mut unbanked = data.regs();
        field!(unbanked, iir_fcr).write(
            Fcr::new()
                .with(Fcr::ENABLE, true)
                .with(Fcr::CLEAR_RX, true)
                .with(Fcr::CLEAR_TX, true)
                .with(Fcr::RX_TRIGGER, RxTrigger::One),
        );
        field!(unbanked, mcr).write(
            Mcr::new()
                .with(Mcr::DTR, true)
                .with(Mcr::RTS, true)
                .with(Mcr::OUT2, true),
        );
    }

    /// Sends `byte` if the transmitter holding register is empty: one
    /// status read, then the data bank's THR.
    pub fn try_send(&mut self, byte: u8) -> Result<(), WouldBlock> {
        let mut regs = self.window.regs();
        if !field!(regs, lsr).read().is_set(Lsr::THR_EMPTY) {
            return Err(WouldBlock);
        }
        let mut data = Selected::<DataBank>::new(regs, ());
        let mut bank = data.bank();
        field!(bank, rbr_thr).write(byte);
        Ok(())
    }

    /// Sends every byte, waiting for room before each.
    pub fn send(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            while self.try_send(byte).is_err() {
                core::hint::spin_loop();
            }
        }
    }

    /// A received byte, if one is waiting. The status read clears the
    /// error bits; an error is reported (and its byte dropped) before any
    /// data.
    pub fn try_receive(&mut self) -> Result<Option<u8>, LineError> {
        let mut regs = self.window.regs();
        let lsr = field!(regs, lsr).read();
        let errors = [
            Lsr::OVERRUN,
            Lsr::PARITY_ERROR,
            Lsr::FRAMING_ERROR,
            Lsr::BREAK,
        ];
        let failed = errors.into_iter().any(|f| lsr.is_set(f));
        if !failed && !lsr.is_set(Lsr::DATA_READY) {
            return Ok(None);
        }
        let byte = if lsr.is_set(Lsr::DATA_READY) {
            let mut data = Selected::<DataBank>::new(regs, ());
            let mut bank = data.bank();
            Some(field!(bank, rbr_thr).read())
        } else {
            None
        };
        if failed {
            Err(LineError(lsr))
        } else {
            Ok(byte)
        }
    }

    /// Enables the interrupts set in `ier`.
    pub fn enable_interrupts(&mut self, ier: Ier) {
        let mut data = Selected::<DataBank>::new(self.window.regs(), ());
        let mut bank = data.bank();
        field!(bank, ier).write(ier);
    }

    /// The pending interrupt. Reading IIR acknowledges a THR-empty interrupt.
    pub fn pending(&mut self) -> Pending {
        let mut regs = self.window.regs();
        let iir = field!(regs, iir_fcr).read();
        if iir.is_set(Iir::NO_INTERRUPT) {
            return Pending::Nothing;
        }
        match iir.get(Iir::ID) {
            Some(id) => Pending::Interrupt(id),
            None => Pending::Unknown(iir),
        }
    }

    /// Gives the window back (to unmap it).
    pub fn into_window(self) -> Ns16550aWindow {
        self.window
    }
}

#[cfg(test)]
mod tests;
