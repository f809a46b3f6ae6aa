//! Enumeration of one bus: which functions answer, what they are, the
//! size of each BAR (by the all-ones probe) and their vendor-specific
//! capabilities. Every value read is checked; a function or BAR that makes
//! no sense is recorded as refused, never trusted.

use core::fmt;

use super::config::{
    BAR0, Bdf, CAP_PTR, CLASS, CMD_BUS_MASTER, CMD_IO, CMD_MEMORY, COMMAND, CONFIG_LEN,
    ConfigSpace, HEADER, ID, INTERRUPT, NO_VENDOR, STATUS_CAP_LIST,
};

/// The most functions recorded.
pub const MAX_FUNCTIONS: usize = 32;
/// The most vendor-specific capabilities recorded per function.
pub const MAX_VENDOR_CAPS: usize = 8;
/// Bytes of each vendor-specific capability recorded (from its ID byte):
/// what `pci_cap` returns.
pub const VENDOR_CAP_BYTES: usize = nexus_abi::pci::PCI_CAP_BYTES;
/// BARs of a type-0 header.
pub const BARS: usize = 6;
/// Capability ID of a vendor-specific capability.
pub const CAP_VENDOR: u8 = 0x09;
/// Capabilities walked at most: more than fit in 256 bytes means a loop.
const MAX_CAPS_WALKED: usize = 48;

/// What a BAR decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarKind {
    /// 32-bit memory.
    Mem32,
    /// 64-bit memory (this BAR and the next one).
    Mem64,
    /// I/O space (never assigned: NEURON drives memory BARs only).
    Io,
}

/// A sized BAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bar {
    /// What it decodes.
    pub kind: BarKind,
    /// Prefetchable memory.
    pub prefetchable: bool,
    /// Its size in bytes (a power of two).
    pub size: u64,
    /// The CPU address it was assigned (`None`: not assigned).
    pub cpu: Option<usize>,
}

impl Bar {
    /// Bytes a task is granted: the size rounded up to whole pages.
    pub fn span(&self) -> u64 {
        self.size.max(4096)
    }
}

/// Why a BAR is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarError {
    /// The probe's size mask is not a run of ones from the top: the size
    /// is not a power of two.
    NotPowerOfTwo(u64),
    /// The memory type bits are a reserved encoding.
    ReservedType(u32),
    /// A 64-bit BAR in the last slot: it has no upper half.
    NoUpperHalf,
    /// No window of the bridge has room for it.
    NoRoom(u64),
    /// The BAR did not read back the address written to it.
    NotTaken,
}

impl fmt::Display for BarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarError::NotPowerOfTwo(mask) => {
                write!(f, "size mask {mask:#x} is not a power of two")
            }
            BarError::ReservedType(t) => write!(f, "reserved memory type {t}"),
            BarError::NoUpperHalf => write!(f, "a 64-bit BAR in the last slot"),
            BarError::NoRoom(size) => write!(f, "no room for {size:#x} bytes in the bridge"),
            BarError::NotTaken => write!(f, "did not take the address written to it"),
        }
    }
}

/// One of a function's six BAR registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarSlot {
    /// Not implemented (the probe reads back 0).
    Absent,
    /// A BAR.
    Bar(Bar),
    /// The upper half of the 64-bit BAR before it.
    Upper,
    /// A BAR that is not used, and why.
    Refused(BarError),
}

/// A vendor-specific capability, as the function's configuration space
/// holds it: its offset, the length its third byte declares, and its first
/// [`VENDOR_CAP_BYTES`] bytes (from the ID byte on; zero past the
/// function's configuration space).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VendorCap {
    /// Offset in configuration space.
    pub offset: u8,
    /// The declared length (byte 2).
    pub len: u8,
    /// The bytes.
    pub bytes: [u8; VENDOR_CAP_BYTES],
}

/// A function that answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function {
    /// Its address.
    pub bdf: Bdf,
    /// Vendor ID.
    pub vendor: u16,
    /// Device ID.
    pub device: u16,
    /// Base class.
    pub class: u8,
    /// Subclass.
    pub subclass: u8,
    /// Programming interface.
    pub prog_if: u8,
    /// Revision ID.
    pub revision: u8,
    /// Header type without the multi-function bit (0: endpoint, 1: bridge).
    pub header: u8,
    /// Interrupt pin: 0 none, 1..=4 INTA..INTD.
    pub pin: u8,
    /// The BAR registers (a bridge has two, other headers none).
    pub bars: [BarSlot; BARS],
    /// Vendor-specific capabilities, in list order.
    pub vendor_caps: [Option<VendorCap>; MAX_VENDOR_CAPS],
    /// Whether the capability list was cut short (a loop, a bad pointer, or
    /// more vendor capabilities than recorded).
    pub caps_truncated: bool,
}

impl Function {
    /// The memory BARs that were assigned: `(index, bar, cpu address)`.
    pub fn assigned(&self) -> impl Iterator<Item = (usize, Bar, usize)> + '_ {
        self.bars.iter().enumerate().filter_map(|(i, b)| match b {
            BarSlot::Bar(bar) => bar.cpu.map(|cpu| (i, *bar, cpu)),
            _ => None,
        })
    }

    /// The recorded vendor-specific capabilities.
    pub fn vendor_caps(&self) -> impl Iterator<Item = &VendorCap> {
        self.vendor_caps.iter().flatten()
    }
}

