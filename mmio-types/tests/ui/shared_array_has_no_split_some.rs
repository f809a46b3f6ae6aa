#[path = "common/dev.rs"]
mod dev;
use mmio_types::field_shared;

fn main() {
    let window = dev::window();
    let regs = window.regs_shared();
    // No way from a shared pointer to unique pointers of its elements.
    let _parts = field_shared!(regs, pair).split_some([0, 1]);
}
