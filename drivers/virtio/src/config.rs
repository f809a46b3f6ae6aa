//! The device configuration space (0x100 on) as typed sub-windows.

use mmio_types::{RegisterBlock, SharedMmioPointer, SubWindowAt, UniqueMmioPointer};

use crate::mmio::{ConfigOffset, VirtioMmioWindow, WindowLen};
use crate::transport::VirtioRegsRead;

/// Access to a virtio-mmio window's device configuration space.
///
/// `C` is a device's configuration layout (e.g. [`BlkConfig`](crate::blk::BlkConfig));
/// that it fits in the window after 0x100, aligned, is checked at compile time.
/// Config fields follow the spec's access-width rule: 8-, 16- and 32-bit fields
/// are read with accesses of their width, 64-bit fields as two 32-bit halves.
pub trait VirtioConfig {
    /// Unique access to the configuration space.
    fn config<C: RegisterBlock>(&mut self) -> UniqueMmioPointer<'_, C>
    where
        ConfigOffset: SubWindowAt<C, WindowLen>;

    /// Shared access (pure reads) to the configuration space.
    fn config_shared<C: RegisterBlock>(&self) -> SharedMmioPointer<'_, C>
    where
        ConfigOffset: SubWindowAt<C, WindowLen>;

    /// Reads a consistent snapshot of configuration fields: runs `read`
    /// between two reads of `ConfigGeneration` and retries until both agree
    /// (virtio 1.2, section 2.5.1), so a multi-access field such as a 64-bit
    /// capacity is never torn.
    fn read_config<C: RegisterBlock, T>(
        &self,
        read: impl FnMut(SharedMmioPointer<'_, C>) -> T,
    ) -> T
    where
        ConfigOffset: SubWindowAt<C, WindowLen>;
}

impl VirtioConfig for VirtioMmioWindow {
    #[inline]
    fn config<C: RegisterBlock>(&mut self) -> UniqueMmioPointer<'_, C>
    where
        ConfigOffset: SubWindowAt<C, WindowLen>,
    {
        self.sub::<C, ConfigOffset>()
    }

    #[inline]
    fn config_shared<C: RegisterBlock>(&self) -> SharedMmioPointer<'_, C>
    where
        ConfigOffset: SubWindowAt<C, WindowLen>,
    {
        self.sub_shared::<C, ConfigOffset>()
    }

    #[inline]
    fn read_config<C: RegisterBlock, T>(
        &self,
        mut read: impl FnMut(SharedMmioPointer<'_, C>) -> T,
    ) -> T
    where
        ConfigOffset: SubWindowAt<C, WindowLen>,
    {
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
