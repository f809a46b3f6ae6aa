#[path = "common/fields.rs"]
mod fields;
use fields::{Lcr, Parity};
use mmio_types::field;

fn main() {
    let mut window = fields::window();
    let mut regs = window.regs();
    // `Parity::Even` is a value of `PARITY`, not of `WORD_LENGTH`.
    field!(regs, lcr).modify(|lcr| lcr.with(Lcr::WORD_LENGTH, Parity::Even));
}
