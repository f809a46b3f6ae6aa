use mmio_types::{ReadPure, ReadWrite, register_layout};

// `packed` puts the 32-bit register at offset 1: every access to it would be misaligned.
#[repr(C, packed)]
struct Packed {
    flag: ReadPure<u8>,
    count: ReadWrite<u32>,
}

register_layout! {
    Packed, size = 5;
    registers { flag @ 0, count @ 1 }
}

fn main() {}
