#[path = "common/dev.rs"]
mod dev;
use mmio_types::FakeDevice;

fn main() {
    let (_device, token) = FakeDevice::new(4096);
    let _window = dev::DevWindow::from_token(token);
    let _len = token.len();
}
