//! Reading the flattened device tree: RAM, the timebase, and every node's
//! MMIO windows and interrupts, as plain data the boot code checks.
//!
//! Addresses are translated through every ancestor's `ranges` (a bus
//! without `ranges` is not memory-mapped: its children have no MMIO
//! windows), so `/cpus/cpu@N` (whose `reg` is a hart id) never counts as a
//! window. Interrupts are read raw, per the interrupt parent's
//! `#interrupt-cells` (the `interrupt-parent` inherited from the nearest
//! ancestor that has one), from `interrupts` or `interrupts-extended`.

use fdt::Fdt;
use fdt::node::FdtNode;

use crate::pci::{BridgeError, HostBridge, PciRange};

/// The most windows recorded per node (further `reg` entries are counted
/// in [`Node::more_regs`] and never become windows).
pub const MAX_REGS: usize = 4;
/// The most interrupts recorded per node.
pub const MAX_IRQS: usize = 4;
/// The deepest node the walk descends to (QEMU `virt` has depth 4).
const MAX_DEPTH: usize = 16;

/// A physical range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// Base address.
    pub base: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Window {
    /// Whether the two ranges share a byte.
    pub fn overlaps(&self, other: &Window) -> bool {
        self.base < other.base.saturating_add(other.len)
            && other.base < self.base.saturating_add(self.len)
    }
}

/// One interrupt of a device: which controller and which input of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Irq {
    /// The phandle of the interrupt controller.
    pub controller: u32,
    /// The controller's input (the PLIC or APLIC source number).
    pub number: u32,
    /// The trigger flags where the specifier has them (0 otherwise).
    pub flags: u32,
}

impl Irq {
    /// Decodes one interrupt specifier of `cells` (the controller's
    /// `#interrupt-cells` values): 1 cell is the number (PLIC); 2 cells are
    /// number and trigger type (APLIC); 3 cells are the Arm GIC form (type,
    /// number, flags: SPI `n` is input `32 + n`, PPI `n` is `16 + n`).
    pub fn decode(controller: u32, cells: &[u32]) -> Option<Irq> {
        let (number, flags) = match *cells {
            [n] => (n, 0),
            [n, flags] => (n, flags),
            [kind, n, flags] => {
                let offset = match kind {
                    0 => 32,
                    1 => 16,
                    _ => return None,
                };
                (n.checked_add(offset)?, flags)
            }
            _ => return None,
        };
        Some(Irq {
            controller,
            number,
            flags,
        })
    }
}

/// What a node is to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// RAM (`device_type = "memory"`).
    Ram,
    /// A carve-out of RAM (under `/reserved-memory`).
    Reserved,
    /// A device the kernel itself drives; never handed out. The string
    /// says which ("interrupt controller", "timer", ...).
    Kernel(&'static str),
    /// Anything else with MMIO windows: a candidate for the device table.
    Device,
}

/// A node with at least one MMIO window.
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    /// The node name (`rtc@101000`).
    pub name: &'a str,
    /// The first `compatible` string, if any.
    pub compatible: Option<&'a str>,
    /// What it is.
    pub role: Role,
    /// Its windows, translated to CPU addresses.
    pub regs: [Window; MAX_REGS],
    /// How many of `regs` are valid.
    pub nregs: usize,
    /// `reg` entries past [`MAX_REGS`], or not translatable.
    pub more_regs: usize,
    /// Its interrupts.
    pub irqs: [Irq; MAX_IRQS],
    /// How many of `irqs` are valid.
    pub nirqs: usize,
    /// Identifies the node within the tree (unique per node).
    pub id: usize,
}

impl Node<'_> {
    /// The valid windows.
    pub fn windows(&self) -> &[Window] {
        &self.regs[..self.nregs]
    }

    /// The valid interrupts.
    pub fn interrupts(&self) -> &[Irq] {
        &self.irqs[..self.nirqs]
    }
}

/// How the addresses of one node's children reach the CPU: the chain of
/// buses from the node up to the root.
#[derive(Clone, Copy)]
struct Bus<'p, 'a> {
    /// The bus one level up; `None` at the root.
    up: Option<&'p Bus<'p, 'a>>,
    /// `#address-cells` and `#size-cells` of this bus's children.
    addr_cells: usize,
    size_cells: usize,
    /// This bus node's `ranges` (`None`: not memory-mapped; empty:
    /// identity). Always `Some(&[])` at the root.
    ranges: Option<&'a [u8]>,
    /// The interrupt parent children inherit.
    interrupt_parent: Option<u32>,
    /// Children are carve-outs of RAM (`/reserved-memory`).
    reserved: bool,
}

