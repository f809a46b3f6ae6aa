//! The userspace runtime: entry point, panic handler and console output.
//!
//! An app is `#![no_std] #![no_main]`, names its main function with
//! [`entry!`](crate::entry) and prints with [`println!`](crate::println).
//! Its `build.rs` links it with the runtime's `user.ld`:
//!
//! ```text
//! fn main() { println!("cargo:rustc-link-arg-bins=-Tuser.ld"); }
//! ```

use core::fmt::{self, Write};
use core::panic::PanicInfo;

use crate::sys;

/// The exit code of a task that panicked.
pub const PANIC_EXIT_CODE: i32 = 101;

// SAFETY: `entry!` defines `__neuron_main` with exactly this signature; an
// app without `entry!` fails to link rather than calling something else.
unsafe extern "Rust" {
    /// The app's main function, exported by [`entry!`](crate::entry).
    safe fn __neuron_main() -> i32;
}

/// The first instruction a task runs. The kernel enters here with `sp` at the
/// top of the task's stack.
#[unsafe(no_mangle)]
#[unsafe(link_section = ".text.entry")]
extern "C" fn _start() -> ! {
    sys::exit(__neuron_main())
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let mut line = LineBuf::new();
    let _ = write!(line, "panic: {}", info.message());
    if let Some(loc) = info.location() {
        let _ = write!(line, " at {}:{}", loc.file(), loc.line());
    }
    line.finish();
    sys::exit(PANIC_EXIT_CODE)
}

/// Names the app's main function: `fn() -> i32`, where 0 is success.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[unsafe(export_name = "__neuron_main")]
        fn __neuron_main() -> i32 {
            let main: fn() -> i32 = $main;
            main()
        }
    };
}

/// Prints a line through `debug_write`: one system call for a line of up to
/// 256 bytes (newline included), so such lines of different tasks never
/// interleave; longer lines go out in 256-byte pieces.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::rt::print_line(format_args!($($arg)*))
    };
}

/// Writes one formatted line (what [`println!`](crate::println) expands to).
pub fn print_line(args: fmt::Arguments<'_>) {
    let mut line = LineBuf::new();
    let _ = line.write_fmt(args);
    line.finish();
}

/// A line being built; flushed in pieces only if it outgrows the buffer.
struct LineBuf {
    buf: [u8; 256],
    len: usize,
}

impl LineBuf {
    fn new() -> Self {
        LineBuf {
            buf: [0; 256],
            len: 0,
        }
    }

    fn flush(&mut self) {
        let _ = sys::debug_write(&self.buf[..self.len]);
        self.len = 0;
    }

    fn finish(mut self) {
        let _ = self.write_str("\n");
        self.flush();
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}
