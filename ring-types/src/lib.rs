//! Typed shared-memory rings between two programs.
#![doc = include_str!("../README.md")]
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod blk;
mod client;
mod desc;
pub mod dgram;
mod error;
mod layout;
mod ring;
mod server;
pub mod stream;

pub use client::{Buf, Client};
pub use desc::Desc;
pub use error::RingError;
pub use layout::Layout;
pub use server::{Lease, Server};
