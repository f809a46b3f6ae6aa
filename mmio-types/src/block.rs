//! Register blocks, register fields, and the declared placement of a block in a window.

use crate::access::{
    ReadOnly, ReadOnlyWriteOnly, ReadPure, ReadPureWrite, ReadWrite, Reserved, WriteOnly,
};
use crate::banked::{Banked, Selector};
use crate::value::RegisterValue;

/// A type that may be a register field of a [`RegisterBlock`]: a register
/// type ([`ReadPure`], [`WriteOnly`], ...), a [`Banked`] register, a
/// [`Selector`], an array of register fields, a bank overlay declared with
/// [`banks!`](crate::banks), or a nested block declared with
/// [`register_block!`](crate::register_block).
///
/// # Safety
///
/// 1. `ACCESS` is the width of the widest single access the type permits
///    through a pointer to it (0 if none);
/// 2. placed at an offset that is a multiple of `ACCESS` and of its
///    alignment, every access it permits is naturally aligned, provided
///    `PLACEMENT_OK` holds;
/// 3. it has no fields reachable by projection other than those a
///    [`register_block!`](crate::register_block) layout check covers.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a register type",
    label = "registers are register types, banked registers, selectors, arrays of them or blocks",
    note = "use `ReadPure`, `ReadOnly`, `WriteOnly`, `ReadWrite`, `ReadPureWrite` or \
            `ReadOnlyWriteOnly`, declare a nested block with `register_block!`, \
            or leave the entry untyped to reserve it"
)]
pub unsafe trait RegisterField {
    /// Width in bytes of the widest single access the type permits.
    const ACCESS: usize;
    /// Whether every access stays aligned wherever the type is placed at a
    /// multiple of `ACCESS` (false for arrays whose element size is not a
    /// multiple of the access width).
    const PLACEMENT_OK: bool = true;
}

macro_rules! leaf {
    ($($name:ident),*) => {$(
        // SAFETY: a leaf register is `repr(transparent)` over its raw integer:
        // its one access is `size_of::<T::Raw>()` wide and aligned wherever
        // the register is; it has no public field to project to.
        unsafe impl<T: RegisterValue> RegisterField for $name<T> {
            const ACCESS: usize = size_of::<T::Raw>();
        }
    )*};
}
leaf!(ReadPure, ReadOnly, WriteOnly, ReadWrite, ReadPureWrite);

// SAFETY: as for the leaves above (both views share one raw integer).
unsafe impl<R: RegisterValue, W: RegisterValue<Raw = R::Raw>> RegisterField
    for ReadOnlyWriteOnly<R, W>
{
    const ACCESS: usize = size_of::<R::Raw>();
}

// SAFETY: `Banked` is `repr(transparent)` over a register field.
unsafe impl<B, F: RegisterField> RegisterField for Banked<B, F> {
    const ACCESS: usize = F::ACCESS;
    const PLACEMENT_OK: bool = F::PLACEMENT_OK;
}

// SAFETY: `Selector` is `repr(transparent)` over a register field.
unsafe impl<F: RegisterField, const M: u64> RegisterField for Selector<F, M> {
    const ACCESS: usize = F::ACCESS;
    const PLACEMENT_OK: bool = F::PLACEMENT_OK;
}

// SAFETY: element `i` is at `i * size_of::<F>()`; with the size a multiple
// of the element's access width (`PLACEMENT_OK`), each element is placed as
// the array is.
unsafe impl<F: RegisterField, const N: usize> RegisterField for [F; N] {
    const ACCESS: usize = F::ACCESS;
    const PLACEMENT_OK: bool =
        F::PLACEMENT_OK && (F::ACCESS == 0 || size_of::<F>().is_multiple_of(F::ACCESS));
}

// SAFETY: reserved bytes permit no access at all.
unsafe impl<const N: usize> RegisterField for Reserved<N> {
    const ACCESS: usize = 0;
}

/// A `#[repr(C)]` register block whose layout has been checked.
///
/// Implemented by [`register_block!`](crate::register_block) (and
/// [`banks!`](crate::banks) for nothing but its bank views), which checks
/// every claim below at compile time.
///
/// # Safety
///
/// 1. `SIZE` is `size_of::<Self>()`;
/// 2. every field is a [`RegisterField`] (or [`Reserved`]) at an offset that
///    is a multiple of its `ACCESS` width and its alignment, with
///    `PLACEMENT_OK`;
/// 3. `ALIGN` is at least `align_of::<Self>()` and every field's `ACCESS`,
///    so a block placed at a multiple of `ALIGN` has every access aligned;
/// 4. the type does not implement `Deref`, so a field projection
///    `(*ptr).field` always names a field of the block itself.
pub unsafe trait RegisterBlock: RegisterField {
    /// `size_of::<Self>()`.
    const SIZE: usize;
    /// The alignment the block's base needs for every access to be aligned.
    const ALIGN: usize;
}

/// Declares that register block `Self` fits at byte offset `OFFSET` of a
/// window of `WINDOW` bytes: `OFFSET + size <= WINDOW`, `OFFSET` a multiple
/// of the block's alignment, that alignment at most a page.
///
/// Implemented by [`register_block!`](crate::register_block)'s `in` clause
/// and by [`place!`](crate::place), after checking all three at compile
/// time in a non-generic constant (so `cargo check` reports a block that
/// does not fit). [`MmioWindow<R, N>`](crate::MmioWindow) needs
/// `R: FitsAt<0, N>`; [`sub`](crate::MmioWindow::sub) needs `FitsAt<OFF, N>`.
///
/// # Safety
///
/// The three conditions above hold.
#[diagnostic::on_unimplemented(
    message = "register block `{Self}` is not declared to fit at offset {OFFSET} of a window of {WINDOW} bytes",
    label = "no placement declared for this offset and window length",
    note = "declare it with an `in {WINDOW}` clause of `register_block!` or with \
            `place!({Self} at {OFFSET} in {WINDOW})`; the declaration checks that it fits"
)]
pub unsafe trait FitsAt<const OFFSET: usize, const WINDOW: usize>: RegisterBlock {}

/// Page size of the windows the kernel grants, and the strongest alignment
/// a window's base is guaranteed to have.
pub const PAGE_SIZE: usize = 4096;
