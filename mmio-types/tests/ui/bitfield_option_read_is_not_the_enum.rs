#[path = "common/fields.rs"]
mod fields;
use fields::{Lcr, Parity};
use mmio_types::field;

fn main() {
    let mut window = fields::window();
    let mut regs = window.regs();
    // Not every value of PARITY has a variant: a read is an `Option<Parity>`.
    let parity: Parity = field!(regs, lcr).read().get(Lcr::PARITY);
    let _ = parity;
}
