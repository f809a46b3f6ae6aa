//! Register pointers: raw-pointer handles to device memory, borrowed from a window.
//!
//! A [`UniqueMmioPointer`] behaves like `&mut` to the registers it points
//! to, a [`SharedMmioPointer`] like `&` (it is `Copy` and allows pure reads
//! only). Neither ever creates a Rust reference to device memory, neither is
//! `Send` or `Sync` (a register handle stays on the thread that owns the
//! window), and there is no way to build either from a reference or an
//! address in safe code: they come from an [`MmioWindow`](crate::MmioWindow)
//! only, and from each other by projection to a field ([`field!`](crate::field!),
//! [`field_shared!`](crate::field_shared!)) or to an array element ([`get`](UniqueMmioPointer::get)).

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::access::{PureReadable, Readable, Writable};
use crate::block::RegisterBlock;
use crate::io;
use crate::value::RegisterValue;

/// Unique access to registers of type `T` for `'a`: like `&'a mut T`, but
/// a raw pointer.
pub struct UniqueMmioPointer<'a, T> {
    ptr: NonNull<T>,
    borrow: PhantomData<&'a mut T>,
    /// Keeps the pointer on its thread (`*mut` is neither `Send` nor `Sync`).
    not_send: PhantomData<*mut ()>,
}

/// Shared access to registers of type `T` for `'a`: pure reads only.
pub struct SharedMmioPointer<'a, T> {
    ptr: NonNull<T>,
    borrow: PhantomData<&'a T>,
    not_send: PhantomData<*mut ()>,
}

impl<T> Clone for SharedMmioPointer<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SharedMmioPointer<'_, T> {}

impl<'a, T> UniqueMmioPointer<'a, T> {
    /// # Safety
    ///
    /// 1. `ptr` points to registers of type `T` in a live device mapping (or
    ///    memory standing in for one), valid for volatile accesses, aligned
    ///    for every access `T` permits;
    /// 2. nothing else accesses them for `'a` except through this pointer.
    #[inline(always)]
    pub(crate) unsafe fn new(ptr: NonNull<T>) -> Self {
        UniqueMmioPointer {
            ptr,
            borrow: PhantomData,
            not_send: PhantomData,
        }
    }

    /// A shorter-lived unique pointer to the same registers.
    #[inline(always)]
    pub fn reborrow(&mut self) -> UniqueMmioPointer<'_, T> {
        // SAFETY: same registers; `self` is mutably borrowed while the new
        // pointer lives, so it stays the only access.
        unsafe { UniqueMmioPointer::new(self.ptr) }
    }

    /// A shared pointer (pure reads only) to the same registers, borrowed from this one.
    #[inline(always)]
    pub fn as_shared(&self) -> SharedMmioPointer<'_, T> {
        // SAFETY: same registers; `self` is borrowed while the shared
        // pointer lives, and shared pointers never write.
        unsafe { SharedMmioPointer::new(self.ptr) }
    }

    /// Turns the pointer into a shared one for the rest of `'a`.
    #[inline(always)]
    pub fn into_shared(self) -> SharedMmioPointer<'a, T> {
        // SAFETY: the unique pointer is consumed; shared pointers never write.
        unsafe { SharedMmioPointer::new(self.ptr) }
    }

    /// Virtual address of the registers.
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    #[inline(always)]
    pub(crate) fn raw(&self) -> *mut T {
        self.ptr.as_ptr()
    }
}

impl<'a, T> SharedMmioPointer<'a, T> {
    /// # Safety
    ///
    /// As [`UniqueMmioPointer::new`], except that other shared pointers may
    /// read the same registers; nothing writes them for `'a`.
    #[inline(always)]
    pub(crate) unsafe fn new(ptr: NonNull<T>) -> Self {
        SharedMmioPointer {
            ptr,
            borrow: PhantomData,
            not_send: PhantomData,
        }
    }

    /// Virtual address of the registers.
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }
}

