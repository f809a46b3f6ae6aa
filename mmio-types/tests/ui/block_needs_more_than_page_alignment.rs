use mmio_types::typenum::U8192;
use mmio_types::{FakeDevice, MmioWindow, ReadPure, register_layout};

#[repr(C, align(8192))]
struct OverAligned {
    id: ReadPure<u32>,
    _pad: [u8; 8188],
}

register_layout! {
    OverAligned, size = 8192;
    registers { id @ 0 }
    reserved { _pad @ 4 }
}

fn main() {
    let (_device, token) = FakeDevice::new(4096);
    let _window = MmioWindow::<OverAligned, U8192>::from_token(token);
}
