//! `register_block!` and `place!`: register blocks whose layout is checked at compile time.

use crate::block::{PAGE_SIZE, RegisterBlock, RegisterField};

/// Whether register field `F` may sit at `offset`: a multiple of its access
/// width and of its alignment, and placeable at all.
#[doc(hidden)]
pub const fn register_placement_ok<F: RegisterField>(offset: usize) -> bool {
    F::PLACEMENT_OK
        && (F::ACCESS == 0 || offset.is_multiple_of(F::ACCESS))
        && offset.is_multiple_of(align_of::<F>())
}

/// The largest of `values` (0 if none).
#[doc(hidden)]
pub const fn max(values: &[usize]) -> usize {
    let mut m = 0;
    let mut i = 0;
    while i < values.len() {
        if values[i] > m {
            m = values[i];
        }
        i += 1;
    }
    m
}

/// Whether block `R` fits, aligned, at `offset` in a window of `window` bytes.
#[doc(hidden)]
pub const fn fits_at<R: RegisterBlock>(offset: usize, window: usize) -> bool {
    R::ALIGN <= PAGE_SIZE
        && offset.is_multiple_of(R::ALIGN)
        && offset <= window
        && R::SIZE <= window - offset
}

/// Implemented for every type that implements `Deref`; a register block
/// implements it too, so a block that implemented `Deref` would have two
/// conflicting implementations: register blocks cannot implement `Deref`.
#[doc(hidden)]
pub trait NotDeref {}
impl<T: ?Sized + core::ops::Deref> NotDeref for T {}

