use mmio_types::{FakeDevice, banked};
use nexus_virtio::{VirtioMmioWindow, VirtioRegs};

fn main() {
    let (_device, token) = FakeDevice::new(4096);
    let mut window = VirtioMmioWindow::from_token(token).unwrap();
    let mut regs = window.regs();
    let mut queue = regs.select_queue(0);
    // `DriverFeatures` belongs to the `DriverFeaturesSel` bank, not to the queue's.
    banked!(queue.selected(), driver_features).write(1);
}
