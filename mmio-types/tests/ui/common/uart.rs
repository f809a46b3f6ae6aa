// A 16550-like block with DLAB banks, used by the compile-fail cases.
use mmio_types::{ReadPureWrite, Selector, banks, register_block};

register_block! {
    pub struct Uart in 0x1000 {
        0x0 => pub slot: Dlab,
        0x3 => pub lcr: Selector<ReadPureWrite<u8>, 0x80>,
        0x4 => @end,
    }
}
register_block! { pub struct Data { 0x0 => pub thr: ReadPureWrite<u8>, 0x1 => pub ier: ReadPureWrite<u8>, 0x2 => _r, 0x3 => @end } }
register_block! { pub struct Latch { 0x0 => pub dll: ReadPureWrite<u8>, 0x1 => pub dlm: ReadPureWrite<u8>, 0x2 => _r, 0x3 => @end } }
banks! { pub Dlab: Uart.slot by lcr { pub DataBank = 0 => Data, pub LatchBank = 0x80 => Latch } }

pub fn window() -> mmio_types::MmioWindow<Uart, 0x1000> {
    let (_device, token) = mmio_types::FakeDevice::new(4096);
    mmio_types::MmioWindow::from_token(token).unwrap()
}
