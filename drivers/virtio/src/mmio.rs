//! The virtio-mmio register block (virtio 1.2, section 4.2.2), pinned to the spec.

use mmio_types::typenum::{U256, U4096};
use mmio_types::{Banked, MmioWindow, ReadPure, ReadPureWrite, WriteOnly, register_layout};

use crate::banks::{DeviceFeaturesBank, DriverFeaturesBank, QueueBank, ShmBank};

/// `MagicValue`: the little-endian bytes "virt".
pub const MAGIC: u32 = 0x7472_6976;

/// `Version` of the modern (virtio 1.x) transport; 1 is the legacy one.
pub const VERSION_MODERN: u32 = 2;

/// Length of the window the kernel grants for one virtio-mmio slot.
pub type WindowLen = U4096;

/// Offset of the device-specific configuration space in the window.
pub type ConfigOffset = U256;

/// A 4 KiB virtio-mmio window: the register block at 0x000, the device
/// configuration space from 0x100 (see [`crate::config`]).
pub type VirtioMmioWindow = MmioWindow<VirtioMmioRegs, WindowLen>;

/// The virtio-mmio control registers, 0x000..0x100.
///
/// Registers whose meaning depends on a selector (`QueueSel`,
/// `DeviceFeaturesSel`, `DriverFeaturesSel`, `SHMSel`) are [`Banked`]: they
/// are reached only through the guards of [`crate::banks`]. All registers
/// are 32 bits wide and accessed with aligned 32-bit accesses only.
#[repr(C)]
pub struct VirtioMmioRegs {
    /// 0x000 `MagicValue`, reads [`MAGIC`].
    pub magic_value: ReadPure<u32>,
    /// 0x004 `Version`.
    pub version: ReadPure<u32>,
    /// 0x008 `DeviceID`; 0 means an empty slot.
    pub device_id: ReadPure<u32>,
    /// 0x00c `VendorID`.
    pub vendor_id: ReadPure<u32>,
    /// 0x010 `DeviceFeatures`: 32 feature bits of the word chosen by `DeviceFeaturesSel`.
    pub device_features: Banked<DeviceFeaturesBank, ReadPure<u32>>,
    /// 0x014 `DeviceFeaturesSel`.
    pub device_features_sel: WriteOnly<u32>,
    _reserved0: [u32; 2],
    /// 0x020 `DriverFeatures`: 32 feature bits of the word chosen by `DriverFeaturesSel`.
    pub driver_features: Banked<DriverFeaturesBank, WriteOnly<u32>>,
    /// 0x024 `DriverFeaturesSel`.
    pub driver_features_sel: WriteOnly<u32>,
    _reserved1: [u32; 2],
    /// 0x030 `QueueSel`.
    pub queue_sel: WriteOnly<u32>,
    /// 0x034 `QueueNumMax` of the selected queue; 0 if it does not exist.
    pub queue_num_max: Banked<QueueBank, ReadPure<u32>>,
    /// 0x038 `QueueNum` of the selected queue.
    pub queue_num: Banked<QueueBank, WriteOnly<u32>>,
    _reserved2: [u32; 2],
    /// 0x044 `QueueReady` of the selected queue.
    pub queue_ready: Banked<QueueBank, ReadPureWrite<u32>>,
    _reserved3: [u32; 2],
    /// 0x050 `QueueNotify`: the value is the queue index, no selector involved.
    pub queue_notify: WriteOnly<u32>,
    _reserved4: [u32; 3],
    /// 0x060 `InterruptStatus`.
    pub interrupt_status: ReadPure<u32>,
    /// 0x064 `InterruptACK`.
    pub interrupt_ack: WriteOnly<u32>,
    _reserved5: [u32; 2],
    /// 0x070 `Status`; writing 0 resets the device.
    pub status: ReadPureWrite<u32>,
    _reserved6: [u32; 3],
    /// 0x080 `QueueDescLow` of the selected queue.
    pub queue_desc_low: Banked<QueueBank, WriteOnly<u32>>,
    /// 0x084 `QueueDescHigh` of the selected queue.
    pub queue_desc_high: Banked<QueueBank, WriteOnly<u32>>,
    _reserved7: [u32; 2],
    /// 0x090 `QueueDriverLow` of the selected queue.
    pub queue_driver_low: Banked<QueueBank, WriteOnly<u32>>,
    /// 0x094 `QueueDriverHigh` of the selected queue.
    pub queue_driver_high: Banked<QueueBank, WriteOnly<u32>>,
    _reserved8: [u32; 2],
    /// 0x0a0 `QueueDeviceLow` of the selected queue.
    pub queue_device_low: Banked<QueueBank, WriteOnly<u32>>,
    /// 0x0a4 `QueueDeviceHigh` of the selected queue.
    pub queue_device_high: Banked<QueueBank, WriteOnly<u32>>,
    _reserved9: [u32; 1],
    /// 0x0ac `SHMSel`.
    pub shm_sel: WriteOnly<u32>,
    /// 0x0b0 `SHMLenLow` of the selected shared memory region.
    pub shm_len_low: Banked<ShmBank, ReadPure<u32>>,
    /// 0x0b4 `SHMLenHigh` of the selected shared memory region.
    pub shm_len_high: Banked<ShmBank, ReadPure<u32>>,
    /// 0x0b8 `SHMBaseLow` of the selected shared memory region.
    pub shm_base_low: Banked<ShmBank, ReadPure<u32>>,
    /// 0x0bc `SHMBaseHigh` of the selected shared memory region.
    pub shm_base_high: Banked<ShmBank, ReadPure<u32>>,
    /// 0x0c0 `QueueReset` of the selected queue.
    pub queue_reset: Banked<QueueBank, ReadPureWrite<u32>>,
    _reserved10: [u32; 14],
    /// 0x0fc `ConfigGeneration`.
    pub config_generation: ReadPure<u32>,
}

register_layout! {
    VirtioMmioRegs, size = 0x100;
    registers {
        magic_value @ 0x000,
        version @ 0x004,
        device_id @ 0x008,
        vendor_id @ 0x00c,
        device_features @ 0x010,
        device_features_sel @ 0x014,
        driver_features @ 0x020,
        driver_features_sel @ 0x024,
        queue_sel @ 0x030,
        queue_num_max @ 0x034,
        queue_num @ 0x038,
        queue_ready @ 0x044,
        queue_notify @ 0x050,
        interrupt_status @ 0x060,
        interrupt_ack @ 0x064,
        status @ 0x070,
        queue_desc_low @ 0x080,
        queue_desc_high @ 0x084,
        queue_driver_low @ 0x090,
        queue_driver_high @ 0x094,
        queue_device_low @ 0x0a0,
        queue_device_high @ 0x0a4,
        shm_sel @ 0x0ac,
        shm_len_low @ 0x0b0,
        shm_len_high @ 0x0b4,
        shm_base_low @ 0x0b8,
        shm_base_high @ 0x0bc,
        queue_reset @ 0x0c0,
        config_generation @ 0x0fc,
    }
    reserved {
        _reserved0 @ 0x018,
        _reserved1 @ 0x028,
        _reserved2 @ 0x03c,
        _reserved3 @ 0x048,
        _reserved4 @ 0x054,
        _reserved5 @ 0x068,
        _reserved6 @ 0x074,
        _reserved7 @ 0x088,
        _reserved8 @ 0x098,
        _reserved9 @ 0x0a8,
        _reserved10 @ 0x0c4,
    }
}
