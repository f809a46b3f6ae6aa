//! The TCP services as a task of netd's stream channel, pure and
//! host-tested: TCP echo on port 7 and HTTP/1.1 on port 80, served as the
//! client end of `ring_types::stream`. netd owns the sockets; this code
//! holds connection ids and buffers and decides what to send.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod http;
mod page;
mod services;

pub use page::TaskInfo;
pub use services::{ECHO_PORT, HTTP_PORT, ServiceError, ServiceStats, Services};
