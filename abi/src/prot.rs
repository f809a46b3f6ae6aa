//! Mapping protections requested by `mmio_map` and reported by `vm_query`.

bitflags::bitflags! {
    /// Access a mapping grants to userspace. Device memory is never
    /// executable: asking for [`MapProt::EXEC`] in `mmio_map` is refused with
    /// [`crate::SysError::ExecNotAllowed`]; `vm_query` reports it so a task
    /// can see what its own pages allow.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MapProt: usize {
        /// Loads are allowed.
        const READ = 1 << 0;
        /// Stores are allowed (only together with READ).
        const WRITE = 1 << 1;
        /// Instruction fetch is allowed.
        const EXEC = 1 << 2;
    }
}

impl MapProt {
    /// Read and write: the usual protection of a device window.
    pub const RW: MapProt = MapProt::READ.union(MapProt::WRITE);
}
