use mmio_types::{FakeDevice, ReadPure, register_layout};
use nexus_virtio::{VirtioConfig, VirtioMmioWindow};

// A configuration layout larger than the 3840 bytes left after 0x100.
#[repr(C)]
struct Huge {
    words: [ReadPure<u32>; 1024],
}

register_layout! {
    Huge, size = 4096;
    registers { words @ 0 }
}

fn main() {
    let (_device, token) = FakeDevice::new(4096);
    let mut window = VirtioMmioWindow::from_token(token).unwrap();
    let _config = window.config::<Huge>();
}
