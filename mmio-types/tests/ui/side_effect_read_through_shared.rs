#[path = "common/dev.rs"]
mod dev;
use mmio_types::field_shared;

fn main() {
    let window = dev::window();
    let regs = window.regs_shared();
    let _ = field_shared!(regs, fifo).read();
}