fn be32(bytes: &[u8], i: usize) -> Option<u32> {
    let b = bytes.get(i * 4..i * 4 + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// `n` cells from cell `at` as one number (at most two cells).
fn cells(bytes: &[u8], at: usize, n: usize) -> Option<u64> {
    match n {
        0 => Some(0),
        1 => be32(bytes, at).map(u64::from),
        2 => Some(u64::from(be32(bytes, at)?) << 32 | u64::from(be32(bytes, at + 1)?)),
        _ => None,
    }
}

fn prop_u32(node: FdtNode<'_, '_>, name: &str) -> Option<u32> {
    be32(node.property(name)?.value, 0)
}

impl<'p, 'a> Bus<'p, 'a> {
    /// The CPU address of `[addr, addr + len)` on this bus, if every bus up
    /// to the root maps it.
    fn translate(&self, addr: u64, len: u64) -> Option<Window> {
        let Some(up) = self.up else {
            return Some(Window {
                base: usize::try_from(addr).ok()?,
                len: usize::try_from(len).ok()?,
            });
        };
        let ranges = self.ranges?;
        if ranges.is_empty() {
            return up.translate(addr, len);
        }
        let (child, parent, size) = (self.addr_cells, up.addr_cells, self.size_cells);
        let entry = child + parent + size;
        if entry == 0 {
            return None;
        }
        for e in 0..ranges.len() / 4 / entry {
            let at = e * entry;
            let (Some(c), Some(p), Some(s)) = (
                cells(ranges, at, child),
                cells(ranges, at + child, parent),
                cells(ranges, at + child + parent, size),
            ) else {
                return None;
            };
            let end = addr.checked_add(len)?;
            if addr >= c && end <= c.checked_add(s)? {
                return up.translate(p.checked_add(addr - c)?, len);
            }
        }
        None
    }
}

/// What a walk reports: whole nodes, single windows, PCIe host bridges.
struct Visitor<'f, 'a> {
    node: Option<&'f mut dyn FnMut(&Node<'a>)>,
    window: Option<&'f mut dyn FnMut(usize, Role, Window)>,
    pci: Option<&'f mut dyn FnMut(&'a str, Result<HostBridge, BridgeError>)>,
}

/// A parsed device tree.
pub struct DeviceTree<'a> {
    fdt: Fdt<'a>,
}

impl<'a> DeviceTree<'a> {
    /// Wraps a parsed tree.
    pub fn new(fdt: Fdt<'a>) -> Self {
        DeviceTree { fdt }
    }

