//! Probe functions for `cargo xtask asm-check`.
#![no_std]
