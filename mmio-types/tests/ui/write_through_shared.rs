#[path = "common/dev.rs"]
mod dev;
use mmio_types::field_shared;

fn main() {
    let window = dev::window();
    let regs = window.regs_shared();
    field_shared!(regs, ctrl).write(1);
}
