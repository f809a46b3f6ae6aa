use mmio_types::FakeDevice;
use nexus_virtio::{VirtioMmioWindow, VirtioRegs};

fn main() {
    let (_device, token) = FakeDevice::new(4096);
    let mut window = VirtioMmioWindow::from_token(token).unwrap();
    let mut regs = window.regs();
    let mut queue0 = regs.select_queue(0);
    let _queue1 = regs.select_queue(1);
    // `queue0`'s registers now describe queue 1: using it must not compile.
    queue0.set_num(64);
}
