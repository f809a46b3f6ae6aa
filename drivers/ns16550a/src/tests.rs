//! The driver's register sequences, checked against scripted devices.

extern crate std;

use std::cell::Cell;
use std::rc::Rc;
use std::vec::Vec;

use mmio_types::{Access, ScriptedDevice};

use super::*;

const RBR_THR: usize = 0;
const IER: usize = 1;
const IIR_FCR: usize = 2;
const LCR: usize = 3;
const MCR: usize = 4;
const LSR: usize = 5;

fn uart() -> (ScriptedDevice, Uart) {
    let (dev, token) = ScriptedDevice::new(WINDOW_LEN);
    dev.name(RBR_THR, "RBR/THR/DLL")
        .name(IER, "IER/DLM")
        .name(IIR_FCR, "IIR/FCR")
        .name(LCR, "LCR")
        .name(MCR, "MCR")
        .name(LSR, "LSR");
    let window = Ns16550aWindow::from_token(token).expect("a 4 KiB window");
    (dev, Uart::new(window))
}

#[test]
fn init_programs_the_latch_then_the_format_then_the_data_bank() {
    let (dev, mut uart) = uart();
    dev.expect([
        // Select the divisor latch: LCR read, DLAB set.
        Access::read(LCR, 0x00u8),
        Access::write(LCR, 0x80u8),
        Access::write(RBR_THR, 0x03u8), // DLL
        Access::write(IER, 0x00u8),     // DLM
        // 8N1, written while DLAB stays set.
        Access::read(LCR, 0x80u8),
        Access::write(LCR, 0x83u8),
        // Back to the data registers.
        Access::read(LCR, 0x83u8),
        Access::write(LCR, 0x03u8),
        Access::write(IER, 0x00u8),
        Access::write(IIR_FCR, 0x07u8), // FIFOs on, both cleared, trigger 1
        Access::write(MCR, 0x0bu8),     // DTR, RTS, OUT2
    ]);
    uart.init(&LineConfig::eight_n_one(3));
    dev.finish();
}

#[test]
fn the_frame_format_is_the_line_control_value() {
    let config = LineConfig {
        divisor: 0x0102,
        word_length: WordLength::Seven,
        parity: Parity::Even,
        two_stop_bits: true,
    };
    assert_eq!(config.lcr().bits(), 0b0001_1110);
    let (dev, mut uart) = uart();
    dev.expect([
        Access::read(LCR, 0x03u8),
        Access::write(LCR, 0x83u8),
        Access::write(RBR_THR, 0x02u8),
        Access::write(IER, 0x01u8),
        Access::read(LCR, 0x83u8),
        Access::write(LCR, 0x9eu8),
        Access::read(LCR, 0x9eu8),
        Access::write(LCR, 0x1eu8),
        Access::write(IER, 0x00u8),
        Access::write(IIR_FCR, 0x07u8),
        Access::write(MCR, 0x0bu8),
    ]);
    uart.init(&config);
}

#[test]
fn sending_waits_for_the_holding_register() {
    let (dev, mut uart) = uart();
    dev.expect([
        Access::read(LSR, 0x00u8),
        Access::read(LSR, 0x00u8),
        Access::read(LSR, 0x20u8),
        // DLAB is already clear: the data bank costs one LCR read.
        Access::read(LCR, 0x03u8),
        Access::write(RBR_THR, b'o'),
        Access::read(LSR, 0x60u8),
        Access::read(LCR, 0x03u8),
        Access::write(RBR_THR, b'k'),
    ]);
    uart.send(b"ok");
}

#[test]
fn a_full_transmitter_would_block_and_nothing_is_written() {
    let (dev, mut uart) = uart();
    dev.expect([Access::read(LSR, 0x01u8)]);
    assert_eq!(uart.try_send(b'x'), Err(WouldBlock));
    dev.finish();
}

