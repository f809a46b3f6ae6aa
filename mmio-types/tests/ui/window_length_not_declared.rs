use mmio_types::{FakeDevice, MmioWindow, ReadPure, register_block};

register_block! {
    struct Big in 0x1000 {
        0x0 => regs: [ReadPure<u32>; 8],
        0x20 => @end,
    }
}

fn main() {
    // Declared for 4 KiB windows only: a 16-byte window type does not exist.
    let (_device, token) = FakeDevice::new(16);
    let _window = MmioWindow::<Big, 16>::from_token(token);
}
