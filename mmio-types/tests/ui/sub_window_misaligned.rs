use mmio_types::{ReadPure, place, register_block};

register_block! {
    struct Cfg {
        0x0 => a: ReadPure<u32>,
        0x4 => @end,
    }
}

// 32-bit registers cannot start at 0x102.
place!(Cfg at 0x102 in 0x1000);

fn main() {}
