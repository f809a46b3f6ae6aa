use mmio_types::{FakeDevice, MmioWindow, ReadPure, ReadWrite, field, register_block};

#[repr(C, packed)]
pub struct Packed {
    pub flag: u8,
    pub count: ReadWrite<u32>,
}

register_block! {
    struct Dev in 0x1000 {
        0x0 => id: ReadPure<u32>,
        0x4 => _reserved,
        0x10 => @end,
    }
}

fn main() {
    let (_device, token) = FakeDevice::new(4096);
    let mut window = MmioWindow::<Dev, 0x1000>::from_token(token).unwrap();
    let mut regs = window.regs();
    // A reserved entry is bytes: it holds no struct to project into.
    let mut reserved = field!(regs, _reserved);
    let _ = field!(reserved, count).read();
}
