//! Typed bitfields: named fields of a register value, read and written in one access.
//!
//! [`bitfields!`](crate::bitfields) declares a register value type (a
//! `repr(transparent)` wrapper of one integer) and its fields. A field is an
//! associated constant of type [`Field<R, V>`]: register `R`, value `V`,
//! which is `bool` (one bit), the register's integer (several bits), an
//! enumeration whose variants cover every value of the field, or
//! `Option<E>` for an enumeration that does not (a value without a variant
//! reads as `None`; nothing panics and nothing is undefined).
//!
//! The value type is what a register of that type reads and writes
//! (`ReadPureWrite<Lcr>`), so a field-wise read, write or modify is one
//! register access: `get`, `with`, `is_set` and `matches` work on the value in a
//! CPU register, after or before the access.
//!
//! Why a macro of this crate rather than a bitfield crate: tock-registers'
//! field values all share one type per register (`FieldValue<u8, LCR::Register>`),
//! so the value of one field type-checks as another field's of the same
//! register, and its `read_as_enum` is not tied to a field; bitbybit needs a
//! procedural macro and its arbitrary-width integer types; bitflags has no
//! multi-bit fields and no enumerations. Here each field has its own value
//! type, no `unsafe` is involved (every bit pattern decodes to a value), and
//! the whole module is `const`-foldable code that
//! `cargo xtask asm-check` compares with hand-written masks and shifts.

use core::marker::PhantomData;

/// What a field decodes to: `bool`, an unsigned integer, an enumeration
/// declared by [`bitfields!`](crate::bitfields), or `Option` of one.
pub trait FieldValue: Copy {
    /// What setting the field takes (for `Option<E>`, an `E`).
    type Write: Copy;
    /// Decodes the field's bits (shifted down to bit 0, within its width).
    fn from_field(bits: u64) -> Self;
    /// Encodes `value` as the field's bits (shifted down to bit 0).
    fn into_field(value: Self::Write) -> u64;
}

/// An enumeration of a field's values, declared by
/// [`bitfields!`](crate::bitfields).
pub trait FieldEnum: Copy {
    /// The variant whose value is `bits`, if there is one.
    fn try_from_field(bits: u64) -> Option<Self>;
    /// The variant's value.
    fn into_field(self) -> u64;
}

impl FieldValue for bool {
    type Write = bool;
    #[inline(always)]
    fn from_field(bits: u64) -> bool {
        bits != 0
    }
    #[inline(always)]
    fn into_field(value: bool) -> u64 {
        u64::from(value)
    }
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            type Write = $t;
            #[inline(always)]
            fn from_field(bits: u64) -> $t {
                bits as $t
            }
            #[inline(always)]
            fn into_field(value: $t) -> u64 {
                value as u64
            }
        }
    )*};
}
int_field!(u8, u16, u32, u64);

/// A field whose enumeration does not cover every value: a value without a
/// variant reads as `None`.
impl<E: FieldEnum> FieldValue for Option<E> {
    type Write = E;
    #[inline(always)]
    fn from_field(bits: u64) -> Option<E> {
        E::try_from_field(bits)
    }
    #[inline(always)]
    fn into_field(value: E) -> u64 {
        value.into_field()
    }
}

/// A field of register value type `R` (declared with
/// [`bitfields!`](crate::bitfields)) whose value is a `V`; `A` is
/// [`FieldRw`] (may be set) or [`FieldRo`] (read-only).
///
/// Used with the methods `bitfields!` gives `R`: `get`, `with` (writable
/// fields only), `is_set`, `matches`. A field of one register cannot be used
/// on another's value, a value of one field's enumeration cannot be given to
/// another field, and a read-only field cannot be set: all three are type
/// errors.
pub struct Field<R, V, A = FieldRw> {
    shift: u32,
    /// Mask of the field's bits, shifted down to bit 0.
    mask: u64,
    marker: PhantomData<Marker<R, V, A>>,
}

