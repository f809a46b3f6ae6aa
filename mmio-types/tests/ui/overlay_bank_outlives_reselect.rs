#[path = "common/uart.rs"]
mod uart;
use mmio_types::{Selected, field};

fn main() {
    let mut window = uart::window();
    let mut regs = window.regs();
    let mut latch = Selected::<uart::LatchBank>::new(regs.reborrow(), ());
    let mut divisor = latch.bank();
    // Selecting the data bank while the latch's registers are in use.
    let _data = Selected::<uart::DataBank>::new(regs.reborrow(), ());
    field!(divisor, dll).write(1);
}
