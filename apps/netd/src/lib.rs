//! `netd`'s protocol code, pure and host-tested: the DHCP discover it sends
//! and the offer it waits for.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod dhcp;
