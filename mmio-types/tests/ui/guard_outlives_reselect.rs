#[path = "common/dev.rs"]
mod dev;
use mmio_types::{Selected, banked};

fn main() {
    let mut window = dev::window();
    let mut regs = window.regs();
    let mut bank0 = Selected::<dev::DevBank>::new(regs.reborrow(), 0);
    let _bank1 = Selected::<dev::DevBank>::new(regs.reborrow(), 1);
    banked!(bank0, bank_val).write(5);
}
