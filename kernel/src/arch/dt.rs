//! Reading the device tree OpenSBI passes in a1.

use fdt::Fdt;

use crate::device::Region;

/// The most protected regions recorded.
pub const MAX_REGIONS: usize = 32;

/// What the kernel needs from the device tree.
pub struct Platform<'a> {
    /// The parsed tree.
    pub fdt: Fdt<'a>,
    /// The first RAM region.
    pub ram: (usize, usize),
    /// `time` ticks per second.
    pub timebase: u64,
}

/// Parses the tree at `dtb`.
///
/// # Safety
/// `dtb` must be the address of a valid flattened device tree that stays
/// untouched for `'static`.
pub unsafe fn parse(dtb: usize) -> Result<Platform<'static>, &'static str> {
    // SAFETY: guaranteed by the caller.
    let fdt = unsafe { Fdt::from_ptr(dtb as *const u8) }.map_err(|_| "bad device tree")?;
    let ram = fdt
        .memory()
        .regions()
        .next()
        .and_then(|r| Some((r.starting_address as usize, r.size?)))
        .ok_or("no memory region")?;
    let timebase = fdt
        .cpus()
        .next()
        .map(|c| c.timebase_frequency() as u64)
        .ok_or("no cpu")?;
    Ok(Platform { fdt, ram, timebase })
}

/// Every `reg` range of every node that is not a virtio-mmio transport,
/// plus RAM: none of it may ever be handed out as a device window. Returns
/// false if there were more than [`MAX_REGIONS`]: then no list is complete
/// enough to check windows against.
pub fn protected_regions(p: &Platform<'_>, out: &mut [Option<Region>; MAX_REGIONS]) -> bool {
    let mut n = 0;
    let mut complete = true;
    let mut push = |r: Region| {
        if n < MAX_REGIONS {
            out[n] = Some(r);
            n += 1;
        } else {
            complete = false;
        }
    };
    for m in p.fdt.memory().regions() {
        push(Region {
            name: "RAM",
            base: m.starting_address as usize,
            len: m.size.unwrap_or(0),
        });
    }
    for node in p.fdt.all_nodes() {
        let virtio = node
            .compatible()
            .is_some_and(|c| c.all().any(|s| s == "virtio,mmio"));
        if virtio || node.name.starts_with("memory") {
            continue;
        }
        let name = match node.compatible().map(|c| c.first()) {
            Some("ns16550a") => "UART",
            Some(c) if c.contains("clint") => "CLINT",
            Some(c) if c.contains("plic") => "PLIC",
            Some(c) if c.contains("test") => "test finisher",
            _ => "a platform device",
        };
        if let Some(regs) = node.reg() {
            for r in regs {
                push(Region {
                    name,
                    base: r.starting_address as usize,
                    len: r.size.unwrap_or(0),
                });
            }
        }
    }
    complete
}

/// A `virtio,mmio` node: base, length and first interrupt.
pub struct VirtioNode {
    /// Physical base.
    pub base: usize,
    /// Length.
    pub len: usize,
    /// First interrupt (0 if none).
    pub irq: u32,
}

/// Calls `f` for every `virtio,mmio` node.
pub fn virtio_nodes(p: &Platform<'_>, mut f: impl FnMut(VirtioNode)) {
    let virtio = p.fdt.all_nodes().filter(|n| {
        n.compatible()
            .is_some_and(|c| c.all().any(|s| s == "virtio,mmio"))
    });
    for node in virtio {
        let Some(r) = node.reg().and_then(|mut r| r.next()) else {
            continue;
        };
        f(VirtioNode {
            base: r.starting_address as usize,
            len: r.size.unwrap_or(0),
            irq: node.interrupts().and_then(|mut i| i.next()).unwrap_or(0) as u32,
        });
    }
}

/// The platform-level interrupt controller, as the device tree describes it.
#[derive(Clone, Copy, Debug)]
pub struct PlicNode {
    /// Physical base of its registers.
    pub base: usize,
    /// Length of its register window.
    pub len: usize,
    /// Highest interrupt source number (`riscv,ndev`).
    pub ndev: u32,
    /// The context of the boot hart's supervisor external interrupt.
    pub context: usize,
}

/// Supervisor external interrupt: the cause code a PLIC context raises in S-mode.
const S_EXTERNAL: u32 = 9;

/// Finds the PLIC (`riscv,plic0` or `sifive,plic-1.0.0`) and, from its
/// `interrupts-extended` (pairs of a hart's interrupt-controller phandle and
/// a cause code; the pair's index is the context), the context that
/// interrupts hart `hartid` in S-mode. `None`: no PLIC (e.g. an AIA
/// machine), or none that can interrupt this hart in S-mode.
pub fn plic(p: &Platform<'_>, hartid: usize) -> Option<PlicNode> {
    let node = p.fdt.all_nodes().find(|n| {
        n.compatible().is_some_and(|c| {
            c.all()
                .any(|s| s == "riscv,plic0" || s == "sifive,plic-1.0.0")
        })
    })?;
    let reg = node.reg()?.next()?;
    let ndev = node.property("riscv,ndev")?.as_usize()? as u32;
    // The phandle of this hart's interrupt controller (a child of its cpu node).
    let hart_intc = p
        .fdt
        .all_nodes()
        .filter(|n| n.name.starts_with("cpu@"))
        .find(|n| {
            n.reg()
                .and_then(|mut r| r.next())
                .is_some_and(|r| r.starting_address as usize == hartid)
        })?
        .children()
        .find(|c| c.property("interrupt-controller").is_some())?
        .property("phandle")?
        .as_usize()?;
    let cells = node.property("interrupts-extended")?.value;
    let context = cells.chunks_exact(8).position(|pair| {
        let phandle = u32::from_be_bytes([pair[0], pair[1], pair[2], pair[3]]);
        let cause = u32::from_be_bytes([pair[4], pair[5], pair[6], pair[7]]);
        phandle as usize == hart_intc && cause == S_EXTERNAL
    })?;
    Some(PlicNode {
        base: reg.starting_address as usize,
        len: reg.size?,
        ndev,
        context,
    })
}