impl<F: Readable> UniqueMmioPointer<'_, F> {
    /// Reads the register (one volatile access of its width).
    #[inline(always)]
    pub fn read(&mut self) -> F::Read {
        // SAFETY: the pointer's contract: the register is live, aligned and
        // ours; every register type is `repr(transparent)` over the raw
        // integer of its value, which any bit pattern is valid for.
        let raw = unsafe { io::read(self.ptr.cast::<<F::Read as RegisterValue>::Raw>().as_ptr()) };
        F::Read::from_raw(raw)
    }
}

impl<F: Writable> UniqueMmioPointer<'_, F> {
    /// Writes the register (one volatile access of its width).
    #[inline(always)]
    pub fn write(&mut self, value: F::Write) {
        // SAFETY: as in `read`; the pointer is unique, so writing is allowed.
        unsafe {
            io::write(
                self.ptr.cast::<<F::Write as RegisterValue>::Raw>().as_ptr(),
                value.into_raw(),
            )
        }
    }
}

impl<F: Readable + Writable<Write = <F as Readable>::Read>> UniqueMmioPointer<'_, F> {
    /// Reads the register, applies `f` and writes the result back: one read
    /// and one write.
    #[inline(always)]
    pub fn modify(&mut self, f: impl FnOnce(F::Write) -> F::Write) {
        let value = self.read();
        self.write(f(value));
    }
}

impl<F: PureReadable> SharedMmioPointer<'_, F> {
    /// Reads the register (one volatile access of its width; pure reads only).
    #[inline(always)]
    pub fn read(&self) -> F::Read {
        // SAFETY: as in `UniqueMmioPointer::read`; the read has no side
        // effects, so concurrent shared readers cannot observe each other.
        let raw = unsafe { io::read(self.ptr.cast::<<F::Read as RegisterValue>::Raw>().as_ptr()) };
        F::Read::from_raw(raw)
    }
}

impl<'a, F, const N: usize> UniqueMmioPointer<'a, [F; N]> {
    /// Unique pointer to element `index`, or `None` past the end.
    #[inline(always)]
    pub fn get(&mut self, index: usize) -> Option<UniqueMmioPointer<'_, F>> {
        if index >= N {
            return None;
        }
        // SAFETY: `index < N`: the element lies inside the array, aligned
        // as the array's elements are; it is borrowed from `self`.
        Some(unsafe { UniqueMmioPointer::new(self.ptr.cast::<F>().add(index)) })
    }
}

impl<'a, F, const N: usize> SharedMmioPointer<'a, [F; N]> {
    /// Shared pointer to element `index`, or `None` past the end.
    #[inline(always)]
    pub fn get(&self, index: usize) -> Option<SharedMmioPointer<'a, F>> {
        if index >= N {
            return None;
        }
        // SAFETY: as in `UniqueMmioPointer::get`; shared pointers never write.
        Some(unsafe { SharedMmioPointer::new(self.ptr.cast::<F>().add(index)) })
    }
}

impl<T> fmt::Debug for UniqueMmioPointer<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UniqueMmioPointer({:#x})", self.addr())
    }
}

impl<T> fmt::Debug for SharedMmioPointer<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedMmioPointer({:#x})", self.addr())
    }
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// What [`field!`] projects from: a unique pointer to a register block, or
/// the unbanked view of a bank guard. Sealed.
#[doc(hidden)]
pub trait Project: sealed::Sealed {
    /// The register block pointed to.
    type Block: RegisterBlock;
    /// Raw pointer to the block, for the projection.
    fn block(&mut self) -> *mut Self::Block;
    /// Unique pointer to a field of the block.
    ///
    /// # Safety
    ///
    /// `field` was projected from [`block`](Self::block) of this pointer.
    unsafe fn project<F>(&mut self, field: *mut F) -> UniqueMmioPointer<'_, F>;
}

impl<T: RegisterBlock> sealed::Sealed for UniqueMmioPointer<'_, T> {}

impl<T: RegisterBlock> Project for UniqueMmioPointer<'_, T> {
    type Block = T;
    #[inline(always)]
    fn block(&mut self) -> *mut T {
        self.ptr.as_ptr()
    }
    #[inline(always)]
    unsafe fn project<F>(&mut self, field: *mut F) -> UniqueMmioPointer<'_, F> {
        // SAFETY: `field` is a field of the block (caller contract): inside
        // the registers this pointer owns, aligned (`RegisterBlock`'s checked
        // layout), and borrowed from `self`.
        unsafe { UniqueMmioPointer::new(NonNull::new_unchecked(field)) }
    }
}

