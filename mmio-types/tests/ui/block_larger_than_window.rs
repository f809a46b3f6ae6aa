use mmio_types::typenum::U16;
use mmio_types::{FakeDevice, MmioWindow, ReadPure, register_layout};

#[repr(C)]
struct Big {
    regs: [ReadPure<u32>; 8],
}

register_layout! {
    Big, size = 32;
    registers { regs @ 0 }
}

fn main() {
    let (_device, token) = FakeDevice::new(16);
    let _window = MmioWindow::<Big, U16>::from_token(token);
}
