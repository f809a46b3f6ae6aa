//! Making an acknowledgement without touching the device: `Acked` has no
//! public constructor, so it cannot be forged from parts.
use nexus_virtio::{Acked, InterruptStatus, IrqDevice, IrqSys, Transport};

fn forge<'a, T: Transport, S: IrqSys>(dev: &'a mut IrqDevice<T, S>) -> Acked<'a, T, S> {
    Acked {
        dev,
        status: InterruptStatus::USED_BUFFER,
    }
}

fn main() {}
