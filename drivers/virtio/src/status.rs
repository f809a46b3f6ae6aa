//! Device status and interrupt status bits.

use bitflags::bitflags;

bitflags! {
    /// The `Status` register (virtio 1.2, section 2.1).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct DeviceStatus: u32 {
        /// The guest has noticed the device.
        const ACKNOWLEDGE = 1;
        /// The guest knows how to drive the device.
        const DRIVER = 2;
        /// The driver is set up and ready to drive the device.
        const DRIVER_OK = 4;
        /// Feature negotiation is complete.
        const FEATURES_OK = 8;
        /// The device has experienced an error it cannot recover from.
        const DEVICE_NEEDS_RESET = 64;
        /// Something went wrong in the guest; it has given up on the device.
        const FAILED = 128;
    }
}

bitflags! {
    /// The `InterruptStatus` / `InterruptACK` registers (virtio 1.2, section 4.2.2).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct InterruptStatus: u32 {
        /// A used buffer notification: some queue's used ring was updated.
        const USED_BUFFER = 1;
        /// The device configuration changed.
        const CONFIG_CHANGE = 2;
    }
}
