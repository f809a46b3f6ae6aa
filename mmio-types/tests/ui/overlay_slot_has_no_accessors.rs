#[path = "common/uart.rs"]
mod uart;
use mmio_types::field;

fn main() {
    let mut window = uart::window();
    let mut regs = window.regs();
    // Offsets 0 and 1 mean nothing until a bank is selected.
    let _ = field!(regs, slot).read();
}
