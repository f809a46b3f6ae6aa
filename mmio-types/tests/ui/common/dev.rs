// A small device used by the compile-fail cases.
use mmio_types::{
    Banked, ReadOnly, ReadPure, ReadWrite, Selector, WriteOnly, bank, register_block,
};

register_block! {
    pub struct Dev in 0x1000 {
        0x00 => pub id: ReadPure<u32>,
        0x04 => pub fifo: ReadOnly<u32>,
        0x08 => pub ctrl: ReadWrite<u32>,
        0x0c => pub doorbell: WriteOnly<u32>,
        0x10 => pub sel: Selector<WriteOnly<u32>>,
        0x14 => pub bank_val: Banked<DevBank, ReadWrite<u32>>,
        0x18 => pub other_sel: Selector<WriteOnly<u32>>,
        0x1c => pub other_val: Banked<OtherBank, ReadWrite<u32>>,
        0x20 => pub pair: [ReadPure<u32>; 2],
        0x28 => _reserved,
        0x30 => @end,
    }
}

bank!(pub DevBank: Dev.sel as u32);
bank!(pub OtherBank: Dev.other_sel as u32);

pub type DevWindow = mmio_types::MmioWindow<Dev, 0x1000>;

pub fn window() -> DevWindow {
    let (_device, token) = mmio_types::FakeDevice::new(4096);
    DevWindow::from_token(token).unwrap()
}
