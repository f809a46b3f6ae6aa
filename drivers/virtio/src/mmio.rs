//! The virtio-mmio register block (virtio 1.2, section 4.2.2), pinned to the spec.

use mmio_types::{
    Banked, MmioWindow, ReadPure, ReadPureWrite, Selector, WriteOnly, register_block,
};

use crate::banks::{DeviceFeaturesBank, DriverFeaturesBank, QueueBank, ShmBank};

/// `MagicValue`: the little-endian bytes "virt".
pub const MAGIC: u32 = 0x7472_6976;

/// `Version` of the modern (virtio 1.x) transport; 1 is the legacy one.
pub const VERSION_MODERN: u32 = 2;

/// Length of the window the kernel grants for one virtio-mmio slot.
pub const WINDOW_LEN: usize = 0x1000;

/// Offset of the device-specific configuration space in the window.
pub const CONFIG_OFFSET: usize = 0x100;

/// A 4 KiB virtio-mmio window: the register block at 0x000, the device
/// configuration space from 0x100 (see [`crate::config`]).
pub type VirtioMmioWindow = MmioWindow<VirtioMmioRegs, WINDOW_LEN>;

register_block! {
    /// The virtio-mmio control registers, 0x000..0x100.
    ///
    /// Registers whose meaning depends on a selector (`QueueSel`,
    /// `DeviceFeaturesSel`, `DriverFeaturesSel`, `SHMSel`) are [`Banked`]: they
    /// are reached only through the guards of [`crate::banks`]. The selectors
    /// are [`Selector`]s: only selecting a bank writes them. All registers
    /// are 32 bits wide and accessed with aligned 32-bit accesses only.
    pub struct VirtioMmioRegs in WINDOW_LEN {
        /// 0x000 `MagicValue`, reads [`MAGIC`].
        0x000 => pub magic_value: ReadPure<u32>,
        /// 0x004 `Version`.
        0x004 => pub version: ReadPure<u32>,
        /// 0x008 `DeviceID`; 0 means an empty slot.
        0x008 => pub device_id: ReadPure<u32>,
        /// 0x00c `VendorID`.
        0x00c => pub vendor_id: ReadPure<u32>,
        /// 0x010 `DeviceFeatures`: 32 feature bits of the word chosen by `DeviceFeaturesSel`.
        0x010 => pub device_features: Banked<DeviceFeaturesBank, ReadPure<u32>>,
        /// 0x014 `DeviceFeaturesSel`.
        0x014 => pub device_features_sel: Selector<WriteOnly<u32>>,
        0x018 => _reserved0,
        /// 0x020 `DriverFeatures`: 32 feature bits of the word chosen by `DriverFeaturesSel`.
        0x020 => pub driver_features: Banked<DriverFeaturesBank, WriteOnly<u32>>,
        /// 0x024 `DriverFeaturesSel`.
        0x024 => pub driver_features_sel: Selector<WriteOnly<u32>>,
        0x028 => _reserved1,
        /// 0x030 `QueueSel`.
        0x030 => pub queue_sel: Selector<WriteOnly<u32>>,
        /// 0x034 `QueueNumMax` of the selected queue; 0 if it does not exist.
        0x034 => pub queue_num_max: Banked<QueueBank, ReadPure<u32>>,
        /// 0x038 `QueueNum` of the selected queue.
        0x038 => pub queue_num: Banked<QueueBank, WriteOnly<u32>>,
        0x03c => _reserved2,
        /// 0x044 `QueueReady` of the selected queue.
        0x044 => pub queue_ready: Banked<QueueBank, ReadPureWrite<u32>>,
        0x048 => _reserved3,
        /// 0x050 `QueueNotify`: the value is the queue index, no selector involved.
        0x050 => pub queue_notify: WriteOnly<u32>,
        0x054 => _reserved4,
        /// 0x060 `InterruptStatus`.
        0x060 => pub interrupt_status: ReadPure<u32>,
        /// 0x064 `InterruptACK`.
        0x064 => pub interrupt_ack: WriteOnly<u32>,
        0x068 => _reserved5,
        /// 0x070 `Status`; writing 0 resets the device.
        0x070 => pub status: ReadPureWrite<u32>,
        0x074 => _reserved6,
        /// 0x080 `QueueDescLow` of the selected queue.
        0x080 => pub queue_desc_low: Banked<QueueBank, WriteOnly<u32>>,
        /// 0x084 `QueueDescHigh` of the selected queue.
        0x084 => pub queue_desc_high: Banked<QueueBank, WriteOnly<u32>>,
        0x088 => _reserved7,
        /// 0x090 `QueueDriverLow` of the selected queue.
        0x090 => pub queue_driver_low: Banked<QueueBank, WriteOnly<u32>>,
        /// 0x094 `QueueDriverHigh` of the selected queue.
        0x094 => pub queue_driver_high: Banked<QueueBank, WriteOnly<u32>>,
        0x098 => _reserved8,
        /// 0x0a0 `QueueDeviceLow` of the selected queue.
        0x0a0 => pub queue_device_low: Banked<QueueBank, WriteOnly<u32>>,
        /// 0x0a4 `QueueDeviceHigh` of the selected queue.
        0x0a4 => pub queue_device_high: Banked<QueueBank, WriteOnly<u32>>,
        0x0a8 => _reserved9,
        /// 0x0ac `SHMSel`.
        0x0ac => pub shm_sel: Selector<WriteOnly<u32>>,
        /// 0x0b0 `SHMLenLow` of the selected shared memory region.
        0x0b0 => pub shm_len_low: Banked<ShmBank, ReadPure<u32>>,
        /// 0x0b4 `SHMLenHigh` of the selected shared memory region.
        0x0b4 => pub shm_len_high: Banked<ShmBank, ReadPure<u32>>,
        /// 0x0b8 `SHMBaseLow` of the selected shared memory region.
        0x0b8 => pub shm_base_low: Banked<ShmBank, ReadPure<u32>>,
        /// 0x0bc `SHMBaseHigh` of the selected shared memory region.
        0x0bc => pub shm_base_high: Banked<ShmBank, ReadPure<u32>>,
        /// 0x0c0 `QueueReset` of the selected queue.
        0x0c0 => pub queue_reset: Banked<QueueBank, ReadPureWrite<u32>>,
        0x0c4 => _reserved10,
        /// 0x0fc `ConfigGeneration`.
        0x0fc => pub config_generation: ReadPure<u32>,
        0x100 => @end,
    }
}
