//! Banked registers: registers whose meaning depends on a selector.
//!
//! Some devices multiplex registers through a selector: virtio's `QueueSel`
//! picks which queue `QueueNum`, `QueueReady`, ... talk about; the 16550's
//! `LCR.DLAB` bit turns offsets 0 and 1 from the data registers into the
//! divisor latch. Three pieces model this:
//!
//! - the selector register is declared as a [`Selector<F, MASK>`]: its
//!   `MASK` bits can only change by selecting a bank (its other bits, if
//!   any, are configuration and stay writable: writes keep the `MASK` bits);
//! - a bank is declared with [`bank!`](crate::bank) (the selector takes an
//!   index, as `QueueSel` does) or [`banks!`](crate::banks) (fixed selector
//!   values, each with its own register block overlaid on the same
//!   offsets). The crate performs the selector write itself, from that
//!   declaration: a bank's author writes no code that could select wrongly;
//! - a [`Selected`] guard, obtained by selecting, holds the unique borrow of
//!   the register block, so the selection cannot change while it lives. It
//!   opens the bank's registers ([`banked!`](crate::banked!),
//!   [`Selected::bank`]) and leaves every unbanked register usable
//!   ([`Selected::regs`]).
//!
//! A register of an indexed bank is declared as [`Banked<B, F>`]: a pointer
//! to it has no `read` or `write`; only a `Selected<B>` guard opens it.

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::access::{PureReadable, Readable, Writable, sealed};
use crate::block::RegisterBlock;
use crate::pointer::{Project, SharedMmioPointer, UniqueMmioPointer};
use crate::value::{Raw, RegisterValue};

/// A selector register of access type `F` whose bits in `MASK` select a
/// bank (all bits by default).
///
/// Reads are as `F` allows. A write through [`write`](UniqueMmioPointer::write)
/// or [`modify`](UniqueMmioPointer::modify) changes only the bits outside
/// `MASK` (a read-modify-write), so a selector that shares its register
/// with configuration bits (the 16550's `LCR`) keeps its configuration
/// writable; the `MASK` bits change only by selecting a bank.
#[repr(transparent)]
pub struct Selector<F, const MASK: u64 = { u64::MAX }>(F);

impl<F: Readable, const M: u64> sealed::Sealed for Selector<F, M> {}

impl<F: Readable, const M: u64> Readable for Selector<F, M> {
    type Read = F::Read;
}

impl<F: PureReadable, const M: u64> PureReadable for Selector<F, M> {}

/// Bits of `raw` in `mask`, with the other bits of `value`.
#[inline(always)]
fn merge<R: Raw>(raw: R, value: R, mask: u64) -> R {
    R::from_u64((raw.to_u64() & mask) | (value.to_u64() & !mask))
}

impl<F, const M: u64> UniqueMmioPointer<'_, Selector<F, M>>
where
    F: Readable + Writable<Write = <F as Readable>::Read>,
{
    /// Writes the bits of `value` outside the selector mask; the selector
    /// bits keep their value (one read and one write).
    #[inline(always)]
    pub fn write(&mut self, value: F::Write) {
        let current = self.read();
        self.raw_write(merge(current.into_raw(), value.into_raw(), M));
    }

    /// Reads the register, applies `f`, and writes back the result's bits
    /// outside the selector mask.
    #[inline(always)]
    pub fn modify(&mut self, f: impl FnOnce(F::Write) -> F::Write) {
        let current = self.read();
        let new = f(current);
        self.raw_write(merge(current.into_raw(), new.into_raw(), M));
    }

    /// Sets the selector bits to `value` (within the mask), keeping the
    /// others: one read, and one write unless the bits already are `value`.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __select_bits(&mut self, value: u64) {
        let current = self.read().into_raw();
        let value = <<F as Readable>::Read as RegisterValue>::Raw::from_u64(value);
        let wanted = merge(value, current, M);
        if wanted != current {
            self.raw_write(wanted);
        }
    }
}

