//! virtio-blk: feature bits and configuration space layout (virtio 1.2, section 5.2).

use bitflags::bitflags;
use mmio_types::{ReadPure, ReadPureWrite, field_shared, register_block};

use crate::config::VirtioConfig;
use crate::mmio::{CONFIG_OFFSET, VirtioMmioWindow, WINDOW_LEN};

/// `DeviceID` of a block device.
pub const DEVICE_ID: u32 = 2;

bitflags! {
    /// virtio-blk feature bits (0..=23).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct BlkFeatures: u64 {
        /// `size_max` is valid.
        const SIZE_MAX = 1 << 1;
        /// `seg_max` is valid.
        const SEG_MAX = 1 << 2;
        /// `geometry` is valid.
        const GEOMETRY = 1 << 4;
        /// The device is read-only.
        const RO = 1 << 5;
        /// `blk_size` is valid.
        const BLK_SIZE = 1 << 6;
        /// Cache flush command.
        const FLUSH = 1 << 9;
        /// `topology` is valid.
        const TOPOLOGY = 1 << 10;
        /// `writeback` can be toggled.
        const CONFIG_WCE = 1 << 11;
        /// `num_queues` is valid.
        const MQ = 1 << 12;
        /// Discard command.
        const DISCARD = 1 << 13;
        /// Write zeroes command.
        const WRITE_ZEROES = 1 << 14;
        /// Device lifetime information.
        const LIFETIME = 1 << 15;
        /// Secure erase command.
        const SECURE_ERASE = 1 << 16;
        /// Zoned device.
        const ZONED = 1 << 17;

        // Bits of other layers pass through unchanged.
        const _ = !0;
    }
}

register_block! {
    /// virtio-blk configuration space, at 0x100 in the window.
    ///
    /// The 64-bit `capacity` is two 32-bit registers: the spec requires 64-bit
    /// config fields to be read with 32-bit accesses, so the halves are read
    /// separately inside a `ConfigGeneration` loop ([`capacity`]). The zoned
    /// characteristics (after 0x48) are not modelled.
    pub struct BlkConfig at CONFIG_OFFSET in WINDOW_LEN {
        /// 0x00 `capacity`, low half: size in 512-byte sectors.
        0x00 => pub capacity_low: ReadPure<u32>,
        /// 0x04 `capacity`, high half.
        0x04 => pub capacity_high: ReadPure<u32>,
        /// 0x08 `size_max`: largest segment size.
        0x08 => pub size_max: ReadPure<u32>,
        /// 0x0c `seg_max`: most segments in a request.
        0x0c => pub seg_max: ReadPure<u32>,
        /// 0x10 `geometry.cylinders`.
        0x10 => pub cylinders: ReadPure<u16>,
        /// 0x12 `geometry.heads`.
        0x12 => pub heads: ReadPure<u8>,
        /// 0x13 `geometry.sectors`.
        0x13 => pub sectors: ReadPure<u8>,
        /// 0x14 `blk_size`: optimal block size.
        0x14 => pub blk_size: ReadPure<u32>,
        /// 0x18 `topology.physical_block_exp`.
        0x18 => pub physical_block_exp: ReadPure<u8>,
        /// 0x19 `topology.alignment_offset`.
        0x19 => pub alignment_offset: ReadPure<u8>,
        /// 0x1a `topology.min_io_size`.
        0x1a => pub min_io_size: ReadPure<u16>,
        /// 0x1c `topology.opt_io_size`.
        0x1c => pub opt_io_size: ReadPure<u32>,
        /// 0x20 `writeback`: 1 for write-back, 0 for write-through caching.
        0x20 => pub writeback: ReadPureWrite<u8>,
        0x21 => _unused0,
        /// 0x22 `num_queues`.
        0x22 => pub num_queues: ReadPure<u16>,
        /// 0x24 `max_discard_sectors`.
        0x24 => pub max_discard_sectors: ReadPure<u32>,
        /// 0x28 `max_discard_seg`.
        0x28 => pub max_discard_seg: ReadPure<u32>,
        /// 0x2c `discard_sector_alignment`.
        0x2c => pub discard_sector_alignment: ReadPure<u32>,
        /// 0x30 `max_write_zeroes_sectors`.
        0x30 => pub max_write_zeroes_sectors: ReadPure<u32>,
        /// 0x34 `max_write_zeroes_seg`.
        0x34 => pub max_write_zeroes_seg: ReadPure<u32>,
        /// 0x38 `write_zeroes_may_unmap`.
        0x38 => pub write_zeroes_may_unmap: ReadPure<u8>,
        0x39 => _unused1,
        /// 0x3c `max_secure_erase_sectors`.
        0x3c => pub max_secure_erase_sectors: ReadPure<u32>,
        /// 0x40 `max_secure_erase_seg`.
        0x40 => pub max_secure_erase_seg: ReadPure<u32>,
        /// 0x44 `secure_erase_sector_alignment`.
        0x44 => pub secure_erase_sector_alignment: ReadPure<u32>,
        0x48 => @end,
    }
}

/// Capacity of the block device in 512-byte sectors.
///
/// Reads the two 32-bit halves inside the `ConfigGeneration` retry loop, so
/// a capacity change between the two reads cannot produce a torn value.
#[inline]
pub fn capacity(window: &VirtioMmioWindow) -> u64 {
    window.read_config(|cfg: mmio_types::SharedMmioPointer<'_, BlkConfig>| {
        let low = field_shared!(cfg, capacity_low).read();
        let high = field_shared!(cfg, capacity_high).read();
        u64::from(high) << 32 | u64::from(low)
    })
}