#[test]
fn receiving_reads_the_status_then_the_buffer() {
    let (dev, mut uart) = uart();
    dev.expect([
        Access::read(LSR, 0x61u8),
        Access::read(LCR, 0x03u8),
        Access::read(RBR_THR, b'h'),
        Access::read(LSR, 0x60u8),
    ]);
    assert_eq!(uart.try_receive(), Ok(Some(b'h')));
    assert_eq!(uart.try_receive(), Ok(None));
}

#[test]
fn a_line_error_is_reported_and_its_byte_dropped() {
    let (dev, mut uart) = uart();
    dev.expect([
        Access::read(LSR, 0x63u8), // data ready, overrun
        Access::read(LCR, 0x03u8),
        Access::read(RBR_THR, b'?'),
        Access::read(LSR, 0x70u8), // break, no data
    ]);
    let Err(LineError(lsr)) = uart.try_receive() else {
        panic!("an overrun is an error");
    };
    assert!(lsr.is_set(Lsr::OVERRUN) && !lsr.is_set(Lsr::FRAMING_ERROR));
    assert!(matches!(uart.try_receive(), Err(LineError(l)) if l.is_set(Lsr::BREAK)));
}

#[test]
fn a_line_driven_by_a_device_model_echoes() {
    // The receive FIFO pops on read; LSR's data-ready bit follows it, and
    // its error bits clear on read (as the 16550's do).
    let (dev, mut uart) = uart();
    let waiting = Rc::new(Cell::new(3));
    let left = waiting.clone();
    dev.on_read(RBR_THR, {
        let mut bytes = b"hi!".iter();
        move |_| {
            left.set(left.get() - 1);
            u64::from(*bytes.next().unwrap_or(&0))
        }
    });
    dev.on_read(LSR, move |_| 0x60 | u64::from(waiting.get() > 0));
    let mut echoed = Vec::new();
    while let Some(byte) = uart.try_receive().unwrap() {
        uart.send(&[byte]);
        echoed.push(byte);
    }
    assert_eq!(echoed, b"hi!");
    assert_eq!(dev.writes_to(RBR_THR), [104, 105, 33]);
    // No write ever touched LCR: the bank stayed the data bank.
    assert!(dev.writes_to(LCR).is_empty());
}

#[test]
fn the_pending_interrupt_is_decoded_from_iir() {
    let (dev, mut uart) = uart();
    dev.expect([
        Access::read(IIR_FCR, 0xc1u8),
        Access::read(IIR_FCR, 0xc4u8),
        Access::read(IIR_FCR, 0xccu8),
        Access::read(IIR_FCR, 0xcau8),
    ]);
    assert_eq!(uart.pending(), Pending::Nothing);
    assert_eq!(uart.pending(), Pending::Interrupt(Interrupt::RxAvailable));
    assert_eq!(uart.pending(), Pending::Interrupt(Interrupt::Timeout));
    assert_eq!(uart.pending(), Pending::Unknown(Iir::from_bits(0xca)));
}

#[test]
fn interrupts_are_enabled_in_the_data_bank() {
    let (dev, mut uart) = uart();
    dev.expect([
        Access::read(LCR, 0x83u8),
        Access::write(LCR, 0x03u8),
        Access::write(IER, 0x05u8),
    ]);
    uart.enable_interrupts(
        Ier::new()
            .with(Ier::RX_AVAILABLE, true)
            .with(Ier::LINE_STATUS, true),
    );
    let _ = uart.into_window().unmap();
}

/// Lines of the block between `// BEGIN` and `// END` markers.
fn definition_lines(source: &str) -> usize {
    let start = source.find("// BEGIN").expect("a BEGIN marker");
    let end = source.find("// END").expect("an END marker");
    source[start..end].lines().count() - 1
}

#[test]
fn the_definition_is_no_longer_than_tock_registers_without_banking() {
    let ours = definition_lines(include_str!("regs.rs"));
    let tock = definition_lines(include_str!(
        "../../../mmio-types/asm-probes/src/uart_tock.rs"
    ));
    assert_eq!(ours, 20);
    assert!(ours <= tock, "{ours} lines, tock-registers needs {tock}");
}
