#[path = "common/dev.rs"]
mod dev;

fn main() {
    let mut window = dev::window();
    // `Dev` was declared at offset 0 of a 4 KiB window, not at 0x100.
    let _cfg = window.sub::<dev::Dev, 0x100>();
}
