#[path = "common/dev.rs"]
mod dev;
use mmio_types::typenum::U4096;

fn main() {
    let mut window = dev::window();
    // The window is 4096 bytes; a `Dev` starting at 4096 lies entirely past its end.
    let _cfg = window.sub::<dev::Dev, U4096>();
}
