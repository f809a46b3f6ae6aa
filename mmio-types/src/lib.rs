//! Typed MMIO windows over kernel-granted device mappings.
#![doc = include_str!("../README.md")]
#![no_std]

pub mod access;
pub mod banked;
pub mod block;
pub mod dma;
#[cfg(feature = "fake-device")]
pub mod fake;
#[cfg(feature = "fake-device")]
pub mod fake_dma;
#[doc(hidden)]
pub mod layout;
pub mod sub;
pub mod token;
pub mod window;

pub use access::{
    ReadOnly, ReadPure, ReadPureWrite, ReadWrite, SharedMmioPointer, UniqueMmioPointer, WriteOnly,
    field, field_shared,
};
pub use banked::{Bank, Banked, Selected};
pub use block::{
    BlockFits, PageAligned, PageSize, RegisterBlock, RegisterField, SubAligned, SubInRange,
    SubWindowAt, WindowFor,
};
pub use dma::{DmaError, DmaRegion, DmaScalar, DmaToken};
#[cfg(feature = "fake-device")]
pub use fake::FakeDevice;
#[cfg(feature = "fake-device")]
pub use fake_dma::FakeDma;
pub use token::MapToken;
pub use window::{LengthMismatch, MmioWindow};

/// Type-level numbers used for window lengths and sub-window offsets.
pub use typenum;
