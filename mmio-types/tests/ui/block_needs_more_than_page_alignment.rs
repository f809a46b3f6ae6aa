use mmio_types::{ReadPure, register_block};

register_block! {
    #[repr(align(8192))]
    struct OverAligned in 8192 {
        0x0 => id: ReadPure<u32>,
        0x4 => _pad,
        0x2000 => @end,
    }
}

fn main() {}
