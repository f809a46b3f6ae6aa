//! Interrupt-driven drivers: waiting for a device's interrupt, with an
//! acknowledgement order the types enforce.
//!
//! The kernel masks a line when it fires and unmasks it only on the owner's
//! `irq_ack`. Unmasking while the device still asserts its interrupt makes
//! it fire again at once (a spurious wakeup); so the device must be
//! acknowledged first: `InterruptACK` written with the causes read from
//! `InterruptStatus`. Here that order is the only one that compiles:
//!
//! 1. [`IrqDevice::wait`] blocks until the line fires and yields a
//!    [`Pending`] token, which borrows the device (no second wait, no other
//!    use of the device while it lives);
//! 2. [`Pending::acknowledge`] consumes the token, reads `InterruptStatus`
//!    and writes the same bits to `InterruptACK`, and yields [`Acked`], the
//!    proof that the device was acknowledged;
//! 3. [`Acked::rearm`] consumes the proof and unmasks the line.
//!
//! A `Pending` has no way to re-arm; an `Acked` cannot be built outside this
//! module and is consumed by its one use. The line and the window are
//! paired once, in [`IrqDevice::new`], from one `system.toml` grant (the
//! irq beside its window), and every later step goes through that pair: no
//! call takes a line and a window separately.

use core::fmt;

use nexus_abi::SysError;
use nexus_abi::notify::{NO_DEADLINE, Wakeup};

use crate::device::Transport;
use crate::queue::QueueAreas;
use crate::status::{DeviceStatus, InterruptStatus};

/// The system calls an interrupt line needs: the kernel's in a task
/// ([`KernelIrq`]), a fake's in host tests.
pub trait IrqSys {
    /// `wait(mask, deadline)`: the bits of `mask` that ended the wait.
    fn wait(&mut self, mask: u64, deadline: u64) -> Result<Wakeup, SysError>;
    /// `irq_ack(slot)`: unmask the line of the irq capability in `slot`.
    fn irq_ack(&mut self, slot: usize) -> Result<(), SysError>;
}

/// The kernel's interrupt calls.
#[cfg(target_arch = "riscv64")]
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelIrq;

#[cfg(target_arch = "riscv64")]
impl IrqSys for KernelIrq {
    #[inline]
    fn wait(&mut self, mask: u64, deadline: u64) -> Result<Wakeup, SysError> {
        nexus_abi::sys::wait_stamped(mask, deadline)
    }

    #[inline]
    fn irq_ack(&mut self, slot: usize) -> Result<(), SysError> {
        nexus_abi::sys::irq_ack(slot)
    }
}

/// Why waiting for or re-arming an interrupt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqError {
    /// The deadline passed before the line fired.
    TimedOut,
    /// The kernel refused the call.
    Sys(SysError),
}

impl From<SysError> for IrqError {
    fn from(e: SysError) -> Self {
        match e {
            SysError::TimedOut => IrqError::TimedOut,
            other => IrqError::Sys(other),
        }
    }
}

impl fmt::Display for IrqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IrqError::TimedOut => write!(f, "the device did not interrupt before the deadline"),
            IrqError::Sys(e) => write!(f, "the kernel refused an interrupt call: {e}"),
        }
    }
}

/// A device transport paired with its interrupt line: the irq capability in
/// `slot`, which raises notification bit `bit`. It is a [`Transport`]
/// itself, so drivers run on it unchanged.
pub struct IrqDevice<T, S> {
    device: T,
    sys: S,
    slot: usize,
    bit: u32,
}

impl<T, S> fmt::Debug for IrqDevice<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IrqDevice")
            .field("slot", &self.slot)
            .field("bit", &self.bit)
            .finish_non_exhaustive()
    }
}

impl<T: Transport, S: IrqSys> IrqDevice<T, S> {
    /// Pairs `device` with the irq capability in `slot`, bound to
    /// notification bit `bit` (both from the same `system.toml` grant).
    /// `None` if `bit` is not a notification bit.
    pub fn new(device: T, sys: S, slot: usize, bit: u32) -> Option<Self> {
        (bit < nexus_abi::notify::NOTIFY_BITS).then_some(IrqDevice {
            device,
            sys,
            slot,
            bit,
        })
    }

    /// Blocks until the line fires (or `time` reaches `deadline`;
    /// [`NO_DEADLINE`] waits for ever).
    pub fn wait(&mut self, deadline: u64) -> Result<Pending<'_, T, S>, IrqError> {
        let woke = self.sys.wait(1 << self.bit, deadline)?;
        Ok(Pending {
            dev: self,
            stamp: woke.stamp,
        })
    }

    /// Blocks until the line fires or a bit of `also` is raised (or `time`
    /// reaches `deadline`), for a driver that also serves other event
    /// sources (its clients' channels). Returns the line's token if it
    /// fired, and the bits of `also` that were raised (taken).
    pub fn wait_also(
        &mut self,
        also: u64,
        deadline: u64,
    ) -> Result<(Option<Pending<'_, T, S>>, u64), IrqError> {
        let own = 1u64 << self.bit;
        let woke = self.sys.wait(own | also, deadline)?;
        let others = woke.bits & also & !own;
        let pending = (woke.bits & own != 0).then_some(Pending {
            dev: self,
            stamp: woke.stamp,
        });
        Ok((pending, others))
    }

    /// [`IrqDevice::wait`] without a deadline.
    pub fn wait_forever(&mut self) -> Result<Pending<'_, T, S>, IrqError> {
        self.wait(NO_DEADLINE)
    }

    /// The transport and the system-call interface, unpaired.
    pub fn into_parts(self) -> (T, S) {
        (self.device, self.sys)
    }
}

