//! `MmioWindow`: a typed handle over one mapped device window.

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use typenum::Unsigned;

use crate::access::{SharedMmioPointer, UniqueMmioPointer};
use crate::block::WindowFor;
use crate::token::MapToken;

/// A mapped device window of `N` bytes (a typenum number) whose start holds
/// the register block `R`.
///
/// Built from a [`MapToken`] by [`from_token`](Self::from_token) (which
/// checks the token's length once) and turned back into it by
/// [`unmap`](Self::unmap). Register pointers are borrowed from the window,
/// so none can outlive it. The constructors only exist for an `N` that can
/// hold `R`: a block larger than its window, or one that needs more than page
/// alignment, is a compile error.
pub struct MmioWindow<R, N> {
    base: NonNull<R>,
    len: PhantomData<N>,
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

impl<R, N: Unsigned> MmioWindow<R, N> {
    /// Length of the window in bytes.
    pub const LEN: usize = N::USIZE;

    /// Builds the window from a mapping token.
    ///
    /// The only run-time check is `token.len() == N`; on mismatch the token
    /// comes back inside the error.
    pub fn from_token(token: MapToken) -> Result<Self, LengthMismatch>
    where
        N: WindowFor<R>,
    {
        if token.len() != N::USIZE {
            return Err(LengthMismatch {
                token,
                expected: N::USIZE,
            });
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
    pub unsafe fn new(base: NonNull<u8>) -> Self
    where
        N: WindowFor<R>,
    {
        // The trait bound already rejects these at type-check time; the
        // constants keep the guarantee even for a hand-written `RegisterBlock`.
        const {
            assert!(
                size_of::<R>() <= N::USIZE,
                "register block larger than window"
            );
            assert!(
                align_of::<R>() <= 4096,
                "register block needs more than page alignment"
            );
        }
        Self {
            base: base.cast(),
            len: PhantomData,
        }
    }

    /// Virtual address of the window's first byte.
    pub fn base(&self) -> usize {
        self.base.as_ptr() as usize
    }

    /// Unique access to the register block, borrowed from the window.
    pub fn regs(&mut self) -> UniqueMmioPointer<'_, R> {
        // SAFETY: the window owns `[base, base + N)` exclusively (constructor
        // contract), `R` fits in it and `base` is page-aligned, which is enough
        // alignment for `R` (both checked at compile time); the pointer borrows
        // `self` mutably, so no other access happens while it lives.
        unsafe { UniqueMmioPointer::new(self.base) }
    }

    /// Shared access to the register block (pure reads only), borrowed from the window.
    pub fn regs_shared(&self) -> SharedMmioPointer<'_, R> {
        // SAFETY: as in `regs`; the unique pointer is turned into a shared one
        // at once, and a shared borrow of the window only ever hands out
        // shared pointers, which permit pure reads alone.
        unsafe { UniqueMmioPointer::new(self.base) }.into()
    }

    /// Consumes the window and gives the mapping token back, so the mapping
    /// can be unmapped. No register pointer can outlive this call.
    pub fn unmap(self) -> MapToken {
        // SAFETY: the window owned the whole mapping exclusively; ownership
        // passes to the token unchanged (same base, length `N`, page-aligned).
        unsafe { MapToken::new(self.base.cast(), N::USIZE) }
    }

    /// Raw base pointer for sub-window projection.
    pub(crate) fn base_ptr(&self) -> NonNull<u8> {
        self.base.cast()
    }
}

impl<R, N: Unsigned> fmt::Debug for MmioWindow<R, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmioWindow")
            .field("base", &format_args!("{:#x}", self.base()))
            .field("len", &format_args!("{:#x}", N::USIZE))
            .finish()
    }
}
