//! `netd`: the userspace virtio-net driver task. Granted the net window
//! alone, it brings the device up and proves frames really move: it asks
//! the network for an address with DHCP and prints the success marker only
//! after an offer for its own transaction came back.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]
#![forbid(unsafe_code)]

#[cfg(target_os = "none")]
mod task;

/// On the host only the protocol library (`netd::dhcp`) is built and tested.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("netd runs on NEURON: use `cargo xtask run`");
    std::process::exit(2);
}
