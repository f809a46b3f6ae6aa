//! The same probes written with tock-registers and volatile-register.
//!
//! Both crates reach registers through Rust references to the register
//! struct (`&Regs`), which this project does not do on device memory; they
//! are here only to compare the generated code.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};
use volatile_register::{RO, RW, WO};

register_structs! {
    /// The virtio-mmio registers the probes touch, tock-registers style.
    pub TockRegs {
        (0x000 => _reserved0),
        (0x008 => device_id: ReadOnly<u32>),
        (0x00c => _reserved1),
        (0x030 => queue_sel: WriteOnly<u32>),
        (0x034 => queue_num_max: ReadOnly<u32>),
        (0x038 => _reserved2),
        (0x050 => queue_notify: WriteOnly<u32>),
        (0x054 => _reserved3),
        (0x070 => status: ReadWrite<u32>),
        (0x074 => _reserved4),
        (0x100 => @END),
    }
}

/// The virtio-mmio registers the probes touch, volatile-register style.
#[repr(C)]
pub struct VolatileRegs {
    _reserved0: [u32; 2],
    device_id: RO<u32>,
    _reserved1: [u32; 9],
    queue_sel: WO<u32>,
    queue_num_max: RO<u32>,
    _reserved2: [u32; 6],
    queue_notify: WO<u32>,
    _reserved3: [u32; 7],
    status: RW<u32>,
}

const _: () = {
    assert!(core::mem::offset_of!(VolatileRegs, device_id) == 0x008);
    assert!(core::mem::offset_of!(VolatileRegs, queue_sel) == 0x030);
    assert!(core::mem::offset_of!(VolatileRegs, queue_num_max) == 0x034);
    assert!(core::mem::offset_of!(VolatileRegs, queue_notify) == 0x050);
    assert!(core::mem::offset_of!(VolatileRegs, status) == 0x070);
};

/// Reads `DeviceID` (0x008).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_read32_tock(regs: &TockRegs) -> u32 {
    regs.device_id.get()
}

/// Writes `QueueNotify` (0x050).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_write32_tock(regs: &TockRegs, queue: u16) {
    regs.queue_notify.set(u32::from(queue));
}

/// Sets `DRIVER_OK` in `Status` (0x070) by read-modify-write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_status_rmw_tock(regs: &TockRegs) {
    regs.status.set(regs.status.get() | 4);
}

/// Selects queue `queue` (0x030) and reads its `QueueNumMax` (0x034).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_queue_num_max_tock(regs: &TockRegs, queue: u16) -> u32 {
    regs.queue_sel.set(u32::from(queue));
    regs.queue_num_max.get()
}

/// Reads `DeviceID` (0x008).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_read32_volatile_register(regs: &VolatileRegs) -> u32 {
    regs.device_id.read()
}

/// Writes `QueueNotify` (0x050).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_write32_volatile_register(regs: &VolatileRegs, queue: u16) {
    // SAFETY: `QueueNotify` accepts any queue index; writing it has no effect on memory safety.
    unsafe { regs.queue_notify.write(u32::from(queue)) }
}

/// Sets `DRIVER_OK` in `Status` (0x070) by read-modify-write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_status_rmw_volatile_register(regs: &VolatileRegs) {
    // SAFETY: setting `DRIVER_OK` has no effect on memory safety.
    unsafe { regs.status.modify(|s| s | 4) }
}

/// Selects queue `queue` (0x030) and reads its `QueueNumMax` (0x034).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_queue_num_max_volatile_register(regs: &VolatileRegs, queue: u16) -> u32 {
    // SAFETY: selecting a queue has no effect on memory safety.
    unsafe { regs.queue_sel.write(u32::from(queue)) };
    regs.queue_num_max.read()
}
