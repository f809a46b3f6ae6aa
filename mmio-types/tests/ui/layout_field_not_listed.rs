use mmio_types::{ReadPure, WriteOnly, register_layout};

#[repr(C)]
struct Uart {
    data: WriteOnly<u32>,
    _reserved: [u32; 1],
    status: ReadPure<u32>,
}

register_layout! {
    Uart, size = 12;
    registers { data @ 0, status @ 8 }
}

fn main() {}
