// A small device used by the compile-fail cases.
use mmio_types::{
    Bank, Banked, ReadOnly, ReadPure, ReadWrite, UniqueMmioPointer, WriteOnly, field,
    register_layout,
};

#[repr(C)]
pub struct Dev {
    pub id: ReadPure<u32>,                       // 0x00: pure read
    pub fifo: ReadOnly<u32>,                     // 0x04: read with side effects
    pub ctrl: ReadWrite<u32>,                    // 0x08
    pub doorbell: WriteOnly<u32>,                // 0x0c
    pub sel: WriteOnly<u32>,                     // 0x10: selector
    pub bank_val: Banked<DevBank, ReadWrite<u32>>, // 0x14: banked by `sel`
}

register_layout! {
    Dev, size = 0x18;
    registers { id @ 0x00, fifo @ 0x04, ctrl @ 0x08, doorbell @ 0x0c, sel @ 0x10, bank_val @ 0x14 }
}

pub struct DevBank;

impl Bank for DevBank {
    type Block = Dev;
    fn select(block: &mut UniqueMmioPointer<'_, Dev>, index: u32) {
        field!(*block, sel).write(index);
    }
}

pub type DevWindow = mmio_types::MmioWindow<Dev, mmio_types::typenum::U4096>;

pub fn window() -> DevWindow {
    let (_device, token) = mmio_types::FakeDevice::new(4096);
    DevWindow::from_token(token).unwrap()
}
