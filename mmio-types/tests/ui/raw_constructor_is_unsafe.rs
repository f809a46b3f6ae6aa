#[path = "common/dev.rs"]
mod dev;
use core::ptr::NonNull;

fn main() {
    let mut page = [0u8; 4096];
    let _window = dev::DevWindow::new(NonNull::from(&mut page).cast());
}