impl<F: Writable, const M: u64> UniqueMmioPointer<'_, Selector<F, M>> {
    #[inline(always)]
    fn raw_write(&mut self, raw: <F::Write as RegisterValue>::Raw) {
        // SAFETY: the pointer's contract; `Selector` and every register type
        // are `repr(transparent)` over the raw integer.
        unsafe { crate::io::write(self.raw().cast::<<F::Write as RegisterValue>::Raw>(), raw) }
    }

    /// Writes `index` to the whole selector register (whose mask covers it).
    #[doc(hidden)]
    #[inline(always)]
    pub fn __select_whole(&mut self, index: F::Write) {
        const {
            assert!(
                M & <F::Write as RegisterValue>::Raw::ONES_U64
                    == <F::Write as RegisterValue>::Raw::ONES_U64,
                "an indexed bank needs a selector whose mask covers the whole register"
            )
        };
        self.raw_write(index.into_raw());
    }
}

/// A register (with access type `F`) that belongs to bank `B`: reachable
/// only through a [`Selected<B>`] guard, with [`banked!`](crate::banked!)
/// or [`banked_shared!`](crate::banked_shared).
#[repr(transparent)]
pub struct Banked<B, F> {
    register: F,
    bank: PhantomData<fn() -> B>,
}

/// A bank: what selecting it writes, and to which register.
///
/// Implemented by [`bank!`](crate::bank) and [`banks!`](crate::banks) only,
/// which derive the selection from the declared selector register.
///
/// # Safety
///
/// `__select` writes the bank's selector register of the block it is
/// given, so that afterwards the device shows bank `Self` (with `index`),
/// and touches nothing else.
pub unsafe trait Bank {
    /// Register block holding the selector and the banked registers.
    type Block: RegisterBlock;
    /// What selecting takes: the index for an indexed bank, `()` for a fixed one.
    type Index: Copy;
    /// Performs the selection.
    #[doc(hidden)]
    fn __select(block: &mut UniqueMmioPointer<'_, Self::Block>, index: Self::Index);
}

/// A bank of [`banks!`](crate::banks) whose registers form a block of
/// their own, overlaid on a slot of the main block.
///
/// # Safety
///
/// `__view` returns a pointer to the slot of `block` the bank's registers
/// overlay, as an `R`, where `R` is one of the overlay's bank blocks.
pub unsafe trait OverlayBank: Bank {
    /// The bank's registers.
    type Regs: RegisterBlock;
    /// The bank's view of the slot.
    #[doc(hidden)]
    fn __view<'b>(block: UniqueMmioPointer<'b, Self::Block>) -> UniqueMmioPointer<'b, Self::Regs>;
}

/// Guard proving that bank `B` is selected (with [`index`](Self::index)).
///
/// It holds the unique borrow of the register block for `'a`: nothing can
/// select again until the guard is dropped.
pub struct Selected<'a, B: Bank> {
    block: UniqueMmioPointer<'a, B::Block>,
    index: B::Index,
}

impl<'a, B: Bank> Selected<'a, B> {
    /// Selects the bank (the crate writes the declared selector register)
    /// and returns the guard.
    #[inline(always)]
    pub fn new(mut block: UniqueMmioPointer<'a, B::Block>, index: B::Index) -> Self {
        B::__select(&mut block, index);
        Selected { block, index }
    }

    /// The selected index.
    #[inline(always)]
    pub fn index(&self) -> B::Index {
        self.index
    }

