//! The device-access checks: map, the refusals, unmap and revoke, each
//! against the documented error code.

use mmio_types::MapToken;
use nexus_abi::{CapKind, CapRights, MapProt, SysError, sys};
use nexus_virtio::mmio::{MAGIC, VERSION_MODERN};
use nexus_virtio::{VirtioMmioWindow, VirtioRegsRead};

use crate::Check;

/// Where system.toml puts this task's device capability.
const DEVICE_SLOT: usize = 1;
/// What system.toml grants in that slot: virtio-rng#0 (DeviceID 4).
const GRANTED_DEVICE_ID: u32 = 4;
/// A slot nothing is granted in.
const EMPTY_SLOT: usize = 9;
/// Slot 0: the task's own capability, not a device.
const SELF_SLOT: usize = 0;
/// The granted window's length.
const WINDOW: usize = 0x1000;

fn expect<T>(got: Result<T, SysError>, want: SysError, what: &'static str) -> Check {
    match got {
        Err(e) if e == want => Ok(()),
        _ => Err(what),
    }
}

/// Wraps a token in the typed virtio window, giving the token back to be
/// unmapped on a length mismatch so nothing stays mapped.
fn window(token: MapToken) -> Result<VirtioMmioWindow, &'static str> {
    VirtioMmioWindow::from_token(token).map_err(|e| {
        let _ = sys::mmio_unmap(e.into_token());
        "the mapping is not one 4 KiB window"
    })
}

/// Reads MagicValue, Version and DeviceID through the typed handle.
fn check_identity(w: &VirtioMmioWindow) -> Check {
    let regs = w.regs_shared();
    if regs.magic_value() != MAGIC {
        return Err("MagicValue is not 0x74726976");
    }
    if regs.version() != VERSION_MODERN {
        return Err("Version is not 2 (modern transport)");
    }
    if regs.device_id() != GRANTED_DEVICE_ID {
        return Err("DeviceID is not the granted class (virtio-rng)");
    }
    Ok(())
}

fn release(w: VirtioMmioWindow) -> Check {
    sys::mmio_unmap(w.unmap()).map_err(|_| "mmio_unmap of a live mapping failed")
}

/// Maps the granted window, checks it is what was granted, readable and
/// writable but never executable, and reads the device's identity through
/// `MmioWindow<VirtioMmioRegs, 0x1000>`.
pub fn map() -> Check {
    let info = sys::cap_info(DEVICE_SLOT).map_err(|_| "cap_info of the device slot failed")?;
    if info.kind != CapKind::DeviceMmio || info.len != WINDOW {
        return Err("the device slot does not hold a 4 KiB device capability");
    }
    let token = sys::mmio_map(DEVICE_SLOT, MapProt::RW).map_err(|_| "mmio_map failed")?;
    let base = token.base();
    let w = window(token)?;
    let checked = check_identity(&w).and_then(|()| match sys::vm_query(base) {
        Ok(p) if p == MapProt::RW => Ok(()),
        _ => Err("the window is not mapped exactly read-write (no execute)"),
    });
    release(w)?;
    checked
}

/// Execute is refused for device memory, alone or with read/write; so is
/// the reserved write-only encoding.
pub fn deny_exec() -> Check {
    expect(
        sys::mmio_map(DEVICE_SLOT, MapProt::READ | MapProt::EXEC),
        SysError::ExecNotAllowed,
        "read+execute was not refused with ExecNotAllowed",
    )?;
    expect(
        sys::mmio_map(DEVICE_SLOT, MapProt::RW | MapProt::EXEC),
        SysError::ExecNotAllowed,
        "read+write+execute was not refused with ExecNotAllowed",
    )?;
    expect(
        sys::mmio_map(DEVICE_SLOT, MapProt::WRITE),
        SysError::WriteOnly,
        "write-only was not refused with WriteOnly",
    )
}

/// No capability, no mapping: an empty slot and a slot past the table.
pub fn deny_no_cap() -> Check {
    expect(
        sys::mmio_map(EMPTY_SLOT, MapProt::READ),
        SysError::EmptySlot,
        "an empty slot was not refused with EmptySlot",
    )?;
    expect(
        sys::mmio_map(usize::MAX, MapProt::READ),
        SysError::BadSlot,
        "a slot past the table was not refused with BadSlot",
    )
}

/// A capability that is not a device capability cannot be mapped.
pub fn deny_wrong_kind() -> Check {
    match sys::cap_info(SELF_SLOT) {
        Ok(info) if info.kind == CapKind::Task => {}
        _ => return Err("slot 0 does not hold the task capability"),
    }
    expect(
        sys::mmio_map(SELF_SLOT, MapProt::READ),
        SysError::WrongKind,
        "the task capability was not refused with WrongKind",
    )
}

