use mmio_types::{ReadPure, register_layout};

// Four bytes read as one 32-bit access, at offset 4 but only byte-aligned:
// a block of these could be placed at an odd address.
#[repr(C)]
struct Bytes {
    tag: ReadPure<u8>,
    _reserved: [u8; 3],
    word: ReadPure<[u8; 4]>,
}

register_layout! {
    Bytes, size = 8;
    registers { tag @ 0, word @ 4 }
    reserved { _reserved @ 1 }
}

fn main() {}
