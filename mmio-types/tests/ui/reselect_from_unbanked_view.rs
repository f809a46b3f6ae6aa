#[path = "common/dev.rs"]
mod dev;
use mmio_types::{Selected, banked};

fn main() {
    let mut window = dev::window();
    let mut bank = Selected::<dev::DevBank>::new(window.regs(), 0);
    // The guard's unbanked view cannot select again under the guard.
    let _again = Selected::<dev::DevBank>::new(bank.regs(), 1);
    banked!(bank, bank_val).write(5);
}
