#[path = "common/dev.rs"]
mod dev;
use mmio_types::field;

fn main() {
    let mut window = dev::window();
    let mut first = window.regs();
    let mut second = window.regs();
    field!(second, ctrl).write(1);
    field!(first, ctrl).write(2);
}
