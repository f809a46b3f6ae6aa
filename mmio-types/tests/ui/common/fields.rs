// Registers with bitfields used by the compile-fail cases.
use mmio_types::{ReadPure, ReadPureWrite, bitfields, register_block};

bitfields! {
    pub struct Lcr: u8 {
        pub WORD_LENGTH: 0..=1 => WordLength { Five = 0, Six = 1, Seven = 2, Eight = 3 },
        pub PARITY: 3..=5 => Option<Parity> { None = 0, Odd = 1, Even = 3 },
    }
    pub struct Lsr: u8 {
        pub DATA_READY: 0,
        pub THR_EMPTY: 5,
    }
}

register_block! {
    pub struct Uart in 0x1000 {
        0x0 => pub lcr: ReadPureWrite<Lcr>,
        0x1 => pub lsr: ReadPure<Lsr>,
        0x2 => @end,
    }
}

pub fn window() -> mmio_types::MmioWindow<Uart, 0x1000> {
    let (_device, token) = mmio_types::FakeDevice::new(4096);
    mmio_types::MmioWindow::from_token(token).unwrap()
}