/// What a [`Field`] is about, without owning any of it (always `Copy`, `Send` and `Sync`).
type Marker<R, V, A> = fn() -> (R, V, A);

/// A field that may be set (`with`): the default.
#[derive(Debug)]
pub enum FieldRw {}

/// A read-only field (declared `ro`): `with` does not take it.
#[derive(Debug)]
pub enum FieldRo {}

impl<R, V, A> Clone for Field<R, V, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R, V, A> Copy for Field<R, V, A> {}

impl<R, V, A> core::fmt::Debug for Field<R, V, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Field(bits {:#x})", self.mask())
    }
}

impl<R, V, A> Field<R, V, A> {
    /// Bits `lo..=hi`; the declaration checks them against the register's width.
    #[doc(hidden)]
    pub const fn __new(lo: u32, hi: u32) -> Self {
        assert!(
            lo <= hi && hi < 64,
            "a field is bits lo..=hi with lo <= hi < 64"
        );
        let width = hi - lo + 1;
        let mask = if width == 64 {
            u64::MAX
        } else {
            (1 << width) - 1
        };
        Field {
            shift: lo,
            mask,
            marker: PhantomData,
        }
    }

    /// The field's lowest bit.
    pub const fn shift(self) -> u32 {
        self.shift
    }

    /// The number of bits.
    pub const fn width(self) -> u32 {
        self.mask.count_ones()
    }

    /// The field's bits in place.
    pub const fn mask(self) -> u64 {
        self.mask << self.shift
    }

    /// The field's bits of `raw`, shifted down.
    #[doc(hidden)]
    #[inline(always)]
    pub const fn __bits(self, raw: u64) -> u64 {
        (raw >> self.shift) & self.mask
    }

    /// `raw` with the field set to `bits` (truncated to the field's width).
    #[doc(hidden)]
    #[inline(always)]
    pub const fn __set_bits(self, raw: u64, bits: u64) -> u64 {
        (raw & !(self.mask << self.shift)) | ((bits & self.mask) << self.shift)
    }
}

impl<R, V: FieldValue, A> Field<R, V, A> {
    /// The field's value in `raw`.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __get(self, raw: u64) -> V {
        V::from_field(self.__bits(raw))
    }

    /// `raw` with the field set to `value`.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __with(self, raw: u64, value: V::Write) -> u64 {
        self.__set_bits(raw, V::into_field(value))
    }

    /// Whether the field's bits in `raw` are those of `value`.
    #[doc(hidden)]
    #[inline(always)]
    pub fn __matches(self, raw: u64, value: V::Write) -> bool {
        self.__bits(raw) == V::into_field(value) & self.mask
    }
}

/// Whether no two of `masks` share a bit.
#[doc(hidden)]
pub const fn disjoint(masks: &[u64]) -> bool {
    let mut seen = 0;
    let mut i = 0;
    while i < masks.len() {
        if seen & masks[i] != 0 {
            return false;
        }
        seen |= masks[i];
        i += 1;
    }
    true
}

