//! Acknowledging device B to re-arm device A's line: the pending token of A
//! can only acknowledge A (it holds A), and nothing takes a second device.
use nexus_virtio::{IrqDevice, IrqSys, Transport};

fn cross<T: Transport, S: IrqSys>(a: &mut IrqDevice<T, S>, b: &mut IrqDevice<T, S>) {
    let pending_a = a.wait_forever().unwrap();
    let acked_b = pending_a.acknowledge_with(b);
    acked_b.rearm().unwrap();
}

fn main() {}
