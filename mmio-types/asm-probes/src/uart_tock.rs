//! The NS16550A registers and fields written with tock-registers, for the
//! bitfield probes and for the line count the README compares.
//!
//! Same registers, fields and values as `ns16550a`'s definition, one
//! register (or one register's fields) per line, without banking:
//! tock-registers has no way to say that offsets 0 and 1 are the divisor
//! latch while `LCR.DLAB` is set.

#![allow(
    clippy::modulo_one,
    reason = "register_structs!' alignment check of byte registers"
)]

use tock_registers::registers::{Aliased, ReadOnly, ReadWrite};
use tock_registers::{register_bitfields, register_structs};

// BEGIN 16550 definition
register_structs! {
    pub TockUart {
        (0x0 => pub rbr_thr: ReadWrite<u8>),
        (0x1 => pub ier: ReadWrite<u8, IER::Register>),
        (0x2 => pub iir_fcr: Aliased<u8, IIR::Register, FCR::Register>),
        (0x3 => pub lcr: ReadWrite<u8, LCR::Register>),
        (0x4 => pub mcr: ReadWrite<u8, MCR::Register>),
        (0x5 => pub lsr: ReadOnly<u8, LSR::Register>),
        (0x6 => pub msr: ReadOnly<u8>),
        (0x7 => pub scr: ReadWrite<u8>),
        (0x8 => @END),
    }
}
register_bitfields![u8,
    pub IER [RX_AVAILABLE 0, THR_EMPTY 1, LINE_STATUS 2, MODEM_STATUS 3],
    pub IIR [NO_INTERRUPT OFFSET(0) NUMBITS(1) [], ID OFFSET(1) NUMBITS(3) [ModemStatus = 0, ThrEmpty = 1, RxAvailable = 2, LineStatus = 3, Timeout = 6], FIFOS OFFSET(6) NUMBITS(2) []],
    pub FCR [ENABLE OFFSET(0) NUMBITS(1) [], CLEAR_RX OFFSET(1) NUMBITS(1) [], CLEAR_TX OFFSET(2) NUMBITS(1) [], RX_TRIGGER OFFSET(6) NUMBITS(2) [One = 0, Four = 1, Eight = 2, Fourteen = 3]],
    pub LCR [WORD_LENGTH OFFSET(0) NUMBITS(2) [Five = 0, Six = 1, Seven = 2, Eight = 3], TWO_STOP_BITS OFFSET(2) NUMBITS(1) [], PARITY OFFSET(3) NUMBITS(3) [None = 0, Odd = 1, Even = 3, Mark = 5, Space = 7], BREAK OFFSET(6) NUMBITS(1) [], DLAB OFFSET(7) NUMBITS(1) []],
    pub MCR [DTR 0, RTS 1, OUT1 2, OUT2 3, LOOPBACK 4],
    pub LSR [DATA_READY 0, OVERRUN 1, PARITY_ERROR 2, FRAMING_ERROR 3, BREAK 4, THR_EMPTY 5, TX_EMPTY 6, FIFO_ERROR 7],
];
// END 16550 definition
