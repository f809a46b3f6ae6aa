//! `netd`'s network code, pure and host-tested: the virtio-net driver as a
//! smoltcp device, the stack with its UDP echo, and the relays through
//! which service tasks answer ports of their own (datagrams and streams).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod device;
pub mod handoff;
pub mod relay;
pub mod stack;
pub mod stream;

pub use stack::{Address, Events, Netd, Source, Storage, SystemInfo};
