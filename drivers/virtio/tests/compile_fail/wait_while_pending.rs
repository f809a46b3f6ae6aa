//! Waiting again (or using the device) while an interrupt is pending and not
//! yet acknowledged: the token borrows the device.
use nexus_virtio::{IrqDevice, IrqSys, Transport};

fn again<T: Transport, S: IrqSys>(dev: &mut IrqDevice<T, S>) {
    let first = dev.wait_forever().unwrap();
    let second = dev.wait_forever().unwrap();
    first.acknowledge().rearm().unwrap();
    second.acknowledge().rearm().unwrap();
}

fn main() {}
