//! The device configuration space (0x100 on) as typed sub-windows.

use mmio_types::{FitsAt, SharedMmioPointer, UniqueMmioPointer};

use crate::mmio::{CONFIG_OFFSET, VirtioMmioWindow, WINDOW_LEN};
use crate::transport::VirtioRegsRead;

/// Access to a virtio-mmio window's device configuration space.
///
/// `C` is a device's configuration layout (e.g. [`BlkConfig`](crate::blk::BlkConfig));
/// that it fits in the window after 0x100, aligned, is checked at compile time
/// where it is declared (`register_block! { pub struct C at CONFIG_OFFSET in WINDOW_LEN { .. } }`).
/// Config fields follow the spec's access-width rule: 8-, 16- and 32-bit fields
/// are read with accesses of their width, 64-bit fields as two 32-bit halves.
pub trait VirtioConfig {
    /// Unique access to the configuration space.
    fn config<C: FitsAt<CONFIG_OFFSET, WINDOW_LEN>>(&mut self) -> UniqueMmioPointer<'_, C>;

    /// Shared access (pure reads) to the configuration space.
    fn config_shared<C: FitsAt<CONFIG_OFFSET, WINDOW_LEN>>(&self) -> SharedMmioPointer<'_, C>;

    /// Reads a consistent snapshot of configuration fields: runs `read`
    /// between two reads of `ConfigGeneration` and retries until both agree
    /// (virtio 1.2, section 2.5.1), so a multi-access field such as a 64-bit
    /// capacity is never torn.
    fn read_config<C: FitsAt<CONFIG_OFFSET, WINDOW_LEN>, T>(
        &self,
        read: impl FnMut(SharedMmioPointer<'_, C>) -> T,
    ) -> T;
}

impl VirtioConfig for VirtioMmioWindow {
    #[inline]
    fn config<C: FitsAt<CONFIG_OFFSET, WINDOW_LEN>>(&mut self) -> UniqueMmioPointer<'_, C> {
        self.sub::<C, CONFIG_OFFSET>()
    }

    #[inline]
    fn config_shared<C: FitsAt<CONFIG_OFFSET, WINDOW_LEN>>(&self) -> SharedMmioPointer<'_, C> {
        self.sub_shared::<C, CONFIG_OFFSET>()
    }

    #[inline]
    fn read_config<C: FitsAt<CONFIG_OFFSET, WINDOW_LEN>, T>(
        &self,
        mut read: impl FnMut(SharedMmioPointer<'_, C>) -> T,
    ) -> T {
        let regs = self.regs_shared();
        loop {
            let before = regs.config_generation();
            let value = read(self.config_shared::<C>());
            if regs.config_generation() == before {
                return value;
            }
        }
    }
}
