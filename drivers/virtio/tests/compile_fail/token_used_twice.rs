//! Using one acknowledgement to re-arm twice: the proof is consumed.
use nexus_virtio::{Acked, IrqSys, Transport};

fn twice<T: Transport, S: IrqSys>(acked: Acked<'_, T, S>) {
    acked.rearm().unwrap();
    acked.rearm().unwrap();
}

fn main() {}