    /// The unbanked registers, usable while the bank stays selected: a view
    /// from which [`field!`](crate::field) reaches every register, but
    /// banked registers have no accessors and a [`Selector`]'s mask bits
    /// cannot change; no other bank can be selected from it.
    #[inline(always)]
    pub fn regs(&mut self) -> Unbanked<'_, B::Block> {
        Unbanked {
            block: self.block.reborrow(),
        }
    }

    /// Shared view (pure reads only) of the whole block.
    #[inline(always)]
    pub fn regs_shared(&self) -> SharedMmioPointer<'_, B::Block> {
        self.block.as_shared()
    }

    /// Raw pointer to the register block, for the projection macros.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __block(&mut self) -> *mut B::Block {
        self.block.raw()
    }

    /// Opens a banked register for unique access.
    ///
    /// # Safety
    ///
    /// `field` points to a field of the register block this guard borrows
    /// (it was projected from [`__block`](Self::__block)).
    #[doc(hidden)]
    #[inline(always)]
    pub unsafe fn __open<F>(&mut self, field: *mut Banked<B, F>) -> UniqueMmioPointer<'_, F> {
        // SAFETY: `field` is a field of the block (caller contract), so it is
        // valid, aligned (`RegisterBlock`) and covered by the block's unique
        // borrow; `Banked` is `repr(transparent)` over `F`; bank `B` is
        // selected (this guard exists).
        unsafe { UniqueMmioPointer::new(NonNull::new_unchecked(field.cast::<F>())) }
    }

    /// Opens a banked register for shared access (pure reads only).
    ///
    /// # Safety
    ///
    /// As [`__open`](Self::__open).
    #[doc(hidden)]
    #[inline(always)]
    pub unsafe fn __open_shared<F>(&self, field: *mut Banked<B, F>) -> SharedMmioPointer<'_, F> {
        // SAFETY: as in `__open`; shared pointers never write.
        unsafe { SharedMmioPointer::new(NonNull::new_unchecked(field.cast::<F>())) }
    }
}

impl<'a, B: OverlayBank> Selected<'a, B> {
    /// The bank's own registers (the overlay slot seen as `B::Regs`).
    #[inline(always)]
    pub fn bank(&mut self) -> UniqueMmioPointer<'_, B::Regs> {
        B::__view(self.block.reborrow())
    }
}

impl<B: Bank> fmt::Debug for Selected<'_, B>
where
    B::Index: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selected")
            .field("index", &self.index)
            .finish()
    }
}

/// The unbanked view of a register block while a bank is selected; see
/// [`Selected::regs`]. Project with [`field!`](crate::field).
pub struct Unbanked<'a, T> {
    block: UniqueMmioPointer<'a, T>,
}

impl<T> Unbanked<'_, T> {
    /// Shared view (pure reads only).
    #[inline(always)]
    pub fn as_shared(&self) -> SharedMmioPointer<'_, T> {
        self.block.as_shared()
    }
}

impl<T> fmt::Debug for Unbanked<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unbanked({:#x})", self.block.addr())
    }
}

impl<T: RegisterBlock> crate::pointer::sealed::Sealed for Unbanked<'_, T> {}

impl<T: RegisterBlock> Project for Unbanked<'_, T> {
    type Block = T;
    #[inline(always)]
    fn block(&mut self) -> *mut T {
        self.block.raw()
    }
    #[inline(always)]
    unsafe fn project<F>(&mut self, field: *mut F) -> UniqueMmioPointer<'_, F> {
        // SAFETY: forwarded contract: `field` is a field of the block.
        unsafe { self.block.project(field) }
    }
}

/// A union of bank blocks overlaid on one slot, declared by
/// [`banks!`](crate::banks): `R` is one of its banks' blocks.
///
/// # Safety
///
/// `Self` is a `repr(C)` union with a member of type
/// `ManuallyDrop<R>`, so a pointer to `Self` is a pointer to an `R`.
#[doc(hidden)]
pub unsafe trait OverlayOf<R: RegisterBlock> {}

/// The view of an overlay slot as one of its bank blocks.
#[doc(hidden)]
#[inline(always)]
pub fn overlay_view<'b, O: OverlayOf<R>, R: RegisterBlock>(
    slot: UniqueMmioPointer<'b, O>,
) -> UniqueMmioPointer<'b, R> {
    // SAFETY: `O` is a `repr(C)` union with an `R` member (`OverlayOf`), so
    // the slot's registers are `R`'s, at the same address, with the slot's
    // unique borrow.
    unsafe { UniqueMmioPointer::new(NonNull::new_unchecked(slot.raw().cast::<R>())) }
}

/// Whether every value is inside `mask` and no two are equal.
#[doc(hidden)]
pub const fn bank_values_ok(values: &[u64], mask: u64) -> bool {
    let mut i = 0;
    while i < values.len() {
        if values[i] & !mask != 0 {
            return false;
        }
        let mut j = i + 1;
        while j < values.len() {
            if values[i] == values[j] {
                return false;
            }
            j += 1;
        }
        i += 1;
    }
    true
}

