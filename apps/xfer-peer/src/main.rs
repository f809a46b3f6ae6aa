//! `xfer-peer`: receives a device window from `selftest-client` at run
//! time (`cap_transfer` over their channel), maps it and reads the
//! device's identity through it; once the sender revokes it, checks that
//! the copy and its mapping are gone. Reports each step in the shared page.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::notify::NO_DEADLINE;
use nexus_abi::{CapKind, CapRights, MapProt, SysError, println, sys};
use nexus_virtio::mmio::MAGIC;
use nexus_virtio::{VirtioMmioWindow, VirtioRegsRead};

nexus_abi::entry!(main);

/// Where system.toml puts the channel to selftest-client.
const CHANNEL_SLOT: usize = 1;
/// The bit selftest-client's signals raise here.
const CHANNEL_BIT: u32 = 1;
/// Byte offsets in the shared page (as in selftest-client).
const SLOT_AT: usize = 0;
const REPORT_AT: usize = 64;
const MAPPED: u32 = 1;
const GONE: u32 = 2;
const FAILED: u32 = 0xdead;

fn main() -> i32 {
    let Ok(token) = sys::channel_map(CHANNEL_SLOT) else {
        println!("xfer-peer: FAIL cannot map the channel");
        return 1;
    };
    let mut mem = DmaRegion::new(token);
    let result = run(&mut mem);
    let report = match result {
        Ok(()) => return 0,
        Err(why) => {
            println!("xfer-peer: FAIL {why}");
            FAILED
        }
    };
    let _ = mem.write::<u32>(REPORT_AT, report);
    let _ = sys::channel_signal(CHANNEL_SLOT);
    1
}

fn report(mem: &mut DmaRegion, what: u32) -> Result<(), &'static str> {
    mem.write::<u32>(REPORT_AT, what)
        .map_err(|_| "the channel is too small")?;
    sys::channel_signal(CHANNEL_SLOT).map_err(|_| "signalling failed")
}

fn run(mem: &mut DmaRegion) -> Result<(), &'static str> {
    // The sender writes the slot it gave (plus one); until then, wait.
    let slot = loop {
        let v = mem
            .read::<u32>(SLOT_AT)
            .map_err(|_| "the channel is too small")?;
        if v != 0 {
            break v as usize - 1;
        }
        sys::wait(1 << CHANNEL_BIT, NO_DEADLINE).map_err(|_| "wait failed")?;
    };
    // What arrived is untrusted until checked: a device window with only
    // the rights the sender chose.
    let info = sys::cap_info(slot).map_err(|_| "no capability in the announced slot")?;
    if info.kind != CapKind::DeviceMmio || info.len != 0x1000 {
        return Err("the announced slot is not a one-page device window");
    }
    if info.rights != CapRights::READ | CapRights::MAP {
        return Err("the copy does not carry exactly the rights sent");
    }
    if sys::mmio_map(slot, MapProt::RW).err() != Some(SysError::RightsExceeded) {
        return Err("a read-only copy mapped writable");
    }
    let token = sys::mmio_map(slot, MapProt::READ).map_err(|_| "mapping the copy failed")?;
    let base = token.base();
    let window = VirtioMmioWindow::from_token(token).map_err(|_| "not one 4 KiB window")?;
    if window.regs_shared().magic_value() != MAGIC {
        return Err("the window does not read as a virtio device");
    }
    println!("xfer-peer: received a device window in slot {slot}, mapped it, read MagicValue");
    report(mem, MAPPED)?;
    // Wait until the sender has revoked it: the slot empties.
    let deadline = sys::time().saturating_add(50_000_000);
    while sys::cap_info(slot).is_ok() {
        match sys::wait(1 << CHANNEL_BIT, deadline) {
            Ok(_) => {}
            Err(SysError::TimedOut) => return Err("the copy was never revoked"),
            Err(_) => return Err("wait failed"),
        }
    }
    // Its pages went with it; the token is given up unused (touching the
    // address would fault).
    let _ = window.unmap().into_raw();
    if sys::vm_query(base) != Err(SysError::NotMapped) {
        return Err("the copy's mapping survived revocation");
    }
    println!("xfer-peer: the copy and its mapping are gone");
    report(mem, GONE)
}
