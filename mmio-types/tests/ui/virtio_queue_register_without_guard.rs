use mmio_types::{FakeDevice, field};
use nexus_virtio::VirtioMmioWindow;

fn main() {
    let (_device, token) = FakeDevice::new(4096);
    let mut window = VirtioMmioWindow::from_token(token).unwrap();
    let mut regs = window.regs();
    // `QueueNum` means nothing until a queue is selected: no `write` without the guard.
    field!(regs, queue_num).write(64);
}