impl fmt::Display for Function {
    /// `00:01.0 1af4:1042 class 01:00:00 pin A: bar 1 0x40000000+0x1000,
    /// bar 4 0x400000000+0x4000 prefetchable 64-bit, bar 0 refused (...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:04x}:{:04x} class {:02x}:{:02x}:{:02x}",
            self.bdf, self.vendor, self.device, self.class, self.subclass, self.prog_if
        )?;
        if self.header != 0 {
            write!(f, " header type {:#x}", self.header)?;
        }
        if (1..=4).contains(&self.pin) {
            write!(f, " pin {}", char::from(b'A' + self.pin - 1))?;
        }
        let mut sep = ":";
        for (i, slot) in self.bars.iter().enumerate() {
            match slot {
                BarSlot::Absent | BarSlot::Upper => continue,
                BarSlot::Bar(bar) => match (bar.kind, bar.cpu) {
                    (BarKind::Io, _) => {
                        write!(f, "{sep} bar {i} I/O {:#x} (not assigned)", bar.size)?
                    }
                    (_, None) => write!(f, "{sep} bar {i} {:#x} (not assigned)", bar.size)?,
                    (kind, Some(cpu)) => {
                        write!(f, "{sep} bar {i} {cpu:#x}+{:#x}", bar.size)?;
                        if bar.prefetchable {
                            write!(f, " prefetchable")?;
                        }
                        if kind == BarKind::Mem64 {
                            write!(f, " 64-bit")?;
                        }
                    }
                },
                BarSlot::Refused(why) => write!(f, "{sep} bar {i} refused ({why})")?,
            }
            sep = ",";
        }
        if self.caps_truncated {
            write!(f, "; capability list cut short")?;
        }
        Ok(())
    }
}

/// The functions found, in address order.
#[derive(Clone, Debug)]
pub struct Functions {
    list: [Option<Function>; MAX_FUNCTIONS],
    /// Functions that answered but did not fit the table.
    pub dropped: usize,
}

impl Default for Functions {
    fn default() -> Self {
        Functions::new()
    }
}

impl Functions {
    /// An empty table.
    pub const fn new() -> Self {
        Functions {
            list: [None; MAX_FUNCTIONS],
            dropped: 0,
        }
    }

    /// The functions, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Function> {
        self.list.iter().flatten()
    }

    /// The function at table index `i`.
    pub fn get(&self, i: usize) -> Option<&Function> {
        self.list.get(i)?.as_ref()
    }

    /// Mutable access to the function at table index `i`.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut Function> {
        self.list.get_mut(i)?.as_mut()
    }

    /// Mutable access to every function.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Function> {
        self.list.iter_mut().flatten()
    }

    /// The functions with their table indices.
    pub fn indexed(&self) -> impl Iterator<Item = (usize, &Function)> {
        self.list
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().map(|f| (i, f)))
    }

    /// Adds a function at the first free index (counted in `dropped` if
    /// the table is full).
    pub fn push(&mut self, f: Function) {
        match self.list.iter_mut().find(|s| s.is_none()) {
            Some(free) => *free = Some(f),
            None => self.dropped += 1,
        }
    }
}

/// Enumerates bus `bus`: every device, every function of a multi-function
/// device. Memory and I/O decoding are turned off in each function found
/// (for the BAR probe; [`assign`](super::assign) turns memory decoding back
/// on where it assigned BARs).
pub fn enumerate(cfg: &mut impl ConfigSpace, bus: u8) -> Functions {
    let mut out = Functions::new();
    for dev in 0..32 {
        let Some(f0) = Bdf::new(bus, dev, 0) else {
            continue;
        };
        if vendor(cfg, f0) == NO_VENDOR {
            continue;
        }
        let multi = cfg.read(f0, HEADER) >> 16 & 0x80 != 0;
        let funcs = if multi { 8 } else { 1 };
        for func in 0..funcs {
            let Some(bdf) = Bdf::new(bus, dev, func) else {
                continue;
            };
            if vendor(cfg, bdf) == NO_VENDOR {
                continue;
            }
            out.push(probe(cfg, bdf));
        }
    }
    out
}

fn vendor(cfg: &mut impl ConfigSpace, f: Bdf) -> u16 {
    cfg.read(f, ID) as u16
}

