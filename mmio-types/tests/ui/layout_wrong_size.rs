use mmio_types::{ReadPure, WriteOnly, register_block};

register_block! {
    struct Uart {
        0x0 => data: WriteOnly<u32>,
        0x4 => status: ReadPure<u32>,
        0x10 => @end,
    }
}

fn main() {}
