//! The NS16550A register block, its DLAB banks and its bitfields.
//!
//! Offsets 0 and 1 hold the data registers (RBR/THR, IER) while `LCR.DLAB`
//! is clear and the divisor latch (DLL, DLM) while it is set: the two banks
//! of the overlay [`Dlab`], selected by the crate through `LCR`'s bit 7
//! (the rest of `LCR` stays writable). Reads of RBR, IIR, LSR and MSR have
//! side effects (pop the FIFO, clear an interrupt or error bits).
// The definition is counted against tock-registers' in the README (20 lines
// from `register_block!` to the last `}`), so it is written one register,
// or one register's fields, per line.

use mmio_types::{ReadOnly, ReadOnlyWriteOnly, ReadPureWrite, Selector};
use mmio_types::{banks, bitfields, register_block};

// BEGIN 16550 definition
register_block! { pub struct Uart16550 in 0x1000 {
0 => pub dlab: Dlab,
2 => pub iir_fcr: ReadOnlyWriteOnly<Iir, Fcr>,
3 => pub lcr: Selector<ReadPureWrite<Lcr>, 0x80>,
4 => pub mcr: ReadPureWrite<Mcr>,
5 => pub lsr: ReadOnly<Lsr>,
6 => pub msr: ReadOnly<u8>,
7 => pub scr: ReadPureWrite<u8>,
8 => @end } }
register_block! { pub struct Data { 0 => pub rbr_thr: ReadOnlyWriteOnly<u8, u8>, 1 => pub ier: ReadPureWrite<Ier>, 2 => @end } }
register_block! { pub struct Divisor { 0 => pub dll: ReadPureWrite<u8>, 1 => pub dlm: ReadPureWrite<u8>, 2 => @end } }
banks! { pub Dlab: Uart16550.dlab by lcr { pub DataBank = 0 => Data, pub DivisorBank = 0x80 => Divisor } }
bitfields! {
    pub struct Ier: u8 { pub RX_AVAILABLE: 0, pub THR_EMPTY: 1, pub LINE_STATUS: 2, pub MODEM_STATUS: 3 }
    pub struct Iir: u8 { pub NO_INTERRUPT: 0, pub ID: 1..=3 => Option<Interrupt> { ModemStatus = 0, ThrEmpty = 1, RxAvailable = 2, LineStatus = 3, Timeout = 6 }, pub FIFOS: 6..=7 }
    pub struct Fcr: u8 { pub ENABLE: 0, pub CLEAR_RX: 1, pub CLEAR_TX: 2, pub RX_TRIGGER: 6..=7 => RxTrigger { One = 0, Four = 1, Eight = 2, Fourteen = 3 } }
    pub struct Lcr: u8 { pub WORD_LENGTH: 0..=1 => WordLength { Five = 0, Six = 1, Seven = 2, Eight = 3 }, pub TWO_STOP_BITS: 2, pub PARITY: 3..=5 => Option<Parity> { None = 0, Odd = 1, Even = 3, Mark = 5, Space = 7 }, pub BREAK: 6, pub DLAB: 7 }
    pub struct Mcr: u8 { pub DTR: 0, pub RTS: 1, pub OUT1: 2, pub OUT2: 3, pub LOOPBACK: 4 }
    pub struct Lsr: u8 { pub DATA_READY: 0, pub OVERRUN: 1, pub PARITY_ERROR: 2, pub FRAMING_ERROR: 3, pub BREAK: 4, pub THR_EMPTY: 5, pub TX_EMPTY: 6, pub FIFO_ERROR: 7 }
}
// END 16550 definition
