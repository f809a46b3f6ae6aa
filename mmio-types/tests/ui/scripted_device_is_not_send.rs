use mmio_types::ScriptedDevice;

fn main() {
    let (device, _token) = ScriptedDevice::new(0x1000);
    // The device sees the accesses of its own thread only; it stays there.
    std::thread::spawn(move || drop(device));
}
