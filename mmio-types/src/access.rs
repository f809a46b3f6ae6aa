//! Register types: the access rights of one register, in its type.
//!
//! Each type is `#[repr(transparent)]` over the register's raw integer and
//! has no public field: the only way to touch it is a read or write method
//! of a [`UniqueMmioPointer`](crate::UniqueMmioPointer) or
//! [`SharedMmioPointer`](crate::SharedMmioPointer) to it, and which methods
//! exist follows from the type:
//!
//! | Type | Read through a unique pointer | Read through a shared pointer | Write |
//! |---|---|---|---|
//! | [`ReadPure<T>`] | yes | yes (no side effects) | no |
//! | [`ReadOnly<T>`] | yes (side effects) | no | no |
//! | [`WriteOnly<T>`] | no | no | yes |
//! | [`ReadWrite<T>`] | yes (side effects) | no | yes |
//! | [`ReadPureWrite<T>`] | yes | yes (no side effects) | yes |
//! | [`ReadOnlyWriteOnly<R, W>`] | yes, as `R` (side effects) | no | yes, as `W` |

use core::marker::PhantomData;

use crate::value::RegisterValue;

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A register type that can be read: the value a read returns.
pub trait Readable: sealed::Sealed {
    /// What a read returns.
    type Read: RegisterValue;
}

/// A register type whose reads have no side effects, so that they are
/// allowed through a shared pointer.
pub trait PureReadable: Readable {}

/// A register type that can be written: the value a write takes.
pub trait Writable: sealed::Sealed {
    /// What a write takes.
    type Write: RegisterValue;
}

macro_rules! wrapper {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[repr(transparent)]
        pub struct $name<T: RegisterValue>(T::Raw, PhantomData<T>);
        impl<T: RegisterValue> sealed::Sealed for $name<T> {}
    };
}

wrapper!(
    /// A register whose reads have no side effects and which cannot be written.
    ReadPure
);
wrapper!(
    /// A read-only register whose reads may have side effects (pop a FIFO,
    /// clear a status): read only through a unique pointer.
    ReadOnly
);
wrapper!(
    /// A write-only register.
    WriteOnly
);
wrapper!(
    /// A read-write register whose reads may have side effects.
    ReadWrite
);
wrapper!(
    /// A read-write register whose reads have no side effects.
    ReadPureWrite
);

/// A register that reads as one thing and is written as another at the same
/// address, such as the 16550's RBR/THR or IIR/FCR. Reads may have side
/// effects.
#[repr(transparent)]
pub struct ReadOnlyWriteOnly<R: RegisterValue, W: RegisterValue<Raw = R::Raw>>(
    R::Raw,
    PhantomData<(R, W)>,
);
impl<R: RegisterValue, W: RegisterValue<Raw = R::Raw>> sealed::Sealed for ReadOnlyWriteOnly<R, W> {}

macro_rules! readable {
    ($($name:ident),*) => {$(
        impl<T: RegisterValue> Readable for $name<T> {
            type Read = T;
        }
    )*};
}
readable!(ReadPure, ReadOnly, ReadWrite, ReadPureWrite);

impl<T: RegisterValue> PureReadable for ReadPure<T> {}
impl<T: RegisterValue> PureReadable for ReadPureWrite<T> {}

macro_rules! writable {
    ($($name:ident),*) => {$(
        impl<T: RegisterValue> Writable for $name<T> {
            type Write = T;
        }
    )*};
}
writable!(WriteOnly, ReadWrite, ReadPureWrite);

impl<R: RegisterValue, W: RegisterValue<Raw = R::Raw>> Readable for ReadOnlyWriteOnly<R, W> {
    type Read = R;
}

impl<R: RegisterValue, W: RegisterValue<Raw = R::Raw>> Writable for ReadOnlyWriteOnly<R, W> {
    type Write = W;
}

/// Bytes of a register block that are not registers: no accessors at all.
///
/// [`register_block!`](crate::register_block) gives this type to every
/// entry without a type (`0x18 => _reserved,`); a register type can never
/// be given to a reserved entry.
#[repr(C)]
pub struct Reserved<const N: usize>([u8; N]);