/// The line fired and is masked; the device has not been acknowledged yet.
/// The only thing to do with it is [`Pending::acknowledge`].
#[must_use = "the line stays masked until the device is acknowledged and the line re-armed"]
pub struct Pending<'a, T: Transport, S: IrqSys> {
    dev: &'a mut IrqDevice<T, S>,
    stamp: u64,
}

impl<'a, T: Transport, S: IrqSys> Pending<'a, T, S> {
    /// The `instret` value when the kernel took the interrupt that ended
    /// the wait (0 if the wait did not block): `instret` now minus this is
    /// the interrupt's delivery latency in instructions.
    pub fn stamp(&self) -> u64 {
        self.stamp
    }

    /// Takes the device's interrupt causes ([`Transport::take_interrupt`]:
    /// `InterruptStatus` written back to `InterruptACK`, or virtio-pci's
    /// ISR status read): the device stops asserting its interrupt for
    /// those causes. Returns the proof, which carries the causes read.
    pub fn acknowledge(self) -> Acked<'a, T, S> {
        let status = self.dev.device.take_interrupt();
        Acked {
            dev: self.dev,
            status,
        }
    }
}

/// The device was acknowledged for [`Acked::status`]; the line is still
/// masked until [`Acked::rearm`].
#[must_use = "the line stays masked until it is re-armed"]
pub struct Acked<'a, T: Transport, S: IrqSys> {
    dev: &'a mut IrqDevice<T, S>,
    status: InterruptStatus,
}

impl<T: Transport, S: IrqSys> Acked<'_, T, S> {
    /// The causes read from `InterruptStatus` (empty: the wakeup found no
    /// cause, i.e. it was spurious).
    pub fn status(&self) -> InterruptStatus {
        self.status
    }

    /// Unmasks the line; returns the causes that were acknowledged.
    pub fn rearm(self) -> Result<InterruptStatus, IrqError> {
        self.dev.sys.irq_ack(self.dev.slot)?;
        Ok(self.status)
    }
}

impl<T: Transport, S> Transport for IrqDevice<T, S> {
    #[inline]
    fn magic(&self) -> u32 {
        self.device.magic()
    }
    #[inline]
    fn version(&self) -> u32 {
        self.device.version()
    }
    #[inline]
    fn device_id(&self) -> u32 {
        self.device.device_id()
    }
    #[inline]
    fn device_features(&mut self, word: u32) -> u32 {
        self.device.device_features(word)
    }
    #[inline]
    fn set_driver_features(&mut self, word: u32, bits: u32) {
        self.device.set_driver_features(word, bits)
    }
    #[inline]
    fn status(&self) -> DeviceStatus {
        self.device.status()
    }
    #[inline]
    fn set_status(&mut self, status: DeviceStatus) {
        self.device.set_status(status)
    }
    #[inline]
    fn queue_num_max(&mut self, queue: u16) -> u32 {
        self.device.queue_num_max(queue)
    }
    #[inline]
    fn queue_ready(&mut self, queue: u16) -> bool {
        self.device.queue_ready(queue)
    }
    #[inline]
    fn activate_queue(&mut self, queue: u16, size: u16, areas: QueueAreas) {
        self.device.activate_queue(queue, size, areas)
    }
    #[inline]
    fn notify(&mut self, queue: u16) {
        self.device.notify(queue)
    }
    #[inline]
    fn config_generation(&self) -> u32 {
        self.device.config_generation()
    }
    #[inline]
    fn interrupt_status(&self) -> InterruptStatus {
        self.device.interrupt_status()
    }
    #[inline]
    fn ack_interrupt(&mut self, bits: InterruptStatus) {
        self.device.ack_interrupt(bits)
    }

    fn take_interrupt(&mut self) -> InterruptStatus {
        self.device.take_interrupt()
    }
}

impl<T: crate::blk_driver::BlkTransport, S> crate::blk_driver::BlkTransport for IrqDevice<T, S> {
    #[inline]
    fn blk_capacity(&self) -> u64 {
        self.device.blk_capacity()
    }
}

impl<T: crate::net::NetTransport, S> crate::net::NetTransport for IrqDevice<T, S> {
    #[inline]
    fn net_mac(&self) -> [u8; 6] {
        self.device.net_mac()
    }
}
