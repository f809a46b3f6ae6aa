//! `register_layout!`: compile-time pinning of a register block's layout.

/// Size of the field a projection function points to (used by [`register_layout!`]).
#[doc(hidden)]
pub const fn field_size<T, F>(_project: fn(*const T) -> *const F) -> usize {
    size_of::<F>()
}

/// Alignment of the field a projection function points to (used by [`register_layout!`]).
#[doc(hidden)]
pub const fn field_align<T, F>(_project: fn(*const T) -> *const F) -> usize {
    align_of::<F>()
}

/// Type-checks that a projected field is a [`RegisterField`](crate::RegisterField).
#[doc(hidden)]
pub fn assert_register_field<T, F: crate::RegisterField>(_project: fn(*const T) -> *const F) {}

/// Whether a register of `size` bytes and alignment `align` may sit at `offset`.
#[doc(hidden)]
pub const fn register_offset_ok(offset: usize, size: usize, align: usize) -> bool {
    let single_access = size <= 8;
    offset.is_multiple_of(align)
        && (!single_access || offset.is_multiple_of(size))
        && (!single_access || align >= crate::block::access_align(size))
}

/// Pins a `#[repr(C)]` register block's layout and makes it a [`RegisterBlock`].
///
/// Every field of the struct must be listed, registers under `registers`
/// and padding under `reserved` (an unlisted field is a compile error). The
/// macro checks, as item-level constants that fail `cargo check` and
/// `cargo build` alike:
///
/// - `size_of` of the block is the given size;
/// - each field is at the given offset (`core::mem::offset_of!`);
/// - each register is a [`RegisterField`] (an access wrapper, a banked
///   register, an array of them or a nested pinned block; a type-check, so
///   the error is a trait error);
/// - each register's offset is a multiple of its alignment, and of its size
///   when it is a single access (at most 8 bytes), and the register is at
///   least as aligned as the primitive access of its size, so every access is
///   naturally aligned;
/// - each reserved field's offset is a multiple of its alignment;
/// - the block's alignment is at least every field's (no `repr(packed)`).
///
/// ```
/// use mmio_types::{ReadPure, WriteOnly, register_layout};
///
/// #[repr(C)]
/// pub struct Uart {
///     pub data: WriteOnly<u32>, // 0x0
///     _reserved0: [u32; 1],     // 0x4
///     pub status: ReadPure<u32>, // 0x8
/// }
///
/// register_layout! {
///     Uart, size = 0xc;
///     registers { data @ 0x0, status @ 0x8 }
///     reserved { _reserved0 @ 0x4 }
/// }
/// ```
///
/// [`RegisterBlock`]: crate::RegisterBlock
/// [`RegisterField`]: crate::RegisterField
#[macro_export]
macro_rules! register_layout {
    (
        $block:ident, size = $size:expr;
        registers { $($reg:ident @ $reg_off:expr),+ $(,)? }
        $(reserved { $($pad:ident @ $pad_off:expr),+ $(,)? })?
    ) => {
        const _: () = {
            ::core::assert!(
                ::core::mem::size_of::<$block>() == $size,
                ::core::concat!("register_layout!: size of `", ::core::stringify!($block),
                    "` is not ", ::core::stringify!($size)),
            );
            $(
                ::core::assert!(
                    ::core::mem::offset_of!($block, $reg) == $reg_off,
                    ::core::concat!("register_layout!: `", ::core::stringify!($block), "::",
                        ::core::stringify!($reg), "` is not at offset ", ::core::stringify!($reg_off)),
                );
                ::core::assert!(
                    $crate::layout::register_offset_ok(
                        ::core::mem::offset_of!($block, $reg),
                        $crate::layout::field_size::<$block, _>(
                            // SAFETY: the projection is never called; it only names the field's type.
                            |p| unsafe { &raw const (*p).$reg },
                        ),
                        $crate::layout::field_align::<$block, _>(
                            // SAFETY: the projection is never called; it only names the field's type.
                            |p| unsafe { &raw const (*p).$reg },
                        ),
                    ),
                    ::core::concat!("register_layout!: offset of `", ::core::stringify!($block), "::",
                        ::core::stringify!($reg), "` is misaligned: a register must sit at a multiple of its size and alignment"),
                );
                ::core::assert!(
                    ::core::mem::align_of::<$block>()
                        >= $crate::layout::field_align::<$block, _>(
                            // SAFETY: the projection is never called; it only names the field's type.
                            |p| unsafe { &raw const (*p).$reg },
                        ),
                    ::core::concat!("register_layout!: `", ::core::stringify!($block),
                        "` is less aligned than its field `", ::core::stringify!($reg), "`"),
                );
            )+
            $($(
                ::core::assert!(
                    ::core::mem::offset_of!($block, $pad) == $pad_off,
                    ::core::concat!("register_layout!: `", ::core::stringify!($block), "::",
                        ::core::stringify!($pad), "` is not at offset ", ::core::stringify!($pad_off)),
                );
                ::core::assert!(
                    ::core::mem::offset_of!($block, $pad)
                        % $crate::layout::field_align::<$block, _>(
                            // SAFETY: the projection is never called; it only names the field's type.
                            |p| unsafe { &raw const (*p).$pad },
                        ) == 0
                        && ::core::mem::align_of::<$block>()
                            >= $crate::layout::field_align::<$block, _>(
                                // SAFETY: the projection is never called; it only names the field's type.
                                |p| unsafe { &raw const (*p).$pad },
                            ),
                    ::core::concat!("register_layout!: `", ::core::stringify!($block), "::",
                        ::core::stringify!($pad), "` is misaligned"),
                );
            )+)?
        };

        // Every field must be listed (the pattern has no `..`), and every
        // register is a register type.
        const _: fn(&$block) = |block| {
            let $block { $($reg: _,)+ $($($pad: _,)+)? } = block;
            $(
                $crate::layout::assert_register_field::<$block, _>(
                    // SAFETY: the projection is never called; it only names the field's type.
                    |p| unsafe { &raw const (*p).$reg },
                );
            )+
        };

        // SAFETY: the constants above check, at compile time, that every field
        // is listed and naturally aligned and that the block is at least as
        // aligned as each field; `Size` and `Align` are computed from the type.
        unsafe impl $crate::RegisterBlock for $block {
            type Size = $crate::typenum::U<{ ::core::mem::size_of::<$block>() }>;
            type Align = $crate::typenum::U<{ ::core::mem::align_of::<$block>() }>;
        }

        // SAFETY: as above: every field of the block is naturally aligned
        // within it, so the block can nest in another one.
        unsafe impl $crate::RegisterField for $block {}
    };
}
