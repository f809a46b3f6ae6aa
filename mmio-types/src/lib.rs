//! Typed MMIO windows over kernel-granted device mappings.
#![no_std]
