use mmio_types::{ReadPure, register_block};

// Declared to live in a 16-byte window, but 32 bytes long.
register_block! {
    struct Big in 16 {
        0x0 => regs: [ReadPure<u32>; 8],
        0x20 => @end,
    }
}

fn main() {}
