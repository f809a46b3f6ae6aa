//! Register values: what one register access reads or writes.

mod sealed {
    pub trait Sealed {}
}

/// The primitive integers a single register access moves: `u8`, `u16`,
/// `u32` and `u64`. Sealed: every access of the crate is one volatile
/// access of one of these, naturally aligned.
pub trait Raw: sealed::Sealed + Copy + Eq + core::fmt::Debug {
    /// All bits set.
    const ONES: Self;
    /// All bits set, widened to `u64`.
    const ONES_U64: u64;
    /// Widens to `u64`.
    fn to_u64(self) -> u64;
    /// Truncates a `u64` to this width.
    fn from_u64(v: u64) -> Self;
}

macro_rules! raw {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Raw for $t {
            const ONES: Self = <$t>::MAX;
            const ONES_U64: u64 = <$t>::MAX as u64;
            #[inline(always)]
            fn to_u64(self) -> u64 {
                self as u64
            }
            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                v as $t
            }
        }
    )*};
}
raw!(u8, u16, u32, u64);

/// A value a register holds: an integer, or a typed view of one (such as a
/// [`bitfields!`](crate::bitfields) type).
///
/// The access itself is always one volatile access of [`Raw`](Self::Raw);
/// the conversions run on the value in a CPU register, so implementing this
/// trait needs no `unsafe` and cannot affect what memory is touched.
pub trait RegisterValue: Copy {
    /// The integer moved by the access.
    type Raw: Raw;
    /// The value a read of `raw` stands for.
    fn from_raw(raw: Self::Raw) -> Self;
    /// The integer a write of `self` puts in the register.
    fn into_raw(self) -> Self::Raw;
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl RegisterValue for $t {
            type Raw = $t;
            #[inline(always)]
            fn from_raw(raw: $t) -> $t {
                raw
            }
            #[inline(always)]
            fn into_raw(self) -> $t {
                self
            }
        }
    )*};
}
int_value!(u8, u16, u32, u64);
