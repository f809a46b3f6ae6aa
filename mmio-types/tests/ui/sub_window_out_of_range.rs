use mmio_types::{ReadPure, place, register_block};

register_block! {
    struct Cfg {
        0x0 => a: ReadPure<u32>,
        0x4 => @end,
    }
}

// The window is 4096 bytes; a `Cfg` at 4094 runs past its end.
place!(Cfg at 4094 in 4096);

fn main() {}
