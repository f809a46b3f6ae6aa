#[path = "common/dev.rs"]
mod dev;
use mmio_types::field;

fn main() {
    let mut window = dev::window();
    let mut regs = window.regs();
    // Only selecting a bank writes a whole-register selector.
    field!(regs, sel).write(3);
}
