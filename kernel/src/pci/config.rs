//! Configuration space: function addresses, register offsets and the
//! access trait enumeration runs over.

use core::fmt;

/// A function's address: bus, device (0..32), function (0..8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bdf {
    /// Bus number.
    pub bus: u8,
    /// Device number, below 32.
    pub dev: u8,
    /// Function number, below 8.
    pub func: u8,
}

impl Bdf {
    /// The address, if `dev < 32` and `func < 8`.
    pub fn new(bus: u8, dev: u8, func: u8) -> Option<Bdf> {
        (dev < 32 && func < 8).then_some(Bdf { bus, dev, func })
    }

    /// Byte offset of the function's 4 KiB configuration space in an ECAM
    /// region whose first bus is `first_bus`; `None` below it.
    pub fn ecam_offset(self, first_bus: u8) -> Option<usize> {
        let bus = usize::from(self.bus.checked_sub(first_bus)?);
        Some(bus << 20 | usize::from(self.dev) << 15 | usize::from(self.func) << 12)
    }
}

impl fmt::Display for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.dev, self.func)
    }
}

/// Bytes of configuration space per function (PCI Express).
pub const CONFIG_LEN: u16 = 4096;

/// Vendor ID (low half) and Device ID (high half).
pub const ID: u16 = 0x00;
/// Command (low half) and Status (high half).
pub const COMMAND: u16 = 0x04;
/// Revision ID (byte 0), programming interface, subclass, class (byte 3).
pub const CLASS: u16 = 0x08;
/// Header type in byte 2 (bit 7: multi-function).
pub const HEADER: u16 = 0x0c;
/// The first BAR.
pub const BAR0: u16 = 0x10;
/// The capability pointer (byte 0).
pub const CAP_PTR: u16 = 0x34;
/// Interrupt line (byte 0) and pin (byte 1: 0 none, 1..4 INTA..INTD).
pub const INTERRUPT: u16 = 0x3c;

/// Command: respond to I/O space accesses.
pub const CMD_IO: u32 = 1 << 0;
/// Command: respond to memory space accesses.
pub const CMD_MEMORY: u32 = 1 << 1;
/// Command: the function may master the bus (DMA).
pub const CMD_BUS_MASTER: u32 = 1 << 2;
/// Status (bit 4 of the high half): the capability list is valid.
pub const STATUS_CAP_LIST: u32 = 1 << (16 + 4);

/// A Vendor ID no function has: what an absent function reads.
pub const NO_VENDOR: u16 = 0xffff;

/// 32-bit access to configuration space.
///
/// `offset` is a multiple of 4 below [`CONFIG_LEN`]; an implementation
/// returns all ones (and ignores writes) for an offset or function it
/// cannot reach, as a bus with nothing behind it does.
pub trait ConfigSpace {
    /// Reads the register at `offset` of function `f`.
    fn read(&mut self, f: Bdf, offset: u16) -> u32;
    /// Writes the register at `offset` of function `f`.
    fn write(&mut self, f: Bdf, offset: u16, value: u32);
}
