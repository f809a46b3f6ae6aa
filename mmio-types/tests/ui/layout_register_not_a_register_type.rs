use mmio_types::{ReadPure, register_layout};

// A nested struct that is not itself a pinned register block: its fields
// could sit anywhere, so it cannot be a register.
#[repr(C, packed)]
pub struct Loose {
    pub flag: ReadPure<u8>,
    pub count: ReadPure<u32>,
    pub limit: ReadPure<u32>,
}

#[repr(C)]
struct Outer {
    id: ReadPure<u32>,
    loose: Loose,
}

register_layout! {
    Outer, size = 16;
    registers { id @ 0, loose @ 4 }
}

fn main() {}
