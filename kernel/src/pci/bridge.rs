//! The ECAM host bridge (`pci-host-ecam-generic`) as the device tree
//! describes it: configuration space, bus range, the windows through
//! which the CPU reaches PCI addresses (`ranges`), and how INTx pins reach
//! the interrupt controller (`interrupt-map`).

use core::fmt;

use crate::devtree::{Irq, Window};

/// The most address windows recorded (`ranges` entries).
pub const MAX_RANGES: usize = 6;
/// The most `interrupt-map` entries recorded.
pub const MAX_ROUTES: usize = 32;
/// Bytes of ECAM per bus (32 devices of 8 functions of 4 KiB).
pub const ECAM_BUS_LEN: usize = 1 << 20;

/// The address space of a `ranges` entry (bits 24..26 of its first cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// I/O space.
    Io,
    /// 32-bit memory space.
    Mem32,
    /// 64-bit memory space.
    Mem64,
}

/// One window of PCI addresses the CPU reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciRange {
    /// Its address space.
    pub space: Space,
    /// Prefetchable memory (bit 30 of the first cell).
    pub prefetchable: bool,
    /// The first PCI address.
    pub pci: u64,
    /// The CPU address of `pci`.
    pub cpu: usize,
    /// Length in bytes.
    pub len: usize,
}

impl PciRange {
    /// The range a `ranges` entry describes: `phys_hi` its first child
    /// address cell, `pci` the other two, `cpu` the translated parent
    /// window. `None` for configuration space (space code 0) and empty
    /// windows.
    pub fn from_entry(phys_hi: u32, pci: u64, cpu: Window) -> Option<PciRange> {
        let space = match (phys_hi >> 24) & 3 {
            1 => Space::Io,
            2 => Space::Mem32,
            3 => Space::Mem64,
            _ => return None,
        };
        if cpu.len == 0 || pci.checked_add(cpu.len as u64).is_none() {
            return None;
        }
        Some(PciRange {
            space,
            prefetchable: phys_hi & (1 << 30) != 0,
            pci,
            cpu: cpu.base,
            len: cpu.len,
        })
    }

    /// The CPU window.
    pub fn window(&self) -> Window {
        Window {
            base: self.cpu,
            len: self.len,
        }
    }

    /// The CPU address of PCI address `pci`, if the range holds
    /// `[pci, pci + len)`.
    pub fn cpu_addr(&self, pci: u64, len: u64) -> Option<usize> {
        let off = pci.checked_sub(self.pci)?;
        let end = off.checked_add(len)?;
        if end > self.len as u64 {
            return None;
        }
        self.cpu.checked_add(usize::try_from(off).ok()?)
    }
}

/// One `interrupt-map` entry: a masked child unit address and pin, and
/// the controller input it reaches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Route {
    unit: [u32; 3],
    pin: u32,
    irq: Irq,
}

/// Why the bridge cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BridgeError {
    /// The node has no translatable `reg`.
    NoEcam,
    /// The ECAM window does not hold even one bus (1 MiB).
    EcamTooSmall(usize),
    /// The ECAM window is not 1 MiB-aligned.
    EcamUnaligned(usize),
    /// `bus-range` is not two cells with first <= last <= 255.
    BadBusRange,
}

impl fmt::Display for BridgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeError::NoEcam => write!(f, "no configuration space window"),
            BridgeError::EcamTooSmall(len) => {
                write!(f, "configuration space of {len:#x} bytes holds no bus")
            }
            BridgeError::EcamUnaligned(base) => {
                write!(f, "configuration space at {base:#x} is not 1 MiB-aligned")
            }
            BridgeError::BadBusRange => write!(f, "bad bus-range"),
        }
    }
}

/// A checked ECAM host bridge.
#[derive(Clone, Copy, Debug)]
pub struct HostBridge {
    /// The configuration space window (kernel-only).
    pub ecam: Window,
    /// The first bus number (`bus-range`), the bus enumerated.
    pub first_bus: u8,
    /// The last bus whose configuration space the window holds.
    pub last_bus: u8,
    ranges: [Option<PciRange>; MAX_RANGES],
    routes: [Route; MAX_ROUTES],
    nroutes: usize,
    /// `interrupt-map-mask`: unit address cells, then the pin.
    mask: [u32; 4],
}

