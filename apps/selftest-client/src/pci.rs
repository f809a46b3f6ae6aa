//! `pci_info` and `pci_cap` refuse every capability that is not a PCI BAR
//! window, with the documented error, in the documented order.

use nexus_abi::{SysError, sys};

use crate::Check;

/// This task's virtio-mmio window (virtio-rng#0): a device window, but no
/// PCI BAR.
const DEVICE_SLOT: usize = 1;
/// The task capability.
const SELF_SLOT: usize = 0;
/// A slot nothing is granted in.
const EMPTY_SLOT: usize = 30;

fn expect<T>(got: Result<T, SysError>, want: SysError, what: &'static str) -> Check {
    match got {
        Err(e) if e == want => Ok(()),
        _ => Err(what),
    }
}

/// A virtio-mmio window and the task capability are `WrongKind`; an empty
/// slot `EmptySlot`, a slot past the table `BadSlot`.
pub fn deny_not_a_bar() -> Check {
    expect(
        sys::pci_info(DEVICE_SLOT),
        SysError::WrongKind,
        "pci_info of a virtio-mmio window was not refused with WrongKind",
    )?;
    expect(
        sys::pci_cap(DEVICE_SLOT, 0),
        SysError::WrongKind,
        "pci_cap of a virtio-mmio window was not refused with WrongKind",
    )?;
    expect(
        sys::pci_info(SELF_SLOT),
        SysError::WrongKind,
        "pci_info of the task capability was not refused with WrongKind",
    )?;
    expect(
        sys::pci_cap(EMPTY_SLOT, 0),
        SysError::EmptySlot,
        "pci_cap of an empty slot was not refused with EmptySlot",
    )?;
    expect(
        sys::pci_info(32),
        SysError::BadSlot,
        "pci_info of slot 32 was not refused with BadSlot",
    )
}