/// Reads one function: identity, BARs, interrupt pin, vendor capabilities.
pub fn probe(cfg: &mut impl ConfigSpace, bdf: Bdf) -> Function {
    let id = cfg.read(bdf, ID);
    let class = cfg.read(bdf, CLASS);
    let header = (cfg.read(bdf, HEADER) >> 16) as u8 & 0x7f;
    let command = cfg.read(bdf, COMMAND);
    // Decoding off while the BARs are probed: an all-ones BAR must not
    // claim the whole address space meanwhile.
    cfg.write(
        bdf,
        COMMAND,
        command & 0xffff & !(CMD_IO | CMD_MEMORY | CMD_BUS_MASTER),
    );
    let nbars = match header {
        0 => BARS,
        1 => 2,
        _ => 0,
    };
    let mut bars = [BarSlot::Absent; BARS];
    let mut i = 0;
    while i < nbars {
        let (slot, upper) = size_bar(cfg, bdf, i, nbars);
        bars[i] = slot;
        if upper {
            bars[i + 1] = BarSlot::Upper;
            i += 1;
        }
        i += 1;
    }
    let pin = (cfg.read(bdf, INTERRUPT) >> 8) as u8;
    let mut f = Function {
        bdf,
        vendor: id as u16,
        device: (id >> 16) as u16,
        class: (class >> 24) as u8,
        subclass: (class >> 16) as u8,
        prog_if: (class >> 8) as u8,
        revision: class as u8,
        header,
        pin: if pin <= 4 { pin } else { 0 },
        bars,
        vendor_caps: [None; MAX_VENDOR_CAPS],
        caps_truncated: false,
    };
    if command & STATUS_CAP_LIST != 0 {
        read_vendor_caps(cfg, &mut f);
    }
    f
}

fn bar_offset(i: usize) -> u16 {
    BAR0 + 4 * i as u16
}

/// Sizes BAR `i` by writing all ones and reading the mask back (then
/// restores it). Returns the slot and whether it took the next register
/// as its upper half.
fn size_bar(cfg: &mut impl ConfigSpace, bdf: Bdf, i: usize, nbars: usize) -> (BarSlot, bool) {
    let off = bar_offset(i);
    let orig = cfg.read(bdf, off);
    cfg.write(bdf, off, !0);
    let probe = cfg.read(bdf, off);
    cfg.write(bdf, off, orig);
    if probe == 0 {
        return (BarSlot::Absent, false);
    }
    if orig & 1 == 1 {
        // I/O: address bits 2.. (the upper 16 may be hardwired to 0).
        let probe = if probe >> 16 == 0 {
            probe | 0xffff_0000
        } else {
            probe
        };
        let mask = u64::from(probe & !0x3) | 0xffff_ffff_0000_0000;
        return (slot_of(BarKind::Io, false, mask), false);
    }
    let prefetchable = orig & 0x8 != 0;
    match (orig >> 1) & 3 {
        0 => {
            let mask = u64::from(probe & !0xf) | 0xffff_ffff_0000_0000;
            (slot_of(BarKind::Mem32, prefetchable, mask), false)
        }
        2 => {
            if i + 1 >= nbars {
                return (BarSlot::Refused(BarError::NoUpperHalf), false);
            }
            let hi_off = bar_offset(i + 1);
            let hi_orig = cfg.read(bdf, hi_off);
            cfg.write(bdf, hi_off, !0);
            let hi = cfg.read(bdf, hi_off);
            cfg.write(bdf, hi_off, hi_orig);
            let mask = u64::from(hi) << 32 | u64::from(probe & !0xf);
            (slot_of(BarKind::Mem64, prefetchable, mask), true)
        }
        t => (BarSlot::Refused(BarError::ReservedType(t)), false),
    }
}

/// The BAR whose size mask is `mask` (address bits that held a 1): its
/// complement plus one must be a power of two.
fn slot_of(kind: BarKind, prefetchable: bool, mask: u64) -> BarSlot {
    let size = (!mask).wrapping_add(1);
    if mask == 0 || !size.is_power_of_two() {
        return BarSlot::Refused(BarError::NotPowerOfTwo(mask));
    }
    BarSlot::Bar(Bar {
        kind,
        prefetchable,
        size,
        cpu: None,
    })
}

/// Walks the capability list and records the vendor-specific entries.
/// Pointers are checked (inside the header's end .. 256, dword-aligned);
/// a loop ends the walk after [`MAX_CAPS_WALKED`] entries.
fn read_vendor_caps(cfg: &mut impl ConfigSpace, f: &mut Function) {
    let mut ptr = (cfg.read(f.bdf, CAP_PTR) & 0xfc) as u8;
    let mut n = 0;
    for _ in 0..MAX_CAPS_WALKED {
        if ptr == 0 {
            return;
        }
        if ptr < 0x40 {
            f.caps_truncated = true;
            return;
        }
        let head = cfg.read(f.bdf, u16::from(ptr));
        if head as u8 == CAP_VENDOR {
            if n == MAX_VENDOR_CAPS {
                f.caps_truncated = true;
                return;
            }
            let mut bytes = [0u8; VENDOR_CAP_BYTES];
            for (k, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                let at = u16::from(ptr) + 4 * k as u16;
                if at < CONFIG_LEN {
                    chunk.copy_from_slice(&cfg.read(f.bdf, at).to_le_bytes());
                }
            }
            f.vendor_caps[n] = Some(VendorCap {
                offset: ptr,
                len: (head >> 16) as u8,
                bytes,
            });
            n += 1;
        }
        ptr = (head >> 8) as u8 & 0xfc;
    }
    f.caps_truncated = true;
}