/// The mask of a selector field, named by a projection that is never called.
#[doc(hidden)]
pub const fn selector_mask<T, F, const M: u64>(_: fn(*mut T) -> *mut Selector<F, M>) -> u64 {
    M
}

/// Declares an indexed bank: selecting it writes an index to the whole
/// selector register (a [`Selector`] field of the block).
///
/// `bank!(pub QueueBank: VirtioMmioRegs.queue_sel as u32);` declares
/// `QueueBank`, selected by `Selected::<QueueBank>::new(regs, index)`.
///
/// ```
/// use mmio_types::{Banked, FakeDevice, MmioWindow, ReadPureWrite, Selected, Selector, WriteOnly};
/// use mmio_types::{bank, banked, register_block};
///
/// register_block! {
///     pub struct Dev in 0x1000 {
///         0x0 => pub sel: Selector<WriteOnly<u32>>,
///         0x4 => pub value: Banked<Channel, ReadPureWrite<u32>>,
///         0x8 => @end,
///     }
/// }
/// bank!(pub Channel: Dev.sel as u32);
///
/// let (dev, token) = FakeDevice::new(0x1000);
/// let mut window = MmioWindow::<Dev, 0x1000>::from_token(token).unwrap();
/// let mut channel = Selected::<Channel>::new(window.regs(), 3);
/// banked!(channel, value).write(7);
/// assert_eq!((dev.read_u32(0), dev.read_u32(4)), (3, 7));
/// ```
#[macro_export]
macro_rules! bank {
    ($(#[$attr:meta])* $vis:vis $name:ident : $block:ident . $sel:ident as $index:ty) => {
        $(#[$attr])*
        $vis struct $name;

        // SAFETY: selection writes the declared selector field of the block,
        // whose mask covers the whole register (checked where it is written).
        unsafe impl $crate::Bank for $name {
            type Block = $block;
            type Index = $index;
            #[inline(always)]
            fn __select(block: &mut $crate::UniqueMmioPointer<'_, $block>, index: $index) {
                $crate::field!(*block, $sel).__select_whole(index);
            }
        }
    };
}

/// Declares banks with fixed selector values whose registers are blocks of
/// their own, overlaid on one slot of the main block (the 16550's DLAB:
/// offsets 0 and 1 are the data registers or the divisor latch).
///
/// `banks! { pub Dlab: Uart.slot by lcr { pub Normal = 0x00 => DataRegs, pub Divisor = 0x80 => DivisorRegs } }`
/// declares the union type `Dlab` (the type of field `slot` of `Uart`, with
/// no accessors of its own) and the banks `Normal` and `Divisor`. Selecting
/// one sets the selector bits of field `lcr` (a [`Selector`]) to its value
/// by read-modify-write, keeping the other bits (no write if the bits
/// already hold the value). The values must lie inside
/// the selector's mask and differ (checked at compile time).
///
/// ```
/// use mmio_types::{FakeDevice, MmioWindow, ReadWrite, Selected, Selector, banks, field, register_block};
///
/// register_block! {
///     pub struct Uart in 0x1000 {
///         0x0 => pub slot: Dlab,
///         0x2 => pub lcr: Selector<ReadWrite<u8>, 0x80>,
///         0x3 => @end,
///     }
/// }
/// register_block! { pub struct Data { 0x0 => pub thr: ReadWrite<u8>, 0x1 => pub ier: ReadWrite<u8>, 0x2 => @end } }
/// register_block! { pub struct Latch { 0x0 => pub dll: ReadWrite<u8>, 0x1 => pub dlm: ReadWrite<u8>, 0x2 => @end } }
/// banks! { pub Dlab: Uart.slot by lcr { pub Normal = 0 => Data, pub Divisor = 0x80 => Latch } }
///
/// let (dev, token) = FakeDevice::new(0x1000);
/// let mut window = MmioWindow::<Uart, 0x1000>::from_token(token).unwrap();
/// let mut regs = window.regs();
/// field!(regs, lcr).write(0x03); // 8 data bits: configuration, DLAB untouched
/// let mut latch = Selected::<Divisor>::new(regs.reborrow(), ());
/// let mut divisor = latch.bank();
/// field!(divisor, dll).write(3);
/// let mut unbanked = latch.regs();
/// field!(unbanked, lcr).write(0x07); // still the divisor bank: DLAB stays set
/// assert_eq!((dev.read_u8(0), dev.read_u8(2)), (3, 0x87));
/// drop(latch);
/// let mut data = Selected::<Normal>::new(regs, ());
/// let mut bank = data.bank();
/// field!(bank, thr).write(b'A');
/// assert_eq!((dev.read_u8(0), dev.read_u8(2)), (b'A', 0x07));
/// ```
#[macro_export]
macro_rules! banks {
    (
        $(#[$attr:meta])*
        $vis:vis $set:ident : $block:ident . $slot:ident by $sel:ident {
            $($(#[$battr:meta])* $bvis:vis $bank:ident = $value:literal => $regs:ident),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        #[repr(C)]
        #[allow(non_snake_case)]
        $vis union $set {
            $($bank: ::core::mem::ManuallyDrop<$regs>,)+
        }

        const _: () = ::core::assert!(
            $crate::__private::bank_values_ok(
                &[$($value),+],
                $crate::__private::selector_mask::<$block, _, _>(
                    // SAFETY: the projection is never called; it only names the field's type.
                    |p| unsafe { &raw mut (*p).$sel },
                ),
            ),
            ::core::concat!("banks!: the values of `", ::core::stringify!($set),
                "` must lie inside the selector's mask and differ"),
        );

        // SAFETY: a `repr(C)` union of register blocks: each member starts at
        // the union's start, and the union's access width and alignment are
        // the largest of its members', so each member's accesses stay aligned
        // wherever the union is placed. Its members are private.
        unsafe impl $crate::RegisterField for $set {
            const ACCESS: usize =
                $crate::__private::max(&[$(<$regs as $crate::RegisterField>::ACCESS),+]);
        }

        $(
            // SAFETY: `$set` has a `ManuallyDrop<$regs>` member.
            unsafe impl $crate::__private::OverlayOf<$regs> for $set {}

            $(#[$battr])*
            $bvis struct $bank;

            // SAFETY: selection sets the bits of the declared selector field
            // to the bank's value, checked above to lie inside its mask and to
            // differ from every other bank's.
            unsafe impl $crate::Bank for $bank {
                type Block = $block;
                type Index = ();
                #[inline(always)]
                fn __select(block: &mut $crate::UniqueMmioPointer<'_, $block>, _: ()) {
                    $crate::field!(*block, $sel).__select_bits($value);
                }
            }

            // SAFETY: the view is the slot field of the block, seen as one of
            // the union's members.
            unsafe impl $crate::OverlayBank for $bank {
                type Regs = $regs;
                #[inline(always)]
                fn __view<'b>(
                    mut block: $crate::UniqueMmioPointer<'b, $block>,
                ) -> $crate::UniqueMmioPointer<'b, $regs> {
                    let raw = $crate::__private::Project::block(&mut block);
                    // SAFETY: `raw` comes from `block`, so the projected field
                    // is a field of the register block `block` owns.
                    let slot: $crate::UniqueMmioPointer<'b, $set> =
                        unsafe { block.__into_field(&raw mut (*raw).$slot) };
                    $crate::__private::overlay_view::<$set, $regs>(slot)
                }
            }
        )+
    };
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
        let block = $crate::Selected::__block(selected);
        // SAFETY: `block` comes from the guard, so the projected field is a
        // field of the register block the guard borrows.
        unsafe { $crate::Selected::__open(selected, &raw mut (*block).$field) }
    }};
}

/// Shared pointer (pure reads only) to banked register `$field` through a
/// [`Selected`] guard.
#[macro_export]
macro_rules! banked_shared {
    ($selected:expr, $field:ident) => {{
        let selected: &$crate::Selected<'_, _> = &$selected;
        let block = $crate::Selected::regs_shared(selected).__block();
        // SAFETY: `block` comes from the guard, so the projected field is a
        // field of the register block the guard borrows.
        unsafe { $crate::Selected::__open_shared(selected, &raw mut (*block).$field) }
    }};
}
