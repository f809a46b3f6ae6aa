use mmio_types::{FakeDevice, field_shared};
use nexus_virtio::VirtioMmioWindow;

fn main() {
    let (_device, token) = FakeDevice::new(4096);
    let window = VirtioMmioWindow::from_token(token).unwrap();
    let regs = window.regs_shared();
    // Which 32 feature bits? Only a `DeviceFeatureWord` guard knows.
    let _bits = field_shared!(regs, device_features).read();
}
