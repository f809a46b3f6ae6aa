#[path = "common/dev.rs"]
mod dev;
use mmio_types::{Selected, banked};

fn main() {
    let mut window = dev::window();
    let mut bank = Selected::<dev::DevBank>::new(window.regs(), 0);
    // `other_val` belongs to `OtherBank`, not to `DevBank`.
    banked!(bank, other_val).write(1);
}
