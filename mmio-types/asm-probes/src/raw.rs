//! Probes with `read_volatile`/`write_volatile` on the window's address: the floor.

use crate::typed::ProbeWindow;

/// The address of the register at `offset` in `window`.
fn reg(window: &ProbeWindow, offset: usize) -> *mut u32 {
    (window.base() + offset) as *mut u32
}

/// Reads `DeviceID` (0x008).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_read32_raw(window: ProbeWindow) -> u32 {
    // SAFETY: the window maps 4 KiB of device registers; 0x008 is an aligned
    // 32-bit register inside it.
    unsafe { reg(&window, 0x008).read_volatile() }
}

/// Writes `QueueNotify` (0x050).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_write32_raw(window: ProbeWindow, queue: u16) {
    // SAFETY: as above, 0x050 is an aligned 32-bit register in the window.
    unsafe { reg(&window, 0x050).write_volatile(u32::from(queue)) }
}

/// Sets `DRIVER_OK` in `Status` (0x070) by read-modify-write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_status_rmw_raw(window: ProbeWindow) {
    let status = reg(&window, 0x070);
    // SAFETY: as above, 0x070 is an aligned 32-bit register in the window.
    unsafe { status.write_volatile(status.read_volatile() | 4) }
}

/// Selects queue `queue` (0x030) and reads its `QueueNumMax` (0x034).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_queue_num_max_raw(window: ProbeWindow, queue: u16) -> u32 {
    // SAFETY: as above, 0x030 and 0x034 are aligned 32-bit registers in the window.
    unsafe {
        reg(&window, 0x030).write_volatile(u32::from(queue));
        reg(&window, 0x034).read_volatile()
    }
}

/// Reads the blk capacity (0x100, 0x104) inside the `ConfigGeneration` (0x0fc) loop.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_blk_capacity_raw(window: ProbeWindow) -> u64 {
    // SAFETY: as above, 0x0fc, 0x100 and 0x104 are aligned 32-bit registers in the window.
    unsafe {
        loop {
            let before = reg(&window, 0x0fc).read_volatile();
            let low = reg(&window, 0x100).read_volatile();
            let high = reg(&window, 0x104).read_volatile();
            if reg(&window, 0x0fc).read_volatile() == before {
                return u64::from(high) << 32 | u64::from(low);
            }
        }
    }
}
