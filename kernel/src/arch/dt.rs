//! Finding the device tree OpenSBI passes in a1.

use fdt::Fdt;

use crate::devtree::DeviceTree;

/// What the kernel needs from the device tree.
pub struct Platform {
    /// The parsed tree.
    pub tree: DeviceTree<'static>,
    /// `time` ticks per second.
    pub timebase: u64,
}

/// Parses the tree at `dtb`.
///
/// # Safety
/// `dtb` must be the address of a valid flattened device tree that stays
/// untouched for `'static`.
pub unsafe fn parse(dtb: usize) -> Result<Platform, &'static str> {
    // SAFETY: guaranteed by the caller.
    let fdt = unsafe { Fdt::from_ptr(dtb as *const u8) }.map_err(|_| "bad device tree")?;
    let tree = DeviceTree::new(fdt);
    let timebase = tree.timebase().ok_or("no /cpus timebase-frequency")?;
    Ok(Platform { tree, timebase })
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
    /// Its phandle: device interrupts name it as their controller.
    pub phandle: u32,
}

/// Supervisor external interrupt: the cause code a PLIC context raises in S-mode.
const S_EXTERNAL: u32 = 9;

/// Finds the PLIC (`riscv,plic0` or `sifive,plic-1.0.0`) and, from its
/// `interrupts-extended` (pairs of a hart's interrupt-controller phandle and
/// a cause code; the pair's index is the context), the context that
/// interrupts hart `hartid` in S-mode. `None`: no PLIC (e.g. an AIA
/// machine), or none that can interrupt this hart in S-mode.
pub fn plic(p: &Platform, hartid: usize) -> Option<PlicNode> {
    let fdt = p.tree.fdt();
    let node = fdt.all_nodes().find(|n| {
        n.compatible().is_some_and(|c| {
            c.all()
                .any(|s| s == "riscv,plic0" || s == "sifive,plic-1.0.0")
        })
    })?;
    let reg = node.reg()?.next()?;
    let phandle = node.property("phandle")?.as_usize()? as u32;
    let ndev = node.property("riscv,ndev")?.as_usize()? as u32;
    // The phandle of this hart's interrupt controller (a child of its cpu node).
    let hart_intc = fdt
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
        phandle,
    })
}
