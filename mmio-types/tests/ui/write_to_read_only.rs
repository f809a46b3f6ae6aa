#[path = "common/dev.rs"]
mod dev;
use mmio_types::field;

fn main() {
    let mut window = dev::window();
    let mut regs = window.regs();
    field!(regs, id).write(1);
}
