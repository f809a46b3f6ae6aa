//! Device-independent feature bits (virtio 1.2, section 6).

use bitflags::bitflags;

bitflags! {
    /// Feature bits reserved for the transport and ring layout (bits 28..=40).
    ///
    /// Device-specific bits (0..=23) have their own types, e.g.
    /// [`BlkFeatures`](crate::blk::BlkFeatures); combine them with `.bits()`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Features: u64 {
        /// Indirect descriptors.
        const RING_INDIRECT_DESC = 1 << 28;
        /// `used_event` / `avail_event` notification suppression.
        const RING_EVENT_IDX = 1 << 29;
        /// Compliance with virtio 1.x; the modern transport requires it.
        const VERSION_1 = 1 << 32;
        /// The device is behind an IOMMU or other platform translation.
        const ACCESS_PLATFORM = 1 << 33;
        /// Packed virtqueue layout.
        const RING_PACKED = 1 << 34;
        /// Buffers are used in the order they are made available.
        const IN_ORDER = 1 << 35;
        /// Memory accesses need platform-specific ordering.
        const ORDER_PLATFORM = 1 << 36;
        /// Single root I/O virtualisation.
        const SR_IOV = 1 << 37;
        /// Extra data in available-buffer notifications.
        const NOTIFICATION_DATA = 1 << 38;
        /// Device-supplied notification data.
        const NOTIF_CONFIG_DATA = 1 << 39;
        /// Individual virtqueue reset.
        const RING_RESET = 1 << 40;

        // Device-specific bits pass through unchanged.
        const _ = !0;
    }
}
