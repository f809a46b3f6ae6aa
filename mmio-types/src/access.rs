//! Register access types: raw-pointer handles and per-register access rights.
//!
//! These come from `safe-mmio`: a [`UniqueMmioPointer`] behaves like `&mut`
//! to device memory and allows every access its register type permits; a
//! [`SharedMmioPointer`] behaves like `&` and allows only pure reads. Neither
//! ever creates a Rust reference to the device memory.

pub use safe_mmio::fields::{ReadOnly, ReadPure, ReadPureWrite, ReadWrite, WriteOnly};
pub use safe_mmio::{SharedMmioPointer, UniqueMmioPointer, field, field_shared};
