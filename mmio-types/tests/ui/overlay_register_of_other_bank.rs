#[path = "common/uart.rs"]
mod uart;
use mmio_types::{Selected, field};

fn main() {
    let mut window = uart::window();
    let mut latch = Selected::<uart::LatchBank>::new(window.regs(), ());
    let mut bank = latch.bank();
    // With DLAB set, offset 0 is the divisor latch, not THR.
    field!(bank, thr).write(b'A');
}
