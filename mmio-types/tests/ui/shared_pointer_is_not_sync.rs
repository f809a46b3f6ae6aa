#[path = "common/dev.rs"]
mod dev;
use mmio_types::field_shared;

fn main() {
    let window = dev::window();
    let regs = window.regs_shared();
    let id = field_shared!(regs, id);
    std::thread::scope(|s| {
        s.spawn(|| id.read());
    });
}
