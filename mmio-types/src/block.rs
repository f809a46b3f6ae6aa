//! Register blocks and the type-level size checks that tie them to windows.

use crate::access::{ReadOnly, ReadPure, ReadPureWrite, ReadWrite, WriteOnly};
use crate::banked::Banked;
use typenum::{Eq, IsEqual, IsLessOrEqual, LeEq, Mod, Sum, True, U0, U4096, Unsigned};

/// A `#[repr(C)]` register block whose layout has been pinned.
///
/// Implemented by [`register_layout!`](crate::register_layout) only, which
/// checks every claim below at compile time.
///
/// # Safety
///
/// 1. `Size` is `size_of::<Self>()` and `Align` is `align_of::<Self>()`;
/// 2. every field sits at an offset that is a multiple of its own alignment,
///    and `align_of::<Self>()` is at least every field's alignment, so a block
///    placed at an address aligned to `Align` has every field aligned.
pub unsafe trait RegisterBlock {
    /// `size_of::<Self>()` as a type-level number.
    type Size: Unsigned;
    /// `align_of::<Self>()` as a type-level number.
    type Align: Unsigned;
}

/// A type that may be a register field of a [`RegisterBlock`]: an access
/// wrapper ([`ReadPure`], [`WriteOnly`],
/// ...), a [`Banked`] register, an array of register fields,
/// or a nested block pinned with [`register_layout!`](crate::register_layout).
///
/// # Safety
///
/// Every access the type permits through a pointer aligned to
/// `align_of::<Self>()` is aligned: it has no fields reachable by projection
/// that are less aligned than their own type requires (no `repr(packed)`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a register type",
    label = "registers must be access wrappers, banked registers, arrays of them or pinned blocks",
    note = "wrap the field in `ReadPure`, `ReadOnly`, `WriteOnly`, `ReadWrite` or `ReadPureWrite`, \
            pin a nested block with `register_layout!`, or list the field under `reserved`"
)]
pub unsafe trait RegisterField {}

// SAFETY: the wrappers are `repr(transparent)` leaves: no projection reaches
// inside them, and their accesses are checked by `register_layout!` to be
// naturally aligned.
unsafe impl<T> RegisterField for ReadPure<T> {}
// SAFETY: as above.
unsafe impl<T> RegisterField for ReadOnly<T> {}
// SAFETY: as above.
unsafe impl<T> RegisterField for WriteOnly<T> {}
// SAFETY: as above.
unsafe impl<T> RegisterField for ReadWrite<T> {}
// SAFETY: as above.
unsafe impl<T> RegisterField for ReadPureWrite<T> {}
// SAFETY: `Banked` is `repr(transparent)` over a register field.
unsafe impl<B, F: RegisterField> RegisterField for Banked<B, F> {}
// SAFETY: array elements are at multiples of their size, which is a multiple
// of their alignment, so each is as aligned as the array.
unsafe impl<F: RegisterField, const N: usize> RegisterField for [F; N] {}

/// Alignment a single access of `size` bytes needs (the primitive of that size).
#[doc(hidden)]
pub const fn access_align(size: usize) -> usize {
    match size {
        2 => align_of::<u16>(),
        4 => align_of::<u32>(),
        8 => align_of::<u64>(),
        _ => 1,
    }
}

/// Page size of the windows the kernel grants, and the strongest alignment
/// a window's base is guaranteed to have.
pub type PageSize = U4096;

/// Proof, as a trait bound, that `size_of::<R>()` is at most the window length.
#[diagnostic::on_unimplemented(
    message = "register block `{R}` does not fit in its MMIO window",
    label = "`size_of::<{R}>()` is larger than the window length `N`",
    note = "a window of N bytes only holds register blocks of at most N bytes"
)]
pub trait BlockFits<R> {}
impl<R> BlockFits<R> for True {}

/// Proof, as a trait bound, that `align_of::<R>()` is at most a page.
#[diagnostic::on_unimplemented(
    message = "register block `{R}` needs more than page (4096-byte) alignment",
    label = "`align_of::<{R}>()` is larger than 4096",
    note = "windows are only page-aligned; a block with a larger alignment cannot be placed in one"
)]
pub trait PageAligned<R> {}
impl<R> PageAligned<R> for True {}

/// Proof, as a trait bound, that a sub-window `S` at offset `Off` ends inside its window.
#[diagnostic::on_unimplemented(
    message = "sub-window `{S}` at this offset runs past the end of its MMIO window",
    label = "`Off + size_of::<{S}>()` is larger than the window length `N`",
    note = "a sub-window must lie entirely inside the window it is carved from"
)]
pub trait SubInRange<S> {}
impl<S> SubInRange<S> for True {}

/// Proof, as a trait bound, that a sub-window's offset is aligned for its block.
#[diagnostic::on_unimplemented(
    message = "sub-window `{S}` is placed at an offset that is not a multiple of its alignment",
    label = "`Off % align_of::<{S}>()` is not zero",
    note = "every register must be naturally aligned; move the sub-window or fix its offset"
)]
pub trait SubAligned<S> {}
impl<S> SubAligned<S> for True {}

/// A window length `N` that can hold register block `R` at offset 0.
///
/// Blanket-implemented for every `N` that passes the checks; an `N` that
/// fails reports which check failed ([`BlockFits`] or [`PageAligned`]).
pub trait WindowFor<R> {}

impl<R, N> WindowFor<R> for N
where
    R: RegisterBlock,
    N: Unsigned,
    R::Size: IsLessOrEqual<N>,
    LeEq<R::Size, N>: BlockFits<R>,
    R::Align: IsLessOrEqual<PageSize>,
    LeEq<R::Align, PageSize>: PageAligned<R>,
{
}

/// An offset `Off` at which sub-block `S` fits, aligned, inside a window of `N` bytes.
pub trait SubWindowAt<S, N> {}

impl<S, N, Off> SubWindowAt<S, N> for Off
where
    S: RegisterBlock,
    N: Unsigned,
    Off: Unsigned + core::ops::Add<S::Size> + core::ops::Rem<S::Align>,
    Sum<Off, S::Size>: IsLessOrEqual<N>,
    LeEq<Sum<Off, S::Size>, N>: SubInRange<S>,
    Mod<Off, S::Align>: IsEqual<U0>,
    Eq<Mod<Off, S::Align>, U0>: SubAligned<S>,
    S::Align: IsLessOrEqual<PageSize>,
    LeEq<S::Align, PageSize>: PageAligned<S>,
{
}
