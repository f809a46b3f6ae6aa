//! The transport operations a virtio driver needs, and the generic init steps built on them.
//!
//! [`Transport`] is what a driver sees of its device: identification,
//! feature words, status, queue setup, notification. It is implemented for
//! the modern virtio-mmio window ([`VirtioMmioWindow`], through the typed
//! register traits and the queue-select guard), for the virtio-pci
//! transport ([`crate::pci::VirtioPci`]) and, in tests, for fakes.
//! [`negotiate`], [`queue_num_max`], [`driver_ok`], [`reset`] and [`fail`] are the
//! device-independent steps of initialisation (virtio 1.2, section 3.1.1).

use crate::features::Features;
use crate::mmio::{MAGIC, VERSION_MODERN, VirtioMmioWindow};
use crate::queue::QueueAreas;
use crate::status::{DeviceStatus, InterruptStatus};
use crate::transport::{VirtioRegs, VirtioRegsRead};

/// Register-level access to one virtio device.
pub trait Transport {
    /// `MagicValue`.
    fn magic(&self) -> u32;
    /// `Version` of the transport.
    fn version(&self) -> u32;
    /// `DeviceID`.
    fn device_id(&self) -> u32;
    /// Feature bits `32 * word ..` offered by the device.
    fn device_features(&mut self, word: u32) -> u32;
    /// Writes feature bits `32 * word ..` accepted by the driver.
    fn set_driver_features(&mut self, word: u32, bits: u32);
    /// Reads `Status`.
    fn status(&self) -> DeviceStatus;
    /// Writes `Status` (writing the empty set resets the device).
    fn set_status(&mut self, status: DeviceStatus);
    /// `QueueNumMax` of queue `queue`; 0 if the queue does not exist.
    fn queue_num_max(&mut self, queue: u16) -> u32;
    /// `QueueReady` of queue `queue`.
    fn queue_ready(&mut self, queue: u16) -> bool;
    /// Sets queue `queue`'s size and ring addresses, then marks it ready.
    fn activate_queue(&mut self, queue: u16, size: u16, areas: QueueAreas);
    /// Tells the device that queue `queue` has new available buffers.
    fn notify(&mut self, queue: u16);
    /// `ConfigGeneration`.
    fn config_generation(&self) -> u32;
    /// `InterruptStatus`: why the device interrupted.
    fn interrupt_status(&self) -> InterruptStatus;
    /// Writes `InterruptACK`: the device stops asserting its interrupt for
    /// these causes.
    fn ack_interrupt(&mut self, bits: InterruptStatus);

    /// Takes the device's interrupt causes and acknowledges them, so that
    /// it stops asserting its interrupt: `InterruptStatus`, then the same
    /// bits to `InterruptACK`. A transport whose status read itself
    /// acknowledges (virtio-pci's ISR status) overrides it.
    fn take_interrupt(&mut self) -> InterruptStatus {
        let status = self.interrupt_status();
        self.ack_interrupt(status);
        status
    }
}

impl Transport for VirtioMmioWindow {
    #[inline]
    fn magic(&self) -> u32 {
        self.regs_shared().magic_value()
    }

    #[inline]
    fn version(&self) -> u32 {
        self.regs_shared().version()
    }

    #[inline]
    fn device_id(&self) -> u32 {
        self.regs_shared().device_id()
    }

    #[inline]
    fn device_features(&mut self, word: u32) -> u32 {
        self.regs().select_device_features(word).read()
    }

    #[inline]
    fn set_driver_features(&mut self, word: u32, bits: u32) {
        self.regs().select_driver_features(word).write(bits);
    }

    #[inline]
    fn status(&self) -> DeviceStatus {
        self.regs_shared().status()
    }

    #[inline]
    fn set_status(&mut self, status: DeviceStatus) {
        self.regs().set_status(status);
    }

    #[inline]
    fn queue_num_max(&mut self, queue: u16) -> u32 {
        self.regs().select_queue(queue).num_max()
    }

    #[inline]
    fn queue_ready(&mut self, queue: u16) -> bool {
        self.regs().select_queue(queue).ready()
    }

    fn activate_queue(&mut self, queue: u16, size: u16, areas: QueueAreas) {
        let mut regs = self.regs();
        let mut q = regs.select_queue(queue);
        q.set_num(u32::from(size));
        q.set_desc_area(areas.desc);
        q.set_driver_area(areas.driver);
        q.set_device_area(areas.device);
        q.set_ready(true);
    }

    #[inline]
    fn notify(&mut self, queue: u16) {
        self.regs().notify(queue);
    }

    #[inline]
    fn config_generation(&self) -> u32 {
        self.regs_shared().config_generation()
    }

    #[inline]
    fn interrupt_status(&self) -> InterruptStatus {
        self.regs_shared().interrupt_status()
    }

    #[inline]
    fn ack_interrupt(&mut self, bits: InterruptStatus) {
        self.regs().ack_interrupt(bits);
    }
}

