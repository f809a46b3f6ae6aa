//! Selector-banked virtio registers and the guards that reach them.
//!
//! `QueueSel`, `DeviceFeaturesSel`, `DriverFeaturesSel` and `SHMSel` change
//! what other registers mean. Each selector is a [`Bank`]; selecting writes
//! the selector and returns a guard that holds the unique borrow of the
//! register block, so the selection cannot change under the guard's feet.

use mmio_types::{Selected, UniqueMmioPointer, bank, banked, banked_shared};

use crate::mmio::VirtioMmioRegs;

bank!(
    /// Registers selected by `QueueSel`.
    pub QueueBank: VirtioMmioRegs.queue_sel as u32
);

bank!(
    /// `DeviceFeatures`, selected by `DeviceFeaturesSel`.
    pub DeviceFeaturesBank: VirtioMmioRegs.device_features_sel as u32
);

bank!(
    /// `DriverFeatures`, selected by `DriverFeaturesSel`.
    pub DriverFeaturesBank: VirtioMmioRegs.driver_features_sel as u32
);

bank!(
    /// Shared memory region registers, selected by `SHMSel`.
    pub ShmBank: VirtioMmioRegs.shm_sel as u32
);

/// The registers of one selected virtqueue.
#[derive(Debug)]
pub struct QueueRegs<'a>(Selected<'a, QueueBank>);

impl<'a> QueueRegs<'a> {
    /// Selects queue `queue` (writes `QueueSel`).
    #[inline]
    pub fn select(block: UniqueMmioPointer<'a, VirtioMmioRegs>, queue: u16) -> Self {
        QueueRegs(Selected::new(block, u32::from(queue)))
    }

    /// Index of the selected queue.
    #[inline]
    pub fn index(&self) -> u16 {
        // The index was written from a `u16`.
        self.0.index() as u16
    }

    /// `QueueNumMax`: the largest queue size the device supports; 0 means
    /// the queue does not exist.
    #[inline]
    pub fn num_max(&self) -> u32 {
        banked_shared!(self.0, queue_num_max).read()
    }

    /// Writes `QueueNum`, the queue size the driver will use.
    #[inline]
    pub fn set_num(&mut self, num: u32) {
        banked!(self.0, queue_num).write(num);
    }

    /// Reads `QueueReady`.
    #[inline]
    pub fn ready(&self) -> bool {
        banked_shared!(self.0, queue_ready).read() & 1 != 0
    }

    /// Writes `QueueReady`.
    #[inline]
    pub fn set_ready(&mut self, ready: bool) {
        banked!(self.0, queue_ready).write(u32::from(ready));
    }

    /// Writes the descriptor area's physical address (`QueueDescLow/High`).
    #[inline]
    pub fn set_desc_area(&mut self, addr: u64) {
        banked!(self.0, queue_desc_low).write(addr as u32);
        banked!(self.0, queue_desc_high).write((addr >> 32) as u32);
    }

    /// Writes the driver area's physical address (`QueueDriverLow/High`).
    #[inline]
    pub fn set_driver_area(&mut self, addr: u64) {
        banked!(self.0, queue_driver_low).write(addr as u32);
        banked!(self.0, queue_driver_high).write((addr >> 32) as u32);
    }

    /// Writes the device area's physical address (`QueueDeviceLow/High`).
    #[inline]
    pub fn set_device_area(&mut self, addr: u64) {
        banked!(self.0, queue_device_low).write(addr as u32);
        banked!(self.0, queue_device_high).write((addr >> 32) as u32);
    }

    /// Reads `QueueReset` (1 while a reset of this queue is in progress).
    #[inline]
    pub fn reset_pending(&self) -> bool {
        banked_shared!(self.0, queue_reset).read() & 1 != 0
    }

    /// Writes 1 to `QueueReset`, resetting this queue
    /// (needs `VIRTIO_F_RING_RESET`).
    #[inline]
    pub fn reset(&mut self) {
        banked!(self.0, queue_reset).write(1);
    }

    /// The underlying guard, for direct [`banked!`] access.
    #[inline]
    pub fn selected(&mut self) -> &mut Selected<'a, QueueBank> {
        &mut self.0
    }
}

/// One selected 32-bit word of the device's feature bits.
#[derive(Debug)]
pub struct DeviceFeatureWord<'a>(Selected<'a, DeviceFeaturesBank>);

impl<'a> DeviceFeatureWord<'a> {
    /// Selects feature word `word` (bits `32 * word ..`; writes `DeviceFeaturesSel`).
    #[inline]
    pub fn select(block: UniqueMmioPointer<'a, VirtioMmioRegs>, word: u32) -> Self {
        DeviceFeatureWord(Selected::new(block, word))
    }

    /// Index of the selected word.
    #[inline]
    pub fn index(&self) -> u32 {
        self.0.index()
    }

    /// Reads `DeviceFeatures` for the selected word.
    #[inline]
    pub fn read(&self) -> u32 {
        banked_shared!(self.0, device_features).read()
    }
}

/// One selected 32-bit word of the driver's (accepted) feature bits.
#[derive(Debug)]
pub struct DriverFeatureWord<'a>(Selected<'a, DriverFeaturesBank>);

impl<'a> DriverFeatureWord<'a> {
    /// Selects feature word `word` (bits `32 * word ..`; writes `DriverFeaturesSel`).
    #[inline]
    pub fn select(block: UniqueMmioPointer<'a, VirtioMmioRegs>, word: u32) -> Self {
        DriverFeatureWord(Selected::new(block, word))
    }

    /// Index of the selected word.
    #[inline]
    pub fn index(&self) -> u32 {
        self.0.index()
    }

    /// Writes `DriverFeatures` for the selected word.
    #[inline]
    pub fn write(&mut self, bits: u32) {
        banked!(self.0, driver_features).write(bits);
    }
}

/// One selected shared memory region.
#[derive(Debug)]
pub struct ShmRegs<'a>(Selected<'a, ShmBank>);

impl<'a> ShmRegs<'a> {
    /// Selects shared memory region `id` (writes `SHMSel`).
    #[inline]
    pub fn select(block: UniqueMmioPointer<'a, VirtioMmioRegs>, id: u8) -> Self {
        ShmRegs(Selected::new(block, u32::from(id)))
    }

    /// Length of the region in bytes; `u64::MAX` means it does not exist.
    #[inline]
    pub fn len(&self) -> u64 {
        let low = banked_shared!(self.0, shm_len_low).read();
        let high = banked_shared!(self.0, shm_len_high).read();
        u64::from(high) << 32 | u64::from(low)
    }

    /// Whether the region is absent or has length 0.
    #[inline]
    pub fn is_empty(&self) -> bool {
        matches!(self.len(), 0 | u64::MAX)
    }

    /// Physical base address of the region.
    #[inline]
    pub fn base(&self) -> u64 {
        let low = banked_shared!(self.0, shm_base_low).read();
        let high = banked_shared!(self.0, shm_base_high).read();
        u64::from(high) << 32 | u64::from(low)
    }
}
