//! The mapping token: proof that a device window is mapped and owned.

use core::fmt;
use core::ptr::NonNull;

/// Ownership of one live device mapping `[base, base + len)`.
///
/// The kernel's `mmio_map` call hands one out (through the `abi` crate); a
/// [`MmioWindow`](crate::MmioWindow) is built from it and gives it back on
/// [`unmap`](crate::MmioWindow::unmap), and `mmio_unmap` consumes it. It is
/// neither `Copy` nor `Clone`: whoever holds it is the only one who may touch
/// the window.
#[must_use = "dropping a MapToken leaks the mapping: build a window from it or unmap it"]
pub struct MapToken {
    base: NonNull<u8>,
    len: usize,
}

impl MapToken {
    /// Wraps a device mapping in a token.
    ///
    /// # Safety
    ///
    /// 1. `[base, base + len)` is a live device mapping, readable and writable
    ///    with volatile accesses from this address space;
    /// 2. `base` is page-aligned (4096 bytes);
    /// 3. nothing else accesses the range until the token is consumed
    ///    (by [`into_raw`](Self::into_raw), by an unmap call, or by a window
    ///    built from it): the token owns the mapping exclusively.
    pub unsafe fn new(base: NonNull<u8>, len: usize) -> MapToken {
        MapToken { base, len }
    }

    /// Virtual address of the first byte of the mapping.
    pub fn base(&self) -> usize {
        self.base.as_ptr() as usize
    }

    /// Length of the mapping in bytes.
    #[allow(clippy::len_without_is_empty, reason = "a mapping is never empty")]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Gives up the token, returning the raw mapping. The caller becomes
    /// responsible for the exclusivity the token stood for.
    pub fn into_raw(self) -> (NonNull<u8>, usize) {
        (self.base, self.len)
    }
}

impl fmt::Debug for MapToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapToken")
            .field("base", &format_args!("{:#x}", self.base()))
            .field("len", &format_args!("{:#x}", self.len))
            .finish()
    }
}
