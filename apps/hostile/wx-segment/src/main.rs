//! Hostile: a program whose code is writable (its one segment is R+W+X).
//! Expected: the loader refuses it with a W^X message and it never runs.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

nexus_abi::entry!(main);

fn main() -> i32 {
    nexus_abi::println!("wx-segment: running with writable code: the loader did not stop me");
    0
}