/// Whether every value fits in `width` bits.
#[doc(hidden)]
pub const fn enum_values_fit(values: &[u64], width: u32) -> bool {
    let mut i = 0;
    while i < values.len() {
        if width < 64 && values[i] >> width != 0 {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `count` distinct values (enumeration discriminants are
/// distinct) that fit in `width` bits cover all of them.
#[doc(hidden)]
pub const fn enum_values_cover(count: usize, width: u32) -> bool {
    width < 64 && count as u64 == 1 << width
}

/// Declares a register value type with named fields.
///
/// ```text
/// bitfields! {
///     /// doc
///     pub struct Name: u16 {       // u8, u16, u32 or u64: the register's width
///         pub FLAG: 0,                              // one bit: bool
///         pub COUNT: 1..=3,                         // bits 1 to 3: the integer
///         pub MODE: 4..=5 => Mode { A = 0, B = 1, C = 2, D = 3 },   // every value named
///         pub KIND: 6..=7 => Option<Kind> { X = 0, Y = 2 },         // not every value
///         pub BUSY: 8 ro,                           // read-only: `with` refuses it
///     }
/// }
/// ```
///
/// The macro defines `Name` (`#[repr(transparent)]` over the integer, a
/// [`RegisterValue`](crate::RegisterValue), `Debug` listing the fields),
/// one associated constant [`Field`] per field, and each enumeration with
/// the field's visibility. It checks at compile time that every field lies
/// inside the register, that no two fields overlap, that every variant's
/// value fits its field, and that an enumeration given bare covers every
/// value of its field (otherwise declare the field `Option<E>`: reading a
/// value without a variant gives `None`).
///
/// A field marked `ro` (after its bits) is read-only: `with` does not take
/// it; a value keeps what was read there through `modify`.
///
/// `Name` gets `get(field)`, `with(field, value)` (a copy with the field
/// set; bits of an integer beyond the field's width are dropped),
/// `is_set(field)` (any of its bits set), `matches(field, value)`, and
/// `new()` (all bits clear), `from_bits`, `bits`. A register of type
/// `ReadPureWrite<Name>` then reads and writes whole values, so
///
/// ```
/// use mmio_types::{FakeDevice, MmioWindow, ReadPure, ReadPureWrite, bitfields, field, register_block};
///
/// bitfields! {
///     /// Line control.
///     pub struct Lcr: u8 {
///         pub WORD_LENGTH: 0..=1 => WordLength { Five = 0, Six = 1, Seven = 2, Eight = 3 },
///         pub TWO_STOP_BITS: 2,
///         pub PARITY: 3..=5 => Option<Parity> { None = 0, Odd = 1, Even = 3 },
///     }
///     /// Line status.
///     pub struct Lsr: u8 {
///         pub DATA_READY: 0,
///         pub THR_EMPTY: 5,
///     }
/// }
/// register_block! {
///     pub struct Uart in 0x1000 {
///         0x0 => pub lcr: ReadPureWrite<Lcr>,
///         0x1 => pub lsr: ReadPure<Lsr>,
///         0x2 => @end,
///     }
/// }
///
/// let (dev, token) = FakeDevice::new(0x1000);
/// let mut window = MmioWindow::<Uart, 0x1000>::from_token(token).unwrap();
/// let mut regs = window.regs();
/// // One write of the whole value.
/// field!(regs, lcr).write(Lcr::new().with(Lcr::WORD_LENGTH, WordLength::Eight));
/// // One read, one write.
/// field!(regs, lcr).modify(|lcr| lcr.with(Lcr::TWO_STOP_BITS, true));
/// assert_eq!(dev.read_u8(0), 0b111);
/// // One read, then any number of fields of the value.
/// let lcr = field!(regs, lcr).read();
/// assert_eq!(lcr.get(Lcr::WORD_LENGTH), WordLength::Eight);
/// assert!(lcr.matches(Lcr::PARITY, Parity::None));
/// dev.write_u8(0, 0b0001_0000); // parity bits 0b010: no variant
/// assert_eq!(field!(regs, lcr).read().get(Lcr::PARITY), None);
/// dev.write_u8(1, 0x20);
/// assert!(field!(regs, lsr).read().is_set(Lsr::THR_EMPTY));
/// ```
#[macro_export]
macro_rules! bitfields {
    ($(
        $(#[$attr:meta])*
        $vis:vis struct $name:ident : $raw:ty { $($body:tt)* }
    )+) => {$(
        $(#[$attr])*
        #[repr(transparent)]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        $vis struct $name($raw);

        impl $name {
            /// The value with every bit clear.
            #[inline(always)]
            pub const fn new() -> Self {
                $name(0)
            }

            /// The value whose bits are `bits`.
            #[inline(always)]
            pub const fn from_bits(bits: $raw) -> Self {
                $name(bits)
            }

            /// The value's bits.
            #[inline(always)]
            pub const fn bits(self) -> $raw {
                self.0
            }

            /// The value of `field`.
            #[inline(always)]
            pub fn get<V: $crate::FieldValue, A>(self, field: $crate::Field<Self, V, A>) -> V {
                field.__get(<$raw as $crate::Raw>::to_u64(self.0))
            }

            /// A copy with `field` (not a read-only one) set to `value`.
            #[inline(always)]
            #[must_use = "`with` returns a new value; write it to the register"]
            pub fn with<V: $crate::FieldValue>(
                self,
                field: $crate::Field<Self, V>,
                value: V::Write,
            ) -> Self {
                $name(<$raw as $crate::Raw>::from_u64(
                    field.__with(<$raw as $crate::Raw>::to_u64(self.0), value),
                ))
            }

            /// Whether any bit of `field` is set.
            #[inline(always)]
            pub fn is_set<V, A>(self, field: $crate::Field<Self, V, A>) -> bool {
                field.__bits(<$raw as $crate::Raw>::to_u64(self.0)) != 0
            }

            /// Whether `field` holds `value`.
            #[inline(always)]
            pub fn matches<V: $crate::FieldValue, A>(
                self,
                field: $crate::Field<Self, V, A>,
                value: V::Write,
            ) -> bool {
                field.__matches(<$raw as $crate::Raw>::to_u64(self.0), value)
            }
        }

        impl $crate::RegisterValue for $name {
            type Raw = $raw;
            #[inline(always)]
            fn from_raw(raw: $raw) -> Self {
                $name(raw)
            }
            #[inline(always)]
            fn into_raw(self) -> $raw {
                self.0
            }
        }

        $crate::__bitfields! { $name $raw [] $($body)* }
    )+};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __bitfields {
    // The end: overlap check and `Debug`.
    ($name:ident $raw:ty [$($f:ident)*] $(,)?) => {
        const _: () = ::core::assert!(
            $crate::__private::disjoint(&[$($name::$f.mask()),*]),
            ::core::concat!("bitfields!: fields of `", ::core::stringify!($name), "` overlap"),
        );

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(::core::stringify!($name))
                    $(.field(::core::stringify!($f), &self.get(Self::$f)))*
                    .finish()
            }
        }
    };
    // A field read as `Option<E>`: not every value has a variant.
    (
        $name:ident $raw:ty [$($f:ident)*]
        $(#[$fa:meta])* $fv:vis $field:ident : $lo:literal $(..= $hi:literal)? $($acc:ident)?
            => Option<$e:ident> { $($(#[$va:meta])* $v:ident = $n:literal),+ $(,)? }
        $(, $($rest:tt)*)?
    ) => {
        $crate::__bitfield_field! {
            $name $raw; $(#[$fa])* $fv $field $lo $($hi)?;
            ::core::option::Option<$e>, $crate::__bitfield_access!($($acc)?)
        }
        $crate::__bitfield_enum! { $name $fv $field $e false $($(#[$va])* $v = $n),+ }
        $crate::__bitfields! { $name $raw [$($f)* $field] $($($rest)*)? }
    };
    // A field read as an enumeration covering every value.
    (
        $name:ident $raw:ty [$($f:ident)*]
        $(#[$fa:meta])* $fv:vis $field:ident : $lo:literal $(..= $hi:literal)? $($acc:ident)?
            => $e:ident { $($(#[$va:meta])* $v:ident = $n:literal),+ $(,)? }
        $(, $($rest:tt)*)?
    ) => {
        $crate::__bitfield_field! {
            $name $raw; $(#[$fa])* $fv $field $lo $($hi)?; $e, $crate::__bitfield_access!($($acc)?)
        }
        $crate::__bitfield_enum! { $name $fv $field $e true $($(#[$va])* $v = $n),+ }

        impl $crate::FieldValue for $e {
            type Write = $e;
            #[inline(always)]
            fn from_field(bits: u64) -> $e {
                // Every value has a variant (checked where the enumeration
                // is declared), so the fallback is never taken for a field's
                // bits; it keeps the conversion total.
                match <$e as $crate::FieldEnum>::try_from_field(bits) {
                    ::core::option::Option::Some(v) => v,
                    ::core::option::Option::None => [$($e::$v),+][0],
                }
            }
            #[inline(always)]
            fn into_field(value: $e) -> u64 {
                <$e as $crate::FieldEnum>::into_field(value)
            }
        }

        $crate::__bitfields! { $name $raw [$($f)* $field] $($($rest)*)? }
    };
    // A plain field: one bit (`bool`) or several (the register's integer).
    (
        $name:ident $raw:ty [$($f:ident)*]
        $(#[$fa:meta])* $fv:vis $field:ident : $lo:literal $(..= $hi:literal)? $($acc:ident)?
        $(, $($rest:tt)*)?
    ) => {
        $crate::__bitfield_field! {
            $name $raw; $(#[$fa])* $fv $field $lo $($hi)?;
            $crate::__bitfield_plain!($raw $(, $hi)?), $crate::__bitfield_access!($($acc)?)
        }
        $crate::__bitfields! { $name $raw [$($f)* $field] $($($rest)*)? }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __bitfield_plain {
    ($raw:ty) => {
        bool
    };
    ($raw:ty, $hi:literal) => {
        $raw
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __bitfield_access {
    () => {
        $crate::FieldRw
    };
    (ro) => {
        $crate::FieldRo
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __bitfield_hi {
    ($lo:literal) => {
        $lo
    };
    ($lo:literal $hi:literal) => {
        $hi
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __bitfield_field {
    ($name:ident $raw:ty; $(#[$fa:meta])* $fv:vis $field:ident $lo:literal $($hi:literal)?; $value:ty, $acc:ty) => {
        impl $name {
            $(#[$fa])*
            $fv const $field: $crate::Field<$name, $value, $acc> = {
                const HI: u32 = $crate::__bitfield_hi!($lo $($hi)?);
                ::core::assert!(
                    $lo <= HI && HI < (::core::mem::size_of::<$raw>() * 8) as u32,
                    ::core::concat!("bitfields!: `", ::core::stringify!($name), "::",
                        ::core::stringify!($field), "` does not lie inside the register"),
                );
                $crate::Field::__new($lo, HI)
            };
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __bitfield_enum {
    ($name:ident $fv:vis $field:ident $e:ident $exhaustive:literal $($(#[$va:meta])* $v:ident = $n:literal),+) => {
        #[doc = ::core::concat!("The values of `", ::core::stringify!($name), "::",
            ::core::stringify!($field), "`.")]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $fv enum $e {
            $($(#[$va])* $v = $n,)+
        }

        const _: () = ::core::assert!(
            $crate::__private::enum_values_fit(&[$($n),+], $name::$field.width()),
            ::core::concat!("bitfields!: a value of `", ::core::stringify!($e),
                "` does not fit in field `", ::core::stringify!($name), "::",
                ::core::stringify!($field), "`"),
        );
        const _: () = ::core::assert!(
            !$exhaustive || $crate::__private::enum_values_cover(
                [$($n),+].len(),
                $name::$field.width(),
            ),
            ::core::concat!("bitfields!: `", ::core::stringify!($e),
                "` does not name every value of field `", ::core::stringify!($name), "::",
                ::core::stringify!($field), "`: declare the field `Option<",
                ::core::stringify!($e), ">` (a value without a variant then reads as `None`)"),
        );

        impl $crate::FieldEnum for $e {
            #[inline(always)]
            fn try_from_field(bits: u64) -> ::core::option::Option<$e> {
                match bits {
                    $($n => ::core::option::Option::Some($e::$v),)+
                    _ => ::core::option::Option::None,
                }
            }
            #[inline(always)]
            fn into_field(self) -> u64 {
                self as u64
            }
        }
    };
}
