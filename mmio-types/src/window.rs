//! `MmioWindow`: a typed handle over one mapped device window.

use core::fmt;
use core::ptr::NonNull;

use crate::block::FitsAt;
use crate::pointer::{SharedMmioPointer, UniqueMmioPointer};
use crate::token::MapToken;

/// A mapped device window of `N` bytes whose start holds the register block `R`.
///
/// Built from a [`MapToken`] by [`from_token`](Self::from_token) (which
/// checks the token's length once) and turned back into it by
/// [`unmap`](Self::unmap). Register pointers are borrowed from the window,
/// so none can outlive it. The window is neither `Send` nor `Sync`.
///
/// The constructors need `R: FitsAt<0, N>`, which only a checked
/// declaration provides (`register_block! { pub struct R in N { .. } }` or
/// [`place!`](crate::place)): a window whose length was not declared for
/// the block, or a block larger than its window, is a compile error.
pub struct MmioWindow<R, const N: usize> {
    base: NonNull<R>,
}

/// The token given to [`MmioWindow::from_token`] does not have the window's length.
///
/// Nothing is lost: [`into_token`](Self::into_token) gives the token back.
#[must_use = "the error owns the mapping token"]
pub struct LengthMismatch {
    token: MapToken,
    expected: usize,
}

impl LengthMismatch {
    /// Length the window type requires.
    pub fn expected(&self) -> usize {
        self.expected
    }

    /// Length the token actually has.
    pub fn actual(&self) -> usize {
        self.token.len()
    }

    /// Gives the token back.
    pub fn into_token(self) -> MapToken {
        self.token
    }
}

impl fmt::Debug for LengthMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LengthMismatch")
            .field("expected", &self.expected)
            .field("token", &self.token)
            .finish()
    }
}

impl fmt::Display for LengthMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "mapping is {:#x} bytes long, the window type needs {:#x}",
            self.actual(),
            self.expected
        )
    }
}

impl<R: FitsAt<0, N>, const N: usize> MmioWindow<R, N> {
    /// Length of the window in bytes.
    pub const LEN: usize = N;

    /// Builds the window from a mapping token.
    ///
    /// The only run-time check is `token.len() == N`; on mismatch the token
    /// comes back inside the error.
    pub fn from_token(token: MapToken) -> Result<Self, LengthMismatch> {
        if token.len() != N {
            return Err(LengthMismatch { token, expected: N });
        }
        let (base, _) = token.into_raw();
        // SAFETY: the token's contract is this function's: `base` starts a live,
        // page-aligned, exclusively owned device mapping of `token.len()` bytes,
        // and the length was just checked to be `N`.
        Ok(unsafe { Self::new(base) })
    }

    /// Builds the window over a raw address.
    ///
    /// # Safety
    ///
    /// 1. `[base, base + N)` is a live device mapping (or, in tests, memory
    ///    standing in for one) valid for volatile reads and writes;
    /// 2. `base` is page-aligned (4096 bytes);
    /// 3. nothing else accesses the range while the window (or the token it
    ///    turns into) exists;
    /// 4. every register of `R` may be read and written as its type allows.
    pub unsafe fn new(base: NonNull<u8>) -> Self {
        Self { base: base.cast() }
    }

    /// Virtual address of the window's first byte.
    pub fn base(&self) -> usize {
        self.base.as_ptr() as usize
    }

    /// Unique access to the register block, borrowed from the window.
    pub fn regs(&mut self) -> UniqueMmioPointer<'_, R> {
        // SAFETY: the window owns `[base, base + N)` exclusively (constructor
        // contract), `R` fits in it and needs at most page alignment
        // (`FitsAt<0, N>`), and `base` is page-aligned; the pointer borrows
        // `self` mutably, so no other access happens while it lives.
        unsafe { UniqueMmioPointer::new(self.base) }
    }

    /// Shared access to the register block (pure reads only), borrowed from the window.
    pub fn regs_shared(&self) -> SharedMmioPointer<'_, R> {
        // SAFETY: as in `regs`; a shared borrow of the window only ever hands
        // out shared pointers, which permit pure reads alone.
        unsafe { SharedMmioPointer::new(self.base) }
    }

    /// Consumes the window and gives the mapping token back, so the mapping
    /// can be unmapped. No register pointer can outlive this call.
    pub fn unmap(self) -> MapToken {
        // SAFETY: the window owned the whole mapping exclusively; ownership
        // passes to the token unchanged (same base, length `N`, page-aligned).
        unsafe { MapToken::new(self.base.cast(), N) }
    }

    /// Unique access to register block `S` at byte offset `OFF` in the
    /// window, such as a device's configuration space. Needs
    /// `S: FitsAt<OFF, N>` (`place!(S at OFF in N)`), so there is no
    /// run-time cost.
    #[inline(always)]
    pub fn sub<S: FitsAt<OFF, N>, const OFF: usize>(&mut self) -> UniqueMmioPointer<'_, S> {
        // SAFETY: `[OFF, OFF + size_of::<S>())` lies inside the window and
        // `OFF` is a multiple of `S`'s alignment, at most a page
        // (`FitsAt<OFF, N>`); the window base is page-aligned; the pointer
        // borrows the window mutably, so it is the only access while it lives.
        unsafe { UniqueMmioPointer::new(self.base.cast::<u8>().byte_add(OFF).cast()) }
    }

    /// Shared access (pure reads only) to register block `S` at byte offset
    /// `OFF`; same compile-time checks as [`sub`](Self::sub).
    #[inline(always)]
    pub fn sub_shared<S: FitsAt<OFF, N>, const OFF: usize>(&self) -> SharedMmioPointer<'_, S> {
        // SAFETY: as in `sub`; a shared borrow of the window only hands out
        // shared pointers.
        unsafe { SharedMmioPointer::new(self.base.cast::<u8>().byte_add(OFF).cast()) }
    }
}

impl<R: FitsAt<0, N>, const N: usize> fmt::Debug for MmioWindow<R, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmioWindow")
            .field("base", &format_args!("{:#x}", self.base()))
            .field("len", &format_args!("{N:#x}"))
            .finish()
    }
}
