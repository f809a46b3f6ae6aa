//! Sub-windows: typed, compile-time checked views of part of a window.

use typenum::Unsigned;

use crate::access::{SharedMmioPointer, UniqueMmioPointer};
use crate::block::SubWindowAt;
use crate::window::MmioWindow;

impl<R, N: Unsigned> MmioWindow<R, N> {
    /// Unique access to register block `S` at byte offset `Off` (a typenum
    /// number) in the window, such as a device's configuration space.
    ///
    /// `Off + size_of::<S>() <= N` and `Off % align_of::<S>() == 0` are
    /// checked at compile time; there is no run-time cost.
    pub fn sub<S, Off>(&mut self) -> UniqueMmioPointer<'_, S>
    where
        Off: SubWindowAt<S, N> + Unsigned,
    {
        const {
            assert!(
                Off::USIZE + size_of::<S>() <= N::USIZE,
                "sub-window out of range"
            );
            assert!(Off::USIZE % align_of::<S>() == 0, "sub-window misaligned");
        }
        // SAFETY: `[Off, Off + size_of::<S>())` lies inside the window and `Off`
        // is a multiple of `align_of::<S>()` (at most a page), checked at compile
        // time, and the window base is page-aligned; the pointer borrows the
        // window mutably, so it is the only access while it lives.
        unsafe { UniqueMmioPointer::new(self.base_ptr().byte_add(Off::USIZE).cast()) }
    }

    /// Shared access (pure reads only) to register block `S` at byte offset
    /// `Off`; same compile-time checks as [`sub`](Self::sub).
    pub fn sub_shared<S, Off>(&self) -> SharedMmioPointer<'_, S>
    where
        Off: SubWindowAt<S, N> + Unsigned,
    {
        const {
            assert!(
                Off::USIZE + size_of::<S>() <= N::USIZE,
                "sub-window out of range"
            );
            assert!(Off::USIZE % align_of::<S>() == 0, "sub-window misaligned");
        }
        // SAFETY: as in `sub`; the pointer is made shared at once and a shared
        // borrow of the window only hands out shared pointers.
        unsafe { UniqueMmioPointer::new(self.base_ptr().byte_add(Off::USIZE).cast()) }.into()
    }
}