    /// The underlying parsed tree.
    pub fn fdt(&self) -> &Fdt<'a> {
        &self.fdt
    }

    /// Parses the blob in `bytes`.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, &'static str> {
        Fdt::new(bytes)
            .map(DeviceTree::new)
            .map_err(|_| "bad device tree")
    }

    /// The blob's size in bytes.
    pub fn total_size(&self) -> usize {
        self.fdt.total_size()
    }

    /// `time` ticks per second (`/cpus/timebase-frequency`).
    pub fn timebase(&self) -> Option<u64> {
        let cpus = self.fdt.find_node("/cpus")?;
        let v = cpus.property("timebase-frequency")?.value;
        match v.len() {
            4 => cells(v, 0, 1),
            8 => cells(v, 0, 2),
            _ => None,
        }
    }

    /// How many `/cpus/cpu@N` nodes there are.
    pub fn cpu_count(&self) -> usize {
        self.fdt
            .find_node("/cpus")
            .map_or(0, |c| c.children().filter(|n| is_cpu(*n)).count())
    }

    /// Calls `f` for every RAM window (every `reg` of every
    /// `device_type = "memory"` node), in tree order.
    pub fn ram(&self, mut f: impl FnMut(Window)) {
        self.nodes(|n| {
            if n.role == Role::Ram {
                n.windows().iter().copied().for_each(&mut f);
            }
        });
    }

    /// Calls `f` for every node that has at least one MMIO window, in tree
    /// order. A node's windows past [`MAX_REGS`] are only in
    /// [`DeviceTree::windows`].
    pub fn nodes(&self, mut f: impl FnMut(&Node<'a>)) {
        self.walk(&mut Visitor {
            node: Some(&mut f),
            window: None,
            pci: None,
        });
    }

    /// Calls `f(node name, bridge)` for every ECAM host bridge
    /// (`pci-host-ecam-generic`): its configuration space, bus range,
    /// memory and I/O windows (translated to CPU addresses) and its
    /// `interrupt-map`, or why it cannot be used.
    pub fn pci_hosts(&self, mut f: impl FnMut(&'a str, Result<HostBridge, BridgeError>)) {
        self.walk(&mut Visitor {
            node: None,
            window: None,
            pci: Some(&mut f),
        });
    }

    /// Calls `f(node id, role, window)` for every MMIO window of every
    /// node, all of them, in tree order.
    pub fn windows(&self, mut f: impl FnMut(usize, Role, Window)) {
        self.walk(&mut Visitor {
            node: None,
            window: Some(&mut f),
            pci: None,
        });
    }

    fn walk(&self, v: &mut Visitor<'_, 'a>) {
        let Some(root) = self.fdt.find_node("/") else {
            return;
        };
        let sizes = root.cell_sizes();
        let bus = Bus {
            up: None,
            addr_cells: sizes.address_cells,
            size_cells: sizes.size_cells,
            ranges: Some(&[]),
            interrupt_parent: prop_u32(root, "interrupt-parent"),
            reserved: false,
        };
        let console = self.console_id();
        for child in root.children() {
            self.visit(child, &bus, console, 1, v);
        }
    }

    /// The node `/chosen/stdout-path` names (the kernel's console).
    fn console_id(&self) -> Option<usize> {
        let path = self
            .fdt
            .find_node("/chosen")?
            .property("stdout-path")?
            .as_str()?;
        let path = path.split(':').next()?;
        let node = self.fdt.find_node(path)?;
        Some(node.name.as_ptr() as usize)
    }

    fn visit(
        &self,
        node: FdtNode<'_, 'a>,
        bus: &Bus<'_, 'a>,
        console: Option<usize>,
        depth: usize,
        v: &mut Visitor<'_, 'a>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let id = node.name.as_ptr() as usize;
        let interrupt_parent = prop_u32(node, "interrupt-parent").or(bus.interrupt_parent);
        if let Some(reg) = node.property("reg") {
            let mut out = Node {
                name: node.name,
                compatible: node.compatible().map(|c| c.first()),
                role: role(node, bus.reserved, console == Some(id)),
                regs: [Window::default(); MAX_REGS],
                nregs: 0,
                more_regs: 0,
                irqs: [Irq::default(); MAX_IRQS],
                nirqs: 0,
                id,
            };
            // A bus whose children have no size (`/cpus`) is not MMIO.
            if bus.size_cells > 0 {
                let entry = bus.addr_cells + bus.size_cells;
                for e in 0..reg.value.len() / 4 / entry {
                    let window = cells(reg.value, e * entry, bus.addr_cells).and_then(|a| {
                        let len = cells(reg.value, e * entry + bus.addr_cells, bus.size_cells)?;
                        bus.translate(a, len)
                    });
                    if let (Some(w), Some(f)) = (window, v.window.as_mut()) {
                        f(id, out.role, w);
                    }
                    match window {
                        Some(w) if out.nregs < MAX_REGS => {
                            out.regs[out.nregs] = w;
                            out.nregs += 1;
                        }
                        _ => out.more_regs += 1,
                    }
                }
            }
            if let (true, Some(f)) = (out.nregs > 0, v.node.as_mut()) {
                self.interrupts(node, interrupt_parent, &mut out);
                f(&out);
            }
        }
        let sizes = node.cell_sizes();
        if let Some(f) = v.pci.as_mut()
            && is_pci_host(node)
        {
            f(node.name, self.pci_host(node, bus, sizes.size_cells));
        }
        let child_bus = Bus {
            up: Some(bus),
            addr_cells: sizes.address_cells,
            size_cells: sizes.size_cells,
            ranges: node.property("ranges").map(|p| p.value),
            interrupt_parent,
            reserved: bus.reserved || node.name == "reserved-memory",
        };
        for child in node.children() {
            self.visit(child, &child_bus, console, depth + 1, v);
        }
    }

    /// The host bridge `node` on `bus` describes; `size_cells` is the
    /// node's own `#size-cells` (its `ranges` use it).
    fn pci_host(
        &self,
        node: FdtNode<'_, 'a>,
        bus: &Bus<'_, 'a>,
        size_cells: usize,
    ) -> Result<HostBridge, BridgeError> {
        let ecam = node.property("reg").and_then(|reg| {
            let a = cells(reg.value, 0, bus.addr_cells)?;
            let len = cells(reg.value, bus.addr_cells, bus.size_cells)?;
            bus.translate(a, len)
        });
        let bus_range = node.property("bus-range").map(|p| p.value);
        let mut bridge = HostBridge::new(ecam, bus_range)?;
        if let Some(ranges) = node.property("ranges") {
            // Child addresses are 3 cells (space, then a 64-bit address).
            let entry = 3 + bus.addr_cells + size_cells;
            for e in 0..ranges.value.len() / 4 / entry {
                let at = e * entry;
                let range = (|| {
                    let hi = be32(ranges.value, at)?;
                    let pci = cells(ranges.value, at + 1, 2)?;
                    let cpu = cells(ranges.value, at + 3, bus.addr_cells)?;
                    let len = cells(ranges.value, at + 3 + bus.addr_cells, size_cells)?;
                    PciRange::from_entry(hi, pci, bus.translate(cpu, len)?)
                })();
                if let Some(r) = range {
                    bridge.add_range(r);
                }
            }
        }
        if let Some(map) = node.property("interrupt-map") {
            let mask = node.property("interrupt-map-mask").map(|p| p.value);
            let child_cells = node.interrupt_cells().unwrap_or(1);
            bridge.set_interrupt_map(map.value, mask, child_cells, |phandle| {
                let ctl = self.fdt.find_phandle(phandle)?;
                let addr = ctl
                    .property("#address-cells")
                    .and_then(|p| be32(p.value, 0))
                    .unwrap_or(0);
                Some((addr as usize, ctl.interrupt_cells()?))
            });
        }
        Ok(bridge)
    }

    /// `#interrupt-cells` of the controller with `phandle`.
    fn interrupt_cells(&self, phandle: u32) -> Option<usize> {
        self.fdt.find_phandle(phandle)?.interrupt_cells()
    }

    /// Fills `out.irqs` from `interrupts-extended`, or else from
    /// `interrupts` with the inherited interrupt parent.
    fn interrupts(&self, node: FdtNode<'_, 'a>, parent: Option<u32>, out: &mut Node<'a>) {
        let mut push = |irq: Irq| {
            if out.nirqs < MAX_IRQS {
                out.irqs[out.nirqs] = irq;
                out.nirqs += 1;
            }
        };
        let mut spec = [0u32; 3];
        if let Some(ext) = node.property("interrupts-extended") {
            let mut at = 0;
            while let Some(phandle) = be32(ext.value, at) {
                let Some(n) = self
                    .interrupt_cells(phandle)
                    .filter(|n| (1..=3).contains(n))
                else {
                    return;
                };
                for (i, s) in spec[..n].iter_mut().enumerate() {
                    let Some(v) = be32(ext.value, at + 1 + i) else {
                        return;
                    };
                    *s = v;
                }
                if let Some(irq) = Irq::decode(phandle, &spec[..n]) {
                    push(irq);
                }
                at += 1 + n;
            }
            return;
        }
        let (Some(ints), Some(phandle)) = (node.property("interrupts"), parent) else {
            return;
        };
        let Some(n) = self
            .interrupt_cells(phandle)
            .filter(|n| (1..=3).contains(n))
        else {
            return;
        };
        for e in 0..ints.value.len() / 4 / n {
            for (i, s) in spec[..n].iter_mut().enumerate() {
                *s = be32(ints.value, e * n + i).unwrap_or(0);
            }
            if let Some(irq) = Irq::decode(phandle, &spec[..n]) {
                push(irq);
            }
        }
    }
}

fn is_memory(node: FdtNode<'_, '_>) -> bool {
    node.property("device_type").and_then(|p| p.as_str()) == Some("memory")
}

fn is_pci_host(node: FdtNode<'_, '_>) -> bool {
    node.compatible()
        .is_some_and(|c| c.all().any(|s| s == "pci-host-ecam-generic"))
}

fn is_cpu(node: FdtNode<'_, '_>) -> bool {
    node.property("device_type").and_then(|p| p.as_str()) == Some("cpu")
}

/// What a node is: RAM, kernel-owned (and why), or a device.
fn role(node: FdtNode<'_, '_>, reserved: bool, console: bool) -> Role {
    if reserved {
        return Role::Reserved;
    }
    if is_memory(node) {
        return Role::Ram;
    }
    if node.property("interrupt-controller").is_some() {
        return Role::Kernel("interrupt controller");
    }
    if console {
        return Role::Kernel("console UART");
    }
    let compatible =
        |want: &dyn Fn(&str) -> bool| node.compatible().is_some_and(|c| c.all().any(want));
    if compatible(&|s| {
        ["clint", "aclint", "mtimer", "mswi", "sswi"]
            .iter()
            .any(|t| s.contains(t))
    }) {
        return Role::Kernel("timer");
    }
    if compatible(&|s| s == "sifive,test0" || s == "sifive,test1") {
        return Role::Kernel("test finisher");
    }
    if compatible(&|s| s == "pci-host-ecam-generic") {
        return Role::Kernel("PCIe configuration space");
    }
    Role::Device
}

#[cfg(test)]
#[path = "devtree_tests.rs"]
mod tests;
