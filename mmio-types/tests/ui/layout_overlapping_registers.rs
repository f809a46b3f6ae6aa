use mmio_types::{ReadPure, register_block};

register_block! {
    struct Uart {
        0x0 => data: ReadPure<u32>,
        0x2 => status: ReadPure<u16>,
        0x4 => @end,
    }
}

fn main() {}