/// Why the device-independent part of initialisation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitError {
    /// `MagicValue` is not "virt".
    BadMagic(u32),
    /// `Version` is not 2 (1 is the legacy transport, unsupported).
    UnsupportedVersion(u32),
    /// `DeviceID` is not the one the driver drives (0: empty slot).
    WrongDevice(u32),
    /// The device did not go back to status 0 after a reset.
    ResetTimeout,
    /// The device does not offer `VIRTIO_F_VERSION_1`.
    NoVersion1,
    /// The device cleared `FEATURES_OK`: it refuses the accepted features.
    FeaturesRejected,
    /// The queue does not exist (`QueueNumMax` is 0).
    QueueUnavailable,
    /// The queue is already marked ready.
    QueueInUse,
}

impl core::fmt::Display for InitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            InitError::BadMagic(m) => {
                write!(
                    f,
                    "MagicValue is {m:#x}, not {MAGIC:#x}: no virtio transport"
                )
            }
            InitError::UnsupportedVersion(1) => write!(
                f,
                "legacy transport (Version 1); only the modern transport (Version 2) is driven"
            ),
            InitError::UnsupportedVersion(v) => write!(
                f,
                "transport Version {v}; only the modern transport (Version 2) is driven"
            ),
            InitError::WrongDevice(0) => write!(f, "no device behind the transport (DeviceID 0)"),
            InitError::WrongDevice(id) => {
                write!(f, "DeviceID {id} is not the device this driver drives")
            }
            InitError::ResetTimeout => write!(f, "the device did not complete its reset"),
            InitError::NoVersion1 => write!(f, "the device does not offer VIRTIO_F_VERSION_1"),
            InitError::FeaturesRejected => {
                write!(
                    f,
                    "the device refused the accepted features (FEATURES_OK cleared)"
                )
            }
            InitError::QueueUnavailable => write!(f, "a needed queue does not exist"),
            InitError::QueueInUse => write!(f, "a queue was already in use"),
        }
    }
}

/// Reads of `Status` allowed for a reset to complete.
const RESET_POLLS: u32 = 1 << 16;

/// Checks the device's identity, resets it, acknowledges it and negotiates
/// features: offers `wanted & offered` (which must include
/// `VIRTIO_F_VERSION_1`), sets `FEATURES_OK` and checks the device kept it.
///
/// Returns the negotiated features. On failure after the reset, sets
/// `FAILED` before returning; identification failures leave the device
/// untouched.
pub fn negotiate<T: Transport>(
    transport: &mut T,
    device_id: u32,
    wanted: Features,
) -> Result<Features, InitError> {
    let magic = transport.magic();
    if magic != MAGIC {
        return Err(InitError::BadMagic(magic));
    }
    let version = transport.version();
    if version != VERSION_MODERN {
        return Err(InitError::UnsupportedVersion(version));
    }
    let id = transport.device_id();
    if id != device_id {
        return Err(InitError::WrongDevice(id));
    }

    if !reset(transport) {
        return Err(fail(transport, InitError::ResetTimeout));
    }
    let mut status = DeviceStatus::ACKNOWLEDGE;
    transport.set_status(status);
    status |= DeviceStatus::DRIVER;
    transport.set_status(status);

    let low = transport.device_features(0);
    let high = transport.device_features(1);
    let offered = Features::from_bits_retain(u64::from(high) << 32 | u64::from(low));
    if !offered.contains(Features::VERSION_1) {
        return Err(fail(transport, InitError::NoVersion1));
    }
    let accepted = offered & wanted;
    transport.set_driver_features(0, accepted.bits() as u32);
    transport.set_driver_features(1, (accepted.bits() >> 32) as u32);

    status |= DeviceStatus::FEATURES_OK;
    transport.set_status(status);
    if !transport.status().contains(DeviceStatus::FEATURES_OK) {
        return Err(fail(transport, InitError::FeaturesRejected));
    }
    Ok(accepted)
}

/// Checks queue `queue` exists and is not in use, returning `QueueNumMax`
/// (at most `u16::MAX`). Sets `FAILED` on failure.
pub fn queue_num_max<T: Transport>(transport: &mut T, queue: u16) -> Result<u16, InitError> {
    if transport.queue_ready(queue) {
        return Err(fail(transport, InitError::QueueInUse));
    }
    match transport.queue_num_max(queue) {
        0 => Err(fail(transport, InitError::QueueUnavailable)),
        n => Ok(u16::try_from(n).unwrap_or(u16::MAX)),
    }
}

/// Resets the device (writes status 0) and waits, boundedly, for `Status`
/// to read back 0; after that the device no longer touches its queues.
/// Returns whether it did read back 0.
pub fn reset<T: Transport>(transport: &mut T) -> bool {
    transport.set_status(DeviceStatus::empty());
    (0..RESET_POLLS).any(|_| transport.status().is_empty())
}

/// Sets `DRIVER_OK`: the device is live.
pub fn driver_ok<T: Transport>(transport: &mut T) {
    let status = transport.status();
    transport.set_status(status | DeviceStatus::DRIVER_OK);
}

/// Sets `FAILED` (keeping the other status bits) and returns `error`.
pub fn fail<T: Transport, E>(transport: &mut T, error: E) -> E {
    let status = transport.status();
    transport.set_status(status | DeviceStatus::FAILED);
    error
}