fn be32(bytes: &[u8], i: usize) -> Option<u32> {
    let b = bytes.get(i.checked_mul(4)?..i.checked_mul(4)?.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl HostBridge {
    /// A bridge over `ecam` with `bus-range` `bus_range` (absent: 0..=255),
    /// clamped to the buses the window holds; no ranges, no routes yet.
    pub fn new(ecam: Option<Window>, bus_range: Option<&[u8]>) -> Result<Self, BridgeError> {
        let ecam = ecam.ok_or(BridgeError::NoEcam)?;
        if ecam.len < ECAM_BUS_LEN {
            return Err(BridgeError::EcamTooSmall(ecam.len));
        }
        if !ecam.base.is_multiple_of(ECAM_BUS_LEN) {
            return Err(BridgeError::EcamUnaligned(ecam.base));
        }
        let (first, last) = match bus_range {
            None => (0, 255),
            Some(v) if v.len() == 8 => {
                let (Some(a), Some(b)) = (be32(v, 0), be32(v, 1)) else {
                    return Err(BridgeError::BadBusRange);
                };
                match (u8::try_from(a), u8::try_from(b)) {
                    (Ok(a), Ok(b)) if a <= b => (a, b),
                    _ => return Err(BridgeError::BadBusRange),
                }
            }
            Some(_) => return Err(BridgeError::BadBusRange),
        };
        let held = ecam.len / ECAM_BUS_LEN - 1;
        let last = last.min(first.saturating_add(u8::try_from(held).unwrap_or(u8::MAX)));
        Ok(HostBridge {
            ecam,
            first_bus: first,
            last_bus: last,
            ranges: [None; MAX_RANGES],
            routes: [Route::default(); MAX_ROUTES],
            nroutes: 0,
            mask: [!0; 4],
        })
    }

    /// Records an address window; false if the table is full.
    pub fn add_range(&mut self, range: PciRange) -> bool {
        match self.ranges.iter_mut().find(|r| r.is_none()) {
            Some(free) => {
                *free = Some(range);
                true
            }
            None => false,
        }
    }

    /// The recorded address windows.
    pub fn ranges(&self) -> impl Iterator<Item = &PciRange> {
        self.ranges.iter().flatten()
    }

    /// Decodes `interrupt-map` (and `interrupt-map-mask`, if present): each
    /// entry is a child unit address (3 cells), a child interrupt
    /// specifier (`child_int_cells`), a controller phandle, the
    /// controller's unit address and interrupt specifier, whose sizes
    /// `controller_cells(phandle) -> (#address-cells, #interrupt-cells)`
    /// gives. Stops at the first entry it cannot decode (the rest cannot
    /// be delimited); returns how many entries it recorded.
    pub fn set_interrupt_map(
        &mut self,
        map: &[u8],
        mask: Option<&[u8]>,
        child_int_cells: usize,
        controller_cells: impl Fn(u32) -> Option<(usize, usize)>,
    ) -> usize {
        if child_int_cells != 1 {
            return 0;
        }
        if let Some(m) = mask {
            for (i, cell) in self.mask.iter_mut().enumerate() {
                *cell = be32(m, i).unwrap_or(0);
            }
        }
        let cells = map.len() / 4;
        let mut at = 0;
        while at < cells && self.nroutes < MAX_ROUTES {
            let (Some(hi), Some(mid), Some(lo), Some(pin), Some(phandle)) = (
                be32(map, at),
                be32(map, at + 1),
                be32(map, at + 2),
                be32(map, at + 3),
                be32(map, at + 4),
            ) else {
                break;
            };
            let Some((addr_cells, int_cells)) = controller_cells(phandle) else {
                break;
            };
            if !(1..=3).contains(&int_cells) || addr_cells > 3 {
                break;
            }
            let spec_at = at + 5 + addr_cells;
            let mut spec = [0u32; 3];
            let mut complete = true;
            for (i, s) in spec[..int_cells].iter_mut().enumerate() {
                match be32(map, spec_at + i) {
                    Some(v) => *s = v,
                    None => complete = false,
                }
            }
            if !complete {
                break;
            }
            if let Some(irq) = Irq::decode(phandle, &spec[..int_cells]) {
                let m = self.mask;
                self.routes[self.nroutes] = Route {
                    unit: [hi & m[0], mid & m[1], lo & m[2]],
                    pin: pin & m[3],
                    irq,
                };
                self.nroutes += 1;
            }
            at = spec_at + int_cells;
        }
        self.nroutes
    }

    /// The controller input that pin `pin` (1..=4, INTA..INTD) of device
    /// `dev` on the first bus reaches, per `interrupt-map`.
    pub fn intx(&self, dev: u8, pin: u8) -> Option<Irq> {
        if !(1..=4).contains(&pin) {
            return None;
        }
        let hi = (u32::from(self.first_bus) << 16 | u32::from(dev) << 11) & self.mask[0];
        let pin = u32::from(pin) & self.mask[3];
        self.routes[..self.nroutes]
            .iter()
            .find(|r| r.unit == [hi, 0, 0] && r.pin == pin)
            .map(|r| r.irq)
    }
}
