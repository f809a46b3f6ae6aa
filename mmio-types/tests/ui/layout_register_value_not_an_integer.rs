use mmio_types::{ReadPure, register_block};

// Four bytes are not one register value: a register reads one integer.
register_block! {
    struct Bytes {
        0x0 => word: ReadPure<[u8; 4]>,
        0x4 => @end,
    }
}

fn main() {}
