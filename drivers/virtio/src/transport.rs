//! Typed operations on the virtio-mmio register block.

use mmio_types::{SharedMmioPointer, UniqueMmioPointer, field, field_shared};

use crate::banks::{DeviceFeatureWord, DriverFeatureWord, QueueRegs, ShmRegs};
use crate::features::Features;
use crate::mmio::VirtioMmioRegs;
use crate::status::{DeviceStatus, InterruptStatus};

/// Pure reads of the virtio-mmio registers: usable through a shared pointer
/// (and, by auto-deref, through a unique one).
pub trait VirtioRegsRead {
    /// `MagicValue`.
    fn magic_value(&self) -> u32;
    /// `Version`.
    fn version(&self) -> u32;
    /// `DeviceID`; 0 means the slot is empty.
    fn device_id(&self) -> u32;
    /// `VendorID`.
    fn vendor_id(&self) -> u32;
    /// `Status`.
    fn status(&self) -> DeviceStatus;
    /// `InterruptStatus`.
    fn interrupt_status(&self) -> InterruptStatus;
    /// `ConfigGeneration`.
    fn config_generation(&self) -> u32;
}

impl VirtioRegsRead for SharedMmioPointer<'_, VirtioMmioRegs> {
    #[inline]
    fn magic_value(&self) -> u32 {
        field_shared!(*self, magic_value).read()
    }

    #[inline]
    fn version(&self) -> u32 {
        field_shared!(*self, version).read()
    }

    #[inline]
    fn device_id(&self) -> u32 {
        field_shared!(*self, device_id).read()
    }

    #[inline]
    fn vendor_id(&self) -> u32 {
        field_shared!(*self, vendor_id).read()
    }

    #[inline]
    fn status(&self) -> DeviceStatus {
        DeviceStatus::from_bits_retain(field_shared!(*self, status).read())
    }

    #[inline]
    fn interrupt_status(&self) -> InterruptStatus {
        InterruptStatus::from_bits_retain(field_shared!(*self, interrupt_status).read())
    }

    #[inline]
    fn config_generation(&self) -> u32 {
        field_shared!(*self, config_generation).read()
    }
}

/// Writes and selections on the virtio-mmio registers: need unique access.
pub trait VirtioRegs {
    /// Writes `Status`.
    fn set_status(&mut self, status: DeviceStatus);
    /// Sets bits in `Status` (read-modify-write), as the init sequence does.
    fn insert_status(&mut self, bits: DeviceStatus);
    /// Writes 0 to `Status`: resets the device.
    fn reset(&mut self);
    /// Acknowledges interrupts (`InterruptACK`).
    fn ack_interrupt(&mut self, bits: InterruptStatus);
    /// Notifies the device that queue `queue` has new buffers (`QueueNotify`).
    fn notify(&mut self, queue: u16);
    /// Selects queue `queue`; its registers are reachable through the guard.
    fn select_queue(&mut self, queue: u16) -> QueueRegs<'_>;
    /// Selects device feature word `word`.
    fn select_device_features(&mut self, word: u32) -> DeviceFeatureWord<'_>;
    /// Selects driver feature word `word`.
    fn select_driver_features(&mut self, word: u32) -> DriverFeatureWord<'_>;
    /// Selects shared memory region `id`.
    fn select_shm(&mut self, id: u8) -> ShmRegs<'_>;
    /// Reads feature words 0 and 1 (bits 0..64) offered by the device.
    fn device_features(&mut self) -> Features;
    /// Writes feature words 0 and 1 (bits 0..64) accepted by the driver.
    fn set_driver_features(&mut self, features: Features);
}

impl VirtioRegs for UniqueMmioPointer<'_, VirtioMmioRegs> {
    #[inline]
    fn set_status(&mut self, status: DeviceStatus) {
        field!(*self, status).write(status.bits());
    }

    #[inline]
    fn insert_status(&mut self, bits: DeviceStatus) {
        field!(*self, status).modify(|s| s | bits.bits());
    }

    #[inline]
    fn reset(&mut self) {
        field!(*self, status).write(0);
    }

    #[inline]
    fn ack_interrupt(&mut self, bits: InterruptStatus) {
        field!(*self, interrupt_ack).write(bits.bits());
    }

    #[inline]
    fn notify(&mut self, queue: u16) {
        field!(*self, queue_notify).write(u32::from(queue));
    }

    #[inline]
    fn select_queue(&mut self, queue: u16) -> QueueRegs<'_> {
        QueueRegs::select(self.reborrow(), queue)
    }

    #[inline]
    fn select_device_features(&mut self, word: u32) -> DeviceFeatureWord<'_> {
        DeviceFeatureWord::select(self.reborrow(), word)
    }

    #[inline]
    fn select_driver_features(&mut self, word: u32) -> DriverFeatureWord<'_> {
        DriverFeatureWord::select(self.reborrow(), word)
    }

    #[inline]
    fn select_shm(&mut self, id: u8) -> ShmRegs<'_> {
        ShmRegs::select(self.reborrow(), id)
    }

    #[inline]
    fn device_features(&mut self) -> Features {
        let low = self.select_device_features(0).read();
        let high = self.select_device_features(1).read();
        Features::from_bits_retain(u64::from(high) << 32 | u64::from(low))
    }

    #[inline]
    fn set_driver_features(&mut self, features: Features) {
        let bits = features.bits();
        self.select_driver_features(0).write(bits as u32);
        self.select_driver_features(1).write((bits >> 32) as u32);
    }
}
