use mmio_types::{ReadPure, register_block};

// A packed struct whose fields could sit anywhere: not a register.
#[repr(C, packed)]
pub struct Loose {
    pub flag: ReadPure<u8>,
    pub count: ReadPure<u32>,
}

register_block! {
    struct Outer {
        0x0 => id: ReadPure<u32>,
        0x4 => loose: Loose,
        0x9 => _pad,
        0xc => @end,
    }
}

fn main() {}
