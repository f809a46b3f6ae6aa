use mmio_types::{ReadPure, WriteOnly, register_block};

register_block! {
    struct Uart {
        0x0 => data: WriteOnly<u32>,
        0x8 => status: ReadPure<u32>,
        0xc => @end,
    }
}

fn main() {}
