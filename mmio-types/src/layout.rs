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

/// Pins a `#[repr(C)]` register block's layout and makes it a [`RegisterBlock`].
///
/// Every field of the struct must be listed, registers under `registers`
/// and padding under `reserved` (an unlisted field is a compile error). The
/// macro checks, as item-level constants that fail `cargo check` and
/// `cargo build` alike:
///
/// - `size_of` of the block is the given size;
/// - each field is at the given offset (`core::mem::offset_of!`);
/// - each register's offset is a multiple of its size and of its alignment,
///   so every access is naturally aligned;
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
                    ::core::mem::offset_of!($block, $reg)
                        % $crate::layout::field_size::<$block, _>(
                            // SAFETY: the projection is never called; it only names the field's type.
                            |p| unsafe { &raw const (*p).$reg },
                        ) == 0
                        && ::core::mem::offset_of!($block, $reg)
                            % $crate::layout::field_align::<$block, _>(
                                // SAFETY: the projection is never called; it only names the field's type.
                                |p| unsafe { &raw const (*p).$reg },
                            ) == 0,
                    ::core::concat!("register_layout!: offset of `", ::core::stringify!($block), "::",
                        ::core::stringify!($reg), "` is not a multiple of its size"),
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

        // Every field must be listed: this pattern has no `..`.
        const _: fn(&$block) = |block| {
            let $block { $($reg: _,)+ $($($pad: _,)+)? } = block;
        };

        // SAFETY: the constants above check, at compile time, that every field
        // is listed and naturally aligned and that the block is at least as
        // aligned as each field; `Size` and `Align` are computed from the type.
        unsafe impl $crate::RegisterBlock for $block {
            type Size = $crate::typenum::U<{ ::core::mem::size_of::<$block>() }>;
            type Align = $crate::typenum::U<{ ::core::mem::align_of::<$block>() }>;
        }
    };
}
