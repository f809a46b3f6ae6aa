//! Selector-banked registers: registers whose meaning depends on a selector.
//!
//! Some devices multiplex several registers through a selector register
//! (virtio's `QueueSel` picks which queue `QueueNum`, `QueueReady`, ... talk
//! about). Such registers are declared as [`Banked<B, F>`]: a
//! [`UniqueMmioPointer`] to a `Banked` field has no `read` or `write`. The
//! only way in is a [`Selected`] guard, obtained by writing the selector
//! through [`Selected::new`]; it holds the unique borrow of the register
//! block, so the selector cannot change while the guard lives.

use core::fmt;
use core::marker::PhantomData;

use crate::access::{SharedMmioPointer, UniqueMmioPointer};
use crate::block::RegisterBlock;

/// A bank of registers selected by one selector register of `Block`.
pub trait Bank {
    /// Register block holding the selector and the banked registers.
    type Block: RegisterBlock;

    /// Writes `index` into the selector register.
    fn select(block: &mut UniqueMmioPointer<'_, Self::Block>, index: u32);
}

/// A register (with access type `F`) that belongs to bank `B`: reachable only
/// through a [`Selected<B>`] guard, with [`banked!`](macro@crate::banked) or
/// [`banked_shared!`](macro@crate::banked_shared).
#[repr(transparent)]
pub struct Banked<B, F> {
    register: F,
    bank: PhantomData<fn() -> B>,
}

/// Guard proving that bank `B` has been selected with a given index.
///
/// It holds the unique borrow of the register block for `'a`: nothing can
/// write the selector again until the guard is dropped.
pub struct Selected<'a, B: Bank> {
    block: UniqueMmioPointer<'a, B::Block>,
    index: u32,
}

impl<'a, B: Bank> Selected<'a, B> {
    /// Writes `index` to the bank's selector and returns the guard.
    pub fn new(mut block: UniqueMmioPointer<'a, B::Block>, index: u32) -> Self {
        B::select(&mut block, index);
        Selected { block, index }
    }

    /// The selected index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Raw pointer to the register block, for the projection macros.
    #[doc(hidden)]
    pub fn block_ptr(&mut self) -> *mut B::Block {
        self.block.ptr_mut()
    }

    /// Raw pointer to the register block, for the projection macros.
    #[doc(hidden)]
    pub fn block_ptr_shared(&self) -> *const B::Block {
        self.block.ptr()
    }

    /// Opens a banked register for unique access.
    ///
    /// # Safety
    ///
    /// `field` points to a field of the register block this guard borrows
    /// (it was projected from [`block_ptr`](Self::block_ptr)).
    #[doc(hidden)]
    pub unsafe fn open<F>(&mut self, field: *mut Banked<B, F>) -> UniqueMmioPointer<'_, F> {
        // SAFETY: `field` is a field of the block (caller contract), so it is
        // valid, aligned (`RegisterBlock`) and covered by the block's unique
        // borrow; `Banked` is `repr(transparent)` over `F`.
        unsafe { UniqueMmioPointer::new(core::ptr::NonNull::new_unchecked(field.cast::<F>())) }
    }

    /// Opens a banked register for shared access (pure reads only).
    ///
    /// # Safety
    ///
    /// `field` points to a field of the register block this guard borrows
    /// (it was projected from [`block_ptr_shared`](Self::block_ptr_shared)).
    #[doc(hidden)]
    pub unsafe fn open_shared<F>(&self, field: *const Banked<B, F>) -> SharedMmioPointer<'_, F> {
        let field = field.cast::<F>().cast_mut();
        // SAFETY: as in `open`; the pointer is made shared at once, and a
        // shared borrow of the guard only hands out shared pointers.
        unsafe { UniqueMmioPointer::new(core::ptr::NonNull::new_unchecked(field)) }.into()
    }
}

impl<B: Bank> fmt::Debug for Selected<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selected")
            .field("index", &self.index)
            .finish()
    }
}

/// Unique pointer to banked register `$field` through a [`Selected`] guard.
///
/// ```text
/// let mut queue = Selected::<QueueBank>::new(regs.reborrow(), 0);
/// banked!(queue, queue_num).write(64);
/// ```
#[macro_export]
macro_rules! banked {
    ($selected:expr, $field:ident) => {{
        let selected: &mut $crate::Selected<'_, _> = &mut $selected;
        let block = $crate::Selected::block_ptr(selected);
        // SAFETY: `block` comes from the guard, so the projected field is a
        // field of the register block the guard borrows.
        unsafe { $crate::Selected::open(selected, &raw mut (*block).$field) }
    }};
}

/// Shared pointer (pure reads only) to banked register `$field` through a
/// [`Selected`] guard.
#[macro_export]
macro_rules! banked_shared {
    ($selected:expr, $field:ident) => {{
        let selected: &$crate::Selected<'_, _> = &$selected;
        let block = $crate::Selected::block_ptr_shared(selected);
        // SAFETY: `block` comes from the guard, so the projected field is a
        // field of the register block the guard borrows.
        unsafe { $crate::Selected::open_shared(selected, &raw const (*block).$field) }
    }};
}
