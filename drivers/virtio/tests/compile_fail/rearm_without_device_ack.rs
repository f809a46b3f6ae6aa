//! Re-arming the line straight from the pending token, without
//! acknowledging the device: `Pending` has no way to re-arm.
use nexus_virtio::{IrqSys, Pending, Transport};

fn skip_the_device<T: Transport, S: IrqSys>(pending: Pending<'_, T, S>) {
    pending.rearm().unwrap();
}

fn main() {}
