//! The device table: the MMIO windows of the device tree that may be
//! handed to tasks, checked and classified at boot.
//!
//! Every device-tree node with an MMIO window that is not RAM and not a
//! device the kernel drives itself (interrupt controllers, the timer, the
//! test finisher, the console UART, PCIe configuration space) is a
//! candidate. A window is accepted when its page span (the window rounded
//! out to whole pages) touches no other window of the tree and no region
//! the kernel keeps: a window smaller than a page is granted as the page
//! that holds it only when nothing else shares that page. Virtio-mmio
//! windows are classed by their DeviceID register, every other window by
//! its node's first `compatible` string without the vendor prefix
//! (`google,goldfish-rtc` is `goldfish-rtc`).

use core::fmt;

use crate::devtree::{DeviceTree, Irq, MAX_IRQS, Node, Role, Window};

/// The value of every virtio-mmio MagicValue register ("virt").
pub const VIRTIO_MAGIC: u32 = 0x7472_6976;

/// The most device windows the table holds.
pub const MAX_DEVICES: usize = 48;

/// Page size: the granularity of every window in the table.
const PAGE: usize = 4096;

/// What a window holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceClass {
    /// Virtio DeviceID 2.
    Blk,
    /// Virtio DeviceID 1.
    Net,
    /// Virtio DeviceID 4.
    Rng,
    /// Virtio DeviceID 0: a transport slot with no device behind it.
    Empty,
    /// Any other virtio DeviceID.
    Other(u32),
    /// A device-tree node that is no virtio transport, by its first
    /// `compatible` string without the vendor prefix.
    Named(&'static str),
    /// A memory BAR of a PCI function.
    PciBar(PciBar),
}

/// Which PCI function and BAR a window is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciBar {
    /// The function's index in the kernel's function table.
    pub function: u8,
    /// The BAR number (0..6).
    pub bar: u8,
}

impl DeviceClass {
    /// The class a virtio DeviceID register value names.
    pub fn from_device_id(id: u32) -> DeviceClass {
        match id {
            0 => DeviceClass::Empty,
            1 => DeviceClass::Net,
            2 => DeviceClass::Blk,
            4 => DeviceClass::Rng,
            other => DeviceClass::Other(other),
        }
    }

    /// The class of a non-virtio node with `compatible` as its first
    /// compatible string: the part after the vendor's comma.
    pub fn from_compatible(compatible: &'static str) -> DeviceClass {
        let name = compatible
            .split_once(',')
            .map_or(compatible, |(_, model)| model);
        DeviceClass::Named(name)
    }

    /// The virtio DeviceID of this class, if it is a virtio class.
    pub fn device_id(self) -> Option<u32> {
        match self {
            DeviceClass::Empty => Some(0),
            DeviceClass::Net => Some(1),
            DeviceClass::Blk => Some(2),
            DeviceClass::Rng => Some(4),
            DeviceClass::Other(id) => Some(id),
            DeviceClass::Named(_) | DeviceClass::PciBar(_) => None,
        }
    }

    /// Whether the window is a virtio-mmio transport.
    pub fn is_virtio(self) -> bool {
        self.device_id().is_some()
    }

    /// The PCI function and BAR, if the window is a BAR.
    pub fn pci(self) -> Option<PciBar> {
        match self {
            DeviceClass::PciBar(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for DeviceClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceClass::Blk => write!(f, "virtio-blk"),
            DeviceClass::Net => write!(f, "virtio-net"),
            DeviceClass::Rng => write!(f, "virtio-rng"),
            DeviceClass::Empty => write!(f, "virtio-empty"),
            DeviceClass::Other(id) => write!(f, "virtio-{id}"),
            DeviceClass::Named(name) => write!(f, "{name}"),
            DeviceClass::PciBar(p) => write!(f, "pci function {} bar {}", p.function, p.bar),
        }
    }
}

/// A physical range the kernel keeps whatever the device tree says (the
/// console and the finisher it maps for itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// What it is ("console UART", ...).
    pub name: &'static str,
    /// Base address.
    pub base: usize,
    /// Length in bytes.
    pub len: usize,
}