impl<'a, T: RegisterBlock> UniqueMmioPointer<'a, T> {
    /// Turns the pointer into one to a field of the block, for `'a`.
    ///
    /// # Safety
    ///
    /// `field` was projected from [`Project::block`] of this pointer.
    #[doc(hidden)]
    #[inline(always)]
    pub unsafe fn __into_field<F>(self, field: *mut F) -> UniqueMmioPointer<'a, F> {
        // SAFETY: as in `Project::project`; `self` is consumed, so the field
        // pointer inherits its unique borrow.
        unsafe { UniqueMmioPointer::new(NonNull::new_unchecked(field)) }
    }
}

/// Shared projection, for [`field_shared!`].
#[doc(hidden)]
impl<'a, T: RegisterBlock> SharedMmioPointer<'a, T> {
    #[inline(always)]
    pub fn __block(&self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// # Safety
    ///
    /// `field` was projected from [`__block`](Self::__block) of this pointer.
    #[inline(always)]
    pub unsafe fn __project<F>(&self, field: *mut F) -> SharedMmioPointer<'a, F> {
        // SAFETY: as in `Project::project`; shared pointers never write.
        unsafe { SharedMmioPointer::new(NonNull::new_unchecked(field)) }
    }
}

/// Unique pointer to field `$field` of the register block a unique pointer
/// (or a bank guard's [`Selected::regs`](crate::Selected::regs) view) points to.
///
/// `$ptr` must be a place (a variable, `*self`, ...), not a temporary.
///
/// ```
/// # use mmio_types::{FakeDevice, MmioWindow, ReadWrite, field, register_block};
/// register_block! {
///     pub struct Timer in 0x1000 {
///         0x0 => pub count: ReadWrite<u32>,
///         0x4 => @end,
///     }
/// }
/// # let (_dev, token) = FakeDevice::new(0x1000);
/// let mut window = MmioWindow::<Timer, 0x1000>::from_token(token).unwrap();
/// let mut regs = window.regs();
/// field!(regs, count).write(5);
/// assert_eq!(field!(regs, count).read(), 5);
/// ```
#[macro_export]
macro_rules! field {
    ($ptr:expr, $field:ident) => {{
        let ptr = &mut $ptr;
        let block = $crate::__private::Project::block(ptr);
        // SAFETY: `block` comes from `ptr`, so the projected field is a field
        // of the register block `ptr` owns.
        unsafe { $crate::__private::Project::project(ptr, &raw mut (*block).$field) }
    }};
}

/// Shared pointer (pure reads only) to field `$field` of the register block
/// a shared pointer points to.
///
/// ```
/// # use mmio_types::{FakeDevice, MmioWindow, ReadPure, field_shared, register_block};
/// register_block! {
///     pub struct Id in 0x1000 {
///         0x0 => pub id: ReadPure<u32>,
///         0x4 => @end,
///     }
/// }
/// # let (dev, token) = FakeDevice::new(0x1000);
/// # dev.write_u32(0, 7);
/// let window = MmioWindow::<Id, 0x1000>::from_token(token).unwrap();
/// let regs = window.regs_shared();
/// assert_eq!(field_shared!(regs, id).read(), 7);
/// ```
#[macro_export]
macro_rules! field_shared {
    ($ptr:expr, $field:ident) => {{
        let ptr: &$crate::SharedMmioPointer<'_, _> = &$ptr;
        let block = $crate::SharedMmioPointer::__block(ptr);
        // SAFETY: `block` comes from `ptr`, so the projected field is a field
        // of the register block `ptr` points to.
        unsafe { $crate::SharedMmioPointer::__project(ptr, &raw mut (*block).$field) }
    }};
}
