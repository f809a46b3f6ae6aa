//! PCIe configuration space through the ECAM window: kernel-only, never
//! mapped into a task.

use crate::pci::config::{CMD_BUS_MASTER, CMD_MEMORY, COMMAND, CONFIG_LEN};
use crate::pci::{Bdf, ConfigSpace, HostBridge};

/// The ECAM window of the host bridge.
#[derive(Clone, Copy, Debug)]
pub struct Ecam {
    base: usize,
    len: usize,
    first_bus: u8,
}

impl Ecam {
    /// The bridge's configuration space.
    pub fn new(bridge: &HostBridge) -> Ecam {
        Ecam {
            base: bridge.ecam.base,
            len: bridge.ecam.len,
            first_bus: bridge.first_bus,
        }
    }

    /// The physical address of `f`'s 4 KiB configuration space, if the
    /// window holds it.
    pub fn function_page(&self, f: Bdf) -> Option<usize> {
        let off = f.ecam_offset(self.first_bus)?;
        if off.checked_add(usize::from(CONFIG_LEN))? > self.len {
            return None;
        }
        Some(self.base + off)
    }

    fn register(&self, f: Bdf, offset: u16) -> Option<*mut u32> {
        if !offset.is_multiple_of(4) || offset >= CONFIG_LEN {
            return None;
        }
        Some((self.function_page(f)? + usize::from(offset)) as *mut u32)
    }

    /// Stops function `f` decoding memory and mastering the bus: it can
    /// no longer be reached nor write to memory.
    pub fn quiesce(&mut self, f: Bdf) {
        let command = self.read(f, COMMAND) & 0xffff;
        self.write(f, COMMAND, command & !(CMD_MEMORY | CMD_BUS_MASTER));
    }
}

impl ConfigSpace for Ecam {
    fn read(&mut self, f: Bdf, offset: u16) -> u32 {
        match self.register(f, offset) {
            // SAFETY: the address lies in the bridge's ECAM window from the
            // device tree, at a 4-byte-aligned register of one function's
            // configuration space; it is accessed with paging off (boot) or
            // through the kernel's identity map of the function's page
            // (which boot maps for every function found). Configuration
            // reads of a type-0 header have no side effects on memory.
            Some(reg) => unsafe { reg.read_volatile() },
            None => !0,
        }
    }

    fn write(&mut self, f: Bdf, offset: u16, value: u32) {
        if let Some(reg) = self.register(f, offset) {
            // SAFETY: as in `read`; a configuration write changes only the
            // function's registers (BARs, command), never memory.
            unsafe { reg.write_volatile(value) }
        }
    }
}
