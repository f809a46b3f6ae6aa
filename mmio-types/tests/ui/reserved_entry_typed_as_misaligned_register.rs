use mmio_types::{ReadPure, ReadWrite, register_block};

// An entry with a type is a register and gets every register check: a
// 32-bit register at offset 1 is refused, whatever its name.
register_block! {
    struct Dev {
        0x0 => id: ReadPure<u8>,
        0x1 => _reserved: ReadWrite<u32>,
        0x5 => _pad,
        0x8 => @end,
    }
}

fn main() {}
