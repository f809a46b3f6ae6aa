#[path = "common/dev.rs"]
mod dev;
use mmio_types::field;

fn main() {
    let mut window = dev::window();
    let mut regs = window.regs();
    let _ = field!(regs, doorbell).read();
}
