use mmio_types::{FakeDevice, MmioWindow, ReadPure, field, register_block};

register_block! {
    struct Dev in 0x1000 {
        0x0 => id: ReadPure<u8>,
        0x1 => _reserved,
        0x8 => @end,
    }
}

fn main() {
    let (_device, token) = FakeDevice::new(4096);
    let mut window = MmioWindow::<Dev, 0x1000>::from_token(token).unwrap();
    let mut regs = window.regs();
    // Reserved bytes are `Reserved<7>`: there is nothing to read.
    let _ = field!(regs, _reserved).read();
}
