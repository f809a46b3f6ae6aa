use mmio_types::FakeDevice;

fn main() {
    let (_device, token) = FakeDevice::new(4096);
    let _copy = token.clone();
}
