#![forbid(unsafe_code)]
use mmio_types::{Bank, ReadWrite, UniqueMmioPointer, register_block};

register_block! {
    pub struct Dev {
        0x0 => pub ctrl: ReadWrite<u32>,
        0x4 => @end,
    }
}

// A hand-written bank whose "selection" does nothing: refused, the trait
// is implemented by `bank!`/`banks!` only (an `unsafe impl` otherwise).
pub struct Fake;
impl Bank for Fake {
    type Block = Dev;
    type Index = u32;
    fn __select(_block: &mut UniqueMmioPointer<'_, Dev>, _index: u32) {}
}

fn main() {}