/// Defines a `#[repr(C)]` register block and checks its layout at compile time.
///
/// Each entry is `offset => name: Type,` for a register or
/// `offset => name,` for reserved bytes (up to the next entry's offset;
/// they get type [`Reserved`](crate::Reserved), with no accessors); the
/// last entry is `size => @end`. The macro emits the struct with
/// `#[repr(C)]` and every field in order, and checks, in constants that
/// fail `cargo check` and `cargo build` alike:
///
/// - each field is at its offset (`core::mem::offset_of!`) and the block's
///   size is the `@end` offset: any offset and any size work;
/// - each register is a [`RegisterField`] (a trait bound, so the error
///   names the type);
/// - each register's offset is a multiple of its access width and its
///   alignment, so every access is naturally aligned (arrays of small
///   registers are fine: `[ReadPure<u8>; 6]` at 2 is six byte accesses);
/// - the struct is at least as aligned as every field (no `repr(packed)`);
/// - the struct does not implement `Deref`.
///
/// The optional `at OFFSET in WINDOW, ...` clause declares the windows the
/// block is used in ([`place!`](crate::place!)), e.g. `in 0x1000` for a block at the start
/// of a 4 KiB window.
///
/// ```
/// use mmio_types::{ReadPure, ReadWrite, WriteOnly, register_block};
///
/// register_block! {
///     /// A small UART.
///     pub struct Uart in 0x1000 {
///         0x0 => pub data: WriteOnly<u32>,
///         0x4 => _reserved,
///         0x8 => pub status: ReadPure<u32>,
///         0xc => pub mac: [ReadPure<u8>; 6],
///         0x12 => pub ctrl: ReadWrite<u16>,
///         0x14 => @end,
///     }
/// }
/// ```
#[macro_export]
macro_rules! register_block {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident $(at $off:tt)? $(in $($win:tt),+)? {
            $($body:tt)*
        }
    ) => {
        $crate::__register_block! {
            head [$(#[$attr])* $vis struct $name]
            fields []
            regs []
            pads []
            rest [$($body)*]
        }
        $crate::__place_all!($name [$($off)?] $($($win)+)?);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __register_block {
    // A register.
    (
        head $head:tt fields [$($f:tt)*] regs [$($r:tt)*] pads [$($p:tt)*]
        rest [$(#[$fa:meta])* $off:literal => $fv:vis $field:ident : $ty:ty, $($rest:tt)*]
    ) => {
        $crate::__register_block! {
            head $head
            fields [$($f)* $(#[$fa])* $fv $field: $ty,]
            regs [$($r)* ($field, $ty, $off)]
            pads [$($p)*]
            rest [$($rest)*]
        }
    };
    // Reserved bytes, up to the next entry.
    (
        head $head:tt fields [$($f:tt)*] regs [$($r:tt)*] pads [$($p:tt)*]
        rest [$(#[$fa:meta])* $off:literal => $field:ident, $(#[$na:meta])* $next:literal => $($rest:tt)*]
    ) => {
        $crate::__register_block! {
            head $head
            fields [$($f)* $field: $crate::Reserved<{ $next - $off }>,]
            regs [$($r)*]
            pads [$($p)* ($field, $off)]
            rest [$(#[$na])* $next => $($rest)*]
        }
    };
    // The end.
    (
        head [$(#[$attr:meta])* $vis:vis struct $name:ident]
        fields [$($f:tt)*]
        regs [$(($reg:ident, $ty:ty, $roff:literal))*]
        pads [$(($pad:ident, $poff:literal))*]
        rest [$end:literal => @end $(,)?]
    ) => {
        $(#[$attr])*
        #[repr(C)]
        $vis struct $name {
            $($f)*
        }

        const _: () = {
            $(
                ::core::assert!(
                    ::core::mem::offset_of!($name, $reg) == $roff,
                    ::core::concat!("register_block!: `", ::core::stringify!($name), "::",
                        ::core::stringify!($reg), "` is not at offset ", ::core::stringify!($roff),
                        " (overlap, or a gap without a reserved entry)"),
                );
                ::core::assert!(
                    $crate::__private::register_placement_ok::<$ty>($roff),
                    ::core::concat!("register_block!: `", ::core::stringify!($name), "::",
                        ::core::stringify!($reg),
                        "` is misaligned: a register must sit at a multiple of its access width"),
                );
                ::core::assert!(
                    ::core::mem::align_of::<$name>() >= ::core::mem::align_of::<$ty>(),
                    ::core::concat!("register_block!: `", ::core::stringify!($name),
                        "` is less aligned than its field `", ::core::stringify!($reg), "`"),
                );
            )*
            $(
                ::core::assert!(
                    ::core::mem::offset_of!($name, $pad) == $poff,
                    ::core::concat!("register_block!: `", ::core::stringify!($name), "::",
                        ::core::stringify!($pad), "` is not at offset ", ::core::stringify!($poff)),
                );
            )*
            ::core::assert!(
                ::core::mem::size_of::<$name>() == $end,
                ::core::concat!("register_block!: size of `", ::core::stringify!($name),
                    "` is not ", ::core::stringify!($end)),
            );
        };

        // SAFETY: the constants above check every field's offset, placement
        // and alignment against the `repr(C)` struct the macro defined with
        // exactly these fields; `ACCESS` is the widest field access.
        unsafe impl $crate::RegisterField for $name {
            const ACCESS: usize =
                $crate::__private::max(&[$(<$ty as $crate::RegisterField>::ACCESS),*]);
        }

        // SAFETY: as above; `SIZE` and `ALIGN` are computed from the type and
        // its fields, and `NotDeref` below rules out `Deref`.
        unsafe impl $crate::RegisterBlock for $name {
            const SIZE: usize = ::core::mem::size_of::<$name>();
            const ALIGN: usize = $crate::__private::max(&[
                ::core::mem::align_of::<$name>(),
                <$name as $crate::RegisterField>::ACCESS,
            ]);
        }

        impl $crate::__private::NotDeref for $name {}
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __place_all {
    ($name:ident [] $($win:tt)*) => {
        $($crate::place!($name at 0 in $win);)*
    };
    ($name:ident [$off:tt] $($win:tt)*) => {
        $($crate::place!($name at $off in $win);)*
    };
}

/// Declares that a register block fits at an offset of a window:
/// `place!(Block in 0x1000)` (offset 0) or `place!(Config at 0x100 in 0x1000)`.
///
/// Checked in a non-generic constant (so `cargo check` reports it): the
/// block ends inside the window, the offset is a multiple of the block's
/// alignment, which is at most a page. Implements
/// [`FitsAt`](crate::FitsAt), which [`MmioWindow`](crate::MmioWindow) and
/// [`sub`](crate::MmioWindow::sub) require.
///
/// ```
/// use mmio_types::{ReadPure, place, register_block};
///
/// register_block! {
///     pub struct Config {
///         0x0 => pub capacity: ReadPure<u32>,
///         0x4 => @end,
///     }
/// }
/// place!(Config at 0x100 in 0x1000);
/// ```
#[macro_export]
macro_rules! place {
    ($name:ident in $win:expr) => {
        $crate::place!($name at 0 in $win);
    };
    ($name:ident at $off:tt in $win:expr) => {
        const _: () = ::core::assert!(
            $crate::__private::fits_at::<$name>($off, $win),
            ::core::concat!("place!: `", ::core::stringify!($name), "` does not fit at offset ",
                ::core::stringify!($off), " of a ", ::core::stringify!($win),
                "-byte window (too large, misaligned, or aligned to more than a page)"),
        );
        // SAFETY: the constant above checks the three conditions of `FitsAt`.
        unsafe impl $crate::FitsAt<{ $off }, { $win }> for $name {}
    };
}
