//! Probes through the typed layer.

use mmio_types::field;
use nexus_virtio::{DeviceStatus, VirtioMmioWindow, VirtioRegs, VirtioRegsRead, blk};

/// Reads `DeviceID` (0x008).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_read32_typed(window: VirtioMmioWindow) -> u32 {
    window.regs_shared().device_id()
}

/// Writes `QueueNotify` (0x050).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_write32_typed(mut window: VirtioMmioWindow, queue: u16) {
    window.regs().notify(queue);
}

/// Sets `DRIVER_OK` in `Status` (0x070) by read-modify-write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_status_rmw_typed(mut window: VirtioMmioWindow) {
    let mut regs = window.regs();
    field!(regs, status).modify(|s| s | DeviceStatus::DRIVER_OK.bits());
}

/// Selects queue `queue` (0x030) and reads its `QueueNumMax` (0x034).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_queue_num_max_typed(mut window: VirtioMmioWindow, queue: u16) -> u32 {
    window.regs().select_queue(queue).num_max()
}

/// Reads the blk capacity (0x100, 0x104) inside the `ConfigGeneration` (0x0fc) loop.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_blk_capacity_typed(window: VirtioMmioWindow) -> u64 {
    blk::capacity(&window)
}
