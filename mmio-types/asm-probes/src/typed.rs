//! Probes through the typed layer.

use mmio_types::{
    Banked, MmioWindow, ReadPure, ReadPureWrite, Selected, Selector, WriteOnly, bank,
    banked_shared, field, field_shared, register_block,
};

/// Length of the probes' window.
pub const WINDOW_LEN: usize = 0x1000;

register_block! {
    /// The virtio-mmio registers the probes touch, with the same offsets
    /// and access types as the virtio driver's block.
    pub struct ProbeRegs in WINDOW_LEN {
        0x000 => _reserved0,
        0x008 => pub device_id: ReadPure<u32>,
        0x00c => _reserved1,
        0x030 => pub queue_sel: Selector<WriteOnly<u32>>,
        0x034 => pub queue_num_max: Banked<QueueBank, ReadPure<u32>>,
        0x038 => _reserved2,
        0x050 => pub queue_notify: WriteOnly<u32>,
        0x054 => _reserved3,
        0x070 => pub status: ReadPureWrite<u32>,
        0x074 => _reserved4,
        0x0fc => pub config_generation: ReadPure<u32>,
        0x100 => @end,
    }
}

bank!(
    /// `QueueSel`.
    pub QueueBank: ProbeRegs.queue_sel as u32
);

register_block! {
    /// The start of virtio-blk's configuration space.
    pub struct ProbeBlkConfig at 0x100 in WINDOW_LEN {
        0x0 => pub capacity_low: ReadPure<u32>,
        0x4 => pub capacity_high: ReadPure<u32>,
        0x8 => @end,
    }
}

/// The probes' window type.
pub type ProbeWindow = MmioWindow<ProbeRegs, WINDOW_LEN>;

/// Reads `DeviceID` (0x008).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_read32_typed(window: ProbeWindow) -> u32 {
    field_shared!(window.regs_shared(), device_id).read()
}

/// Writes `QueueNotify` (0x050).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_write32_typed(mut window: ProbeWindow, queue: u16) {
    let mut regs = window.regs();
    field!(regs, queue_notify).write(u32::from(queue));
}

/// Sets `DRIVER_OK` in `Status` (0x070) by read-modify-write.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_status_rmw_typed(mut window: ProbeWindow) {
    let mut regs = window.regs();
    field!(regs, status).modify(|s| s | 4);
}

/// Selects queue `queue` (0x030) and reads its `QueueNumMax` (0x034).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_queue_num_max_typed(mut window: ProbeWindow, queue: u16) -> u32 {
    let queue = Selected::<QueueBank>::new(window.regs(), u32::from(queue));
    banked_shared!(queue, queue_num_max).read()
}

/// Reads the blk capacity (0x100, 0x104) inside the `ConfigGeneration` (0x0fc) loop.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn probe_blk_capacity_typed(window: ProbeWindow) -> u64 {
    let regs = window.regs_shared();
    let cfg = window.sub_shared::<ProbeBlkConfig, 0x100>();
    loop {
        let before = field_shared!(regs, config_generation).read();
        let low = field_shared!(cfg, capacity_low).read();
        let high = field_shared!(cfg, capacity_high).read();
        if field_shared!(regs, config_generation).read() == before {
            return u64::from(high) << 32 | u64::from(low);
        }
    }
}
