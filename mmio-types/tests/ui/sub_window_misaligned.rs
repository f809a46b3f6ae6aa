#[path = "common/dev.rs"]
mod dev;
use mmio_types::typenum::U258;

fn main() {
    let mut window = dev::window();
    // `Dev` holds 32-bit registers: it cannot start at an odd 16-bit boundary.
    let _cfg = window.sub::<dev::Dev, U258>();
}
