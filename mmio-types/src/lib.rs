//! Typed MMIO windows over kernel-granted device mappings.
#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]

#[cfg(feature = "fake-device")]
extern crate std;

pub mod access;
pub mod banked;
pub mod bitfield;
pub mod block;
pub mod dma;
#[cfg(feature = "fake-device")]
pub mod fake;
#[cfg(feature = "fake-device")]
pub mod fake_dma;
mod io;
mod layout;
pub mod pointer;
#[cfg(feature = "fake-device")]
pub mod scripted;
pub mod token;
pub mod value;
pub mod window;

pub use access::{
    PureReadable, ReadOnly, ReadOnlyWriteOnly, ReadPure, ReadPureWrite, ReadWrite, Readable,
    Reserved, Writable, WriteOnly,
};
pub use banked::{Bank, Banked, OverlayBank, Selected, Selector, Unbanked};
pub use bitfield::{Field, FieldEnum, FieldRo, FieldRw, FieldValue};
pub use block::{FitsAt, PAGE_SIZE, RegisterBlock, RegisterField};
pub use dma::{DmaError, DmaRegion, DmaScalar, DmaToken};
#[cfg(feature = "fake-device")]
pub use fake::FakeDevice;
#[cfg(feature = "fake-device")]
pub use fake_dma::{FakeDma, FakeDmaError};
pub use pointer::{SharedMmioPointer, UniqueMmioPointer};
#[cfg(feature = "fake-device")]
pub use scripted::{Access, Op, ScriptedDevice};
pub use token::MapToken;
pub use value::{Raw, RegisterValue};
pub use window::{LengthMismatch, MmioWindow};

/// What the macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::banked::{OverlayOf, bank_values_ok, overlay_view, selector_mask};
    pub use crate::bitfield::{disjoint, enum_values_cover, enum_values_fit};
    pub use crate::layout::{NotDeref, fits_at, max, register_placement_ok};
    pub use crate::pointer::Project;
}
