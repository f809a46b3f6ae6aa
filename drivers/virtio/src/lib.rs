//! Userspace virtio drivers over typed MMIO windows.
#![no_std]
#![forbid(unsafe_code)]
