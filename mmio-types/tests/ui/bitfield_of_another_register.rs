#[path = "common/fields.rs"]
mod fields;
use fields::{Lcr, Lsr};
use mmio_types::field;

fn main() {
    let mut window = fields::window();
    let mut regs = window.regs();
    let lsr: Lsr = field!(regs, lsr).read();
    // `WORD_LENGTH` is a field of `Lcr`, not of `Lsr`.
    let _ = lsr.get(Lcr::WORD_LENGTH);
}
