#[path = "common/dev.rs"]
mod dev;
use mmio_types::field;

fn main() {
    let mut window = dev::window();
    let mut regs = window.regs();
    let mut ctrl = field!(regs, ctrl);
    // Another thread writing while this one (or the fake device) accesses
    // the register would race.
    std::thread::scope(|s| {
        s.spawn(move || ctrl.write(1));
    });
}
