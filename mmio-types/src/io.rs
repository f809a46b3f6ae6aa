//! The one place where a register access happens: one volatile access of a [`Raw`] integer.
//!
//! With the `fake-device` feature, an access to a
//! [`ScriptedDevice`](crate::ScriptedDevice)'s window goes to the script
//! instead of memory; without it (every build of a driver for the
//! hardware), these are exactly `read_volatile` and `write_volatile`, which
//! `cargo xtask asm-check` confirms instruction for instruction.

use crate::value::Raw;

/// Reads the register at `ptr`.
///
/// # Safety
///
/// `ptr` is valid for a volatile read of `R` and aligned for it.
#[inline(always)]
pub(crate) unsafe fn read<R: Raw>(ptr: *mut R) -> R {
    #[cfg(feature = "fake-device")]
    if let Some(value) = crate::scripted::intercept_read(ptr as usize, size_of::<R>()) {
        return R::from_u64(value);
    }
    // SAFETY: the caller's contract.
    unsafe { ptr.read_volatile() }
}

/// Writes `value` to the register at `ptr`.
///
/// # Safety
///
/// `ptr` is valid for a volatile write of `R` and aligned for it.
#[inline(always)]
pub(crate) unsafe fn write<R: Raw>(ptr: *mut R, value: R) {
    #[cfg(feature = "fake-device")]
    if crate::scripted::intercept_write(ptr as usize, size_of::<R>(), value.to_u64()) {
        return;
    }
    // SAFETY: the caller's contract.
    unsafe { ptr.write_volatile(value) }
}
