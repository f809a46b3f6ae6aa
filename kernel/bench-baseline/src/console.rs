//! Console on the ns16550a UART, failure reports, and exit through the test finisher.

use core::fmt::{self, Write};

/// The ns16550a UART of QEMU virt.
const UART: usize = 0x1000_0000;
/// Line status register: bit 5 = transmit holding register empty.
const LSR: usize = 5;
const LSR_THR_EMPTY: u8 = 1 << 5;
/// The SiFive test finisher of QEMU virt.
const FINISHER: usize = 0x10_0000;

/// Writes to the UART, turning `\n` into `\r\n`.
pub struct Uart;

impl Uart {
    fn put(byte: u8) {
        // Bounded: a byte is dropped rather than hang on a stuck UART.
        for _ in 0..1_000_000 {
            // SAFETY: UART + LSR is the ns16550a line status register of QEMU virt,
            // identity-mapped (paging is off); reading it has no side effect.
            let lsr = unsafe { core::ptr::read_volatile((UART + LSR) as *const u8) };
            if lsr & LSR_THR_EMPTY != 0 {
                break;
            }
        }
        // SAFETY: UART + 0 is the transmit holding register of the same UART.
        unsafe { core::ptr::write_volatile(UART as *mut u8, byte) };
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                Self::put(b'\r');
            }
            Self::put(b);
        }
        Ok(())
    }
}

/// Prints a line on the UART.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = writeln!($crate::console::Uart, $($arg)*);
    }};
}

/// Prints `BENCH: FAIL <what>` and exits QEMU with code 1.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => {{
        $crate::println!("BENCH: FAIL {}", format_args!($($arg)*));
        $crate::console::exit(1)
    }};
}

/// Exits QEMU with `code` through the test finisher.
pub fn exit(code: u16) -> ! {
    let value = if code == 0 {
        0x5555
    } else {
        (u32::from(code) << 16) | 0x3333
    };
    // SAFETY: FINISHER is the test finisher of QEMU virt, identity-mapped; the
    // write ends the emulation.
    unsafe { core::ptr::write_volatile(FINISHER as *mut u32, value) };
    loop {
        core::hint::spin_loop();
    }
}
