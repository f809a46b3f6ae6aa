use mmio_types::{ReadPure, register_layout};

// A 64-bit register at offset 4: aligned for its 4-byte alignment on some
// targets, but not a multiple of its size.
#[repr(C)]
struct Timer {
    ctrl: ReadPure<u32>,
    count: ReadPure<[u32; 2]>,
}

register_layout! {
    Timer, size = 12;
    registers { ctrl @ 0, count @ 4 }
}

fn main() {}