/// Why a window from the device tree was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowError {
    /// The window is empty.
    Empty,
    /// `base + len`, rounded up to a page, overflows.
    Overflow,
    /// The window itself overlaps another window (`what`, at `base`).
    Overlaps {
        /// What the other window is.
        what: &'static str,
        /// Its base.
        base: usize,
    },
    /// The window is smaller than or not aligned to a page, and another
    /// window (`what`, at `base`) lies in one of its pages.
    SharesPage {
        /// What the other window is.
        what: &'static str,
        /// Its base.
        base: usize,
    },
    /// The MagicValue register is wrong: not a virtio-mmio transport.
    BadMagic(u32),
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowError::Empty => write!(f, "empty window"),
            WindowError::Overflow => write!(f, "range overflows"),
            WindowError::Overlaps { what, base } => write!(f, "overlaps {what} at {base:#x}"),
            WindowError::SharesPage { what, base } => {
                write!(f, "shares a page with {what} at {base:#x}")
            }
            WindowError::BadMagic(m) => write!(f, "bad magic {m:#x}"),
        }
    }
}

/// What a node's role is called in refusals.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Ram => "RAM",
        Role::Reserved => "reserved memory",
        Role::Kernel(what) => what,
        Role::Device => "another device",
    }
}

/// The window rounded out to whole pages.
pub fn page_span(w: Window) -> Result<Window, WindowError> {
    if w.len == 0 {
        return Err(WindowError::Empty);
    }
    let end = w
        .base
        .checked_add(w.len)
        .and_then(|e| e.checked_next_multiple_of(PAGE))
        .ok_or(WindowError::Overflow)?;
    let base = w.base & !(PAGE - 1);
    Ok(Window {
        base,
        len: end - base,
    })
}

/// Checks window `w` of node `own`: its page span must touch no other
/// window of the tree (of any node, `own`'s other windows included) and
/// none of `kept`. Returns the page span, which is what a task is granted.
pub fn check_window(
    tree: &DeviceTree<'_>,
    own: usize,
    w: Window,
    kept: &[Region],
) -> Result<Window, WindowError> {
    let span = page_span(w)?;
    for r in kept {
        let region = Window {
            base: r.base,
            len: r.len,
        };
        if span.overlaps(&region) {
            return Err(WindowError::Overlaps {
                what: r.name,
                base: r.base,
            });
        }
    }
    let mut verdict = Ok(span);
    let mut seen_self = false;
    tree.windows(|id, role, other| {
        if verdict.is_err() {
            return;
        }
        if id == own && other == w && !seen_self {
            seen_self = true;
            return;
        }
        let what = role_name(role);
        if w.overlaps(&other) {
            verdict = Err(WindowError::Overlaps {
                what,
                base: other.base,
            });
        } else if span.overlaps(&other) {
            verdict = Err(WindowError::SharesPage {
                what,
                base: other.base,
            });
        }
    });
    verdict
}

/// Why a candidate node gives no device windows at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeSkip {
    /// RAM or a device the kernel drives: silently not a candidate.
    NotCandidate,
    /// A device node without `compatible`: it cannot be named.
    NoCompatible,
}

/// The class of a candidate node that is no virtio transport, or why it
/// is none; virtio transports (`virtio,mmio`) are `Ok(None)`: their class
/// comes from their DeviceID register.
pub fn classify(node: &Node<'static>) -> Result<Option<DeviceClass>, NodeSkip> {
    if node.role != Role::Device {
        return Err(NodeSkip::NotCandidate);
    }
    match node.compatible {
        Some("virtio,mmio") => Ok(None),
        Some(c) => Ok(Some(DeviceClass::from_compatible(c))),
        None => Err(NodeSkip::NoCompatible),
    }
}

/// A checked device window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    /// Physical base (page-aligned).
    pub base: usize,
    /// Length in bytes (whole pages).
    pub len: usize,
    /// The interrupts of the node the window belongs to.
    pub irqs: [Irq; MAX_IRQS],
    /// How many of `irqs` are valid.
    pub nirqs: usize,
    /// What it is.
    pub class: DeviceClass,
}

