use mmio_types::{ReadPure, ReadWrite, register_block};

// `packed` would put the 32-bit register at offset 1: every access to it
// would be misaligned.
register_block! {
    #[repr(packed)]
    struct Packed {
        0x0 => flag: ReadPure<u8>,
        0x1 => count: ReadWrite<u32>,
        0x5 => @end,
    }
}

fn main() {}
