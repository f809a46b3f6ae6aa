//! `netd`'s network code, pure and host-tested: the virtio-net driver as a
//! smoltcp device, the stack with its echo and HTTP services, and the HTTP
//! protocol part.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod device;
pub mod http;
pub mod relay;
pub mod stack;
pub mod text;

pub use stack::{Address, Events, Netd, Source, Storage, SystemInfo};
