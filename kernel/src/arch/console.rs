//! The kernel console: the ns16550a UART of QEMU `virt`, polled.

use core::fmt;

/// The UART's physical (and, identity-mapped, virtual) address.
pub const UART_BASE: usize = 0x1000_0000;
const THR: usize = 0;
const LSR: usize = 5;
const LSR_THR_EMPTY: u8 = 1 << 5;

/// Writes to the UART. Zero-sized: the kernel runs on one hart with
/// interrupts off, so writers never interleave within a call.
#[derive(Clone, Copy, Debug, Default)]
pub struct Console;

impl Console {
    /// Writes raw bytes (task output goes through here unchanged).
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            // SAFETY: UART_BASE is the ns16550a of QEMU `virt`, mapped
            // kernel-only at the same address before and after paging is
            // enabled; LSR and THR are byte registers whose access has no
            // effect on memory.
            unsafe {
                let uart = UART_BASE as *mut u8;
                while uart.add(LSR).read_volatile() & LSR_THR_EMPTY == 0 {}
                uart.add(THR).write_volatile(b);
            }
        }
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Prints a line on the kernel console.
macro_rules! kprintln {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut c = $crate::arch::Console;
        let _ = c.write_fmt(format_args!($($arg)*));
        c.write_bytes(b"\n");
    }};
}
pub(crate) use kprintln;
