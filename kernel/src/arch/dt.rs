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