/// A read-only derived capability cannot be mapped writable, nor give
/// rights back by deriving again.
pub fn deny_rights() -> Check {
    let ro = sys::cap_derive(DEVICE_SLOT, 0, WINDOW, CapRights::READ | CapRights::MAP)
        .map_err(|_| "deriving a read-only capability failed")?;
    let result = expect(
        sys::mmio_map(ro, MapProt::RW),
        SysError::RightsExceeded,
        "read-write through a read-only capability was not refused with RightsExceeded",
    )
    .and_then(|()| {
        expect(
            sys::cap_derive(ro, 0, WINDOW, CapRights::all()),
            SysError::RightsExceeded,
            "deriving more rights was not refused with RightsExceeded",
        )
    })
    .and_then(|()| match sys::cap_info(ro) {
        Ok(i) if i.rights == CapRights::READ | CapRights::MAP => Ok(()),
        _ => Err("the derived capability does not carry exactly READ|MAP"),
    });
    sys::cap_revoke(DEVICE_SLOT).map_err(|_| "cap_revoke failed")?;
    result
}

/// Derivation stays inside the window: past the end, offsets past it, and
/// an overflowing `offset + len` are refused.
pub fn deny_out_of_window() -> Check {
    // Every right the window has, so only the range can be at fault.
    let all = sys::cap_info(DEVICE_SLOT)
        .map_err(|_| "cap_info of the device slot failed")?
        .rights;
    expect(
        sys::cap_derive(DEVICE_SLOT, 0, 2 * WINDOW, all),
        SysError::OutOfWindow,
        "a sub-window past the end was not refused with OutOfWindow",
    )?;
    expect(
        sys::cap_derive(DEVICE_SLOT, WINDOW, WINDOW, all),
        SysError::OutOfWindow,
        "an offset at the end was not refused with OutOfWindow",
    )?;
    expect(
        sys::cap_derive(DEVICE_SLOT, usize::MAX & !0xfff, 2 * WINDOW, all),
        SysError::Overflow,
        "an overflowing offset + len was not refused with Overflow",
    )?;
    expect(
        sys::cap_derive(DEVICE_SLOT, 0x80, WINDOW, all),
        SysError::Unaligned,
        "an unaligned offset was not refused with Unaligned",
    )
}

/// After unmap the address is no longer mapped, and the capability can be
/// mapped again.
pub fn unmap() -> Check {
    let token = sys::mmio_map(DEVICE_SLOT, MapProt::READ).map_err(|_| "mmio_map failed")?;
    let base = token.base();
    if sys::vm_query(base) != Ok(MapProt::READ) {
        let _ = sys::mmio_unmap(token);
        return Err("the read-only mapping is not readable-only");
    }
    sys::mmio_unmap(token).map_err(|_| "mmio_unmap failed")?;
    if sys::vm_query(base) != Err(SysError::NotMapped) {
        return Err("the address is still mapped after mmio_unmap");
    }
    let again = sys::mmio_map(DEVICE_SLOT, MapProt::READ).map_err(|_| "mapping again failed")?;
    sys::mmio_unmap(again).map_err(|_| "second mmio_unmap failed")
}

/// Revoking a capability unmaps every mapping made through capabilities
/// derived from it, and deletes them.
pub fn revoke() -> Check {
    let child = sys::cap_derive(
        DEVICE_SLOT,
        0,
        WINDOW,
        CapRights::READ | CapRights::MAP | CapRights::DERIVE,
    )
    .map_err(|_| "deriving a child failed")?;
    let grandchild = sys::cap_derive(child, 0, WINDOW, CapRights::READ | CapRights::MAP)
        .map_err(|_| "deriving a grandchild failed")?;
    let token =
        sys::mmio_map(grandchild, MapProt::READ).map_err(|_| "mapping the grandchild failed")?;
    let base = token.base();
    let w = window(token)?;
    check_identity(&w)?;
    if sys::cap_revoke(DEVICE_SLOT) != Ok(()) {
        return Err("cap_revoke failed");
    }
    // The window's pages are gone: its token is given up without an unmap
    // call (there is nothing left to unmap).
    let _ = w.unmap().into_raw();
    if sys::vm_query(base) != Err(SysError::NotMapped) {
        return Err("a mapping made through a derived capability survived revoke");
    }
    for slot in [child, grandchild] {
        if sys::cap_info(slot) != Err(SysError::EmptySlot) {
            return Err("a derived capability survived revoke");
        }
    }
    if sys::cap_info(DEVICE_SLOT).is_err() {
        return Err("revoke deleted the capability itself");
    }
    Ok(())
}
