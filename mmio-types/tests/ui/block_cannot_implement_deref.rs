use mmio_types::{ReadPure, register_block};

register_block! {
    pub struct Dev {
        0x0 => pub id: ReadPure<u32>,
        0x4 => @end,
    }
}

pub struct Elsewhere {
    pub hidden: ReadPure<u32>,
}

// A `Deref` would let `field!(regs, hidden)` project through a reference
// to somewhere else.
impl core::ops::Deref for Dev {
    type Target = Elsewhere;
    fn deref(&self) -> &Elsewhere {
        unimplemented!()
    }
}

fn main() {}