impl Device {
    /// A device of `class` over `window` with the interrupts of `node`.
    pub fn new(window: Window, class: DeviceClass, node: &Node<'_>) -> Device {
        Device {
            base: window.base,
            len: window.len,
            irqs: node.irqs,
            nirqs: node.nirqs,
            class,
        }
    }

    /// The device's interrupts (as its device-tree node lists them).
    pub fn interrupts(&self) -> &[Irq] {
        &self.irqs[..self.nirqs]
    }
}

/// Every accepted device window, in ascending address order.
#[derive(Clone, Debug)]
pub struct DeviceTable {
    devices: [Option<Device>; MAX_DEVICES],
}

impl Default for DeviceTable {
    fn default() -> Self {
        DeviceTable::new()
    }
}

impl DeviceTable {
    /// An empty table.
    pub const fn new() -> Self {
        DeviceTable {
            devices: [None; MAX_DEVICES],
        }
    }

    /// Adds a device, keeping address order. Returns false if the table is
    /// full or the window overlaps one already present.
    pub fn insert(&mut self, dev: Device) -> bool {
        let overlaps = self
            .iter()
            .any(|d| dev.base < d.base + d.len && d.base < dev.base + dev.len);
        let Some(free) = self.devices.iter().position(Option::is_none) else {
            return false;
        };
        if overlaps {
            return false;
        }
        self.devices[free] = Some(dev);
        self.devices[..=free].sort_unstable_by_key(|d| d.map_or(usize::MAX, |d| d.base));
        true
    }

    /// The devices, in ascending address order.
    pub fn iter(&self) -> impl Iterator<Item = &Device> {
        self.devices.iter().flatten()
    }

    /// The `instance`-th device (from 0, in address order) of `class`.
    pub fn find(&self, class: DeviceClass, instance: usize) -> Option<&Device> {
        self.iter().filter(|d| d.class == class).nth(instance)
    }

    /// The device whose window starts at `base`.
    pub fn at(&self, base: usize) -> Option<&Device> {
        self.iter().find(|d| d.base == base)
    }
}

/// What discovery found, one event at a time, for the boot log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found<'a> {
    /// A window entered the table.
    Device(Device),
    /// A window was refused.
    Refused {
        /// The node it belongs to.
        node: &'a str,
        /// The window as the tree gives it.
        window: Window,
        /// Why.
        why: WindowError,
    },
    /// A device node without `compatible`.
    Unnamed(&'a str),
    /// A node with more windows than the walk records: the rest are not
    /// handed out.
    MoreWindows(&'a str, usize),
    /// The table was full (or the window overlapped one in it).
    NotInserted(Window),
}

/// Builds the device table from `tree`: checks every window of every
/// candidate node, classifies it, and reads virtio transports' MagicValue
/// and DeviceID with `virtio_id(base) -> (magic, device_id)` (called only
/// for windows that passed every check). `report` hears of each window.
pub fn discover(
    tree: &DeviceTree<'static>,
    kept: &[Region],
    mut virtio_id: impl FnMut(usize) -> (u32, u32),
    mut report: impl FnMut(Found<'static>),
) -> DeviceTable {
    let mut table = DeviceTable::default();
    tree.nodes(|node| {
        let named = match classify(node) {
            Ok(class) => class,
            Err(NodeSkip::NotCandidate) => return,
            Err(NodeSkip::NoCompatible) => return report(Found::Unnamed(node.name)),
        };
        if node.more_regs > 0 {
            report(Found::MoreWindows(node.name, node.more_regs));
        }
        for &w in node.windows() {
            let refuse = |why| Found::Refused {
                node: node.name,
                window: w,
                why,
            };
            let span = match check_window(tree, node.id, w, kept) {
                Ok(span) => span,
                Err(why) => {
                    report(refuse(why));
                    continue;
                }
            };
            let class = match named {
                Some(class) => class,
                None => match virtio_id(w.base) {
                    (VIRTIO_MAGIC, id) => DeviceClass::from_device_id(id),
                    (magic, _) => {
                        report(refuse(WindowError::BadMagic(magic)));
                        continue;
                    }
                },
            };
            let dev = Device::new(span, class, node);
            if table.insert(dev) {
                report(Found::Device(dev));
            } else {
                report(Found::NotInserted(span));
            }
        }
    });
    table
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
