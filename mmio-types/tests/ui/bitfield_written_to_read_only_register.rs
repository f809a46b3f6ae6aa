#[path = "common/fields.rs"]
mod fields;
use fields::Lsr;
use mmio_types::field;

fn main() {
    let mut window = fields::window();
    let mut regs = window.regs();
    // LSR is read-only: none of its fields can be written.
    field!(regs, lsr).modify(|lsr| lsr.with(Lsr::DATA_READY, false));
}
