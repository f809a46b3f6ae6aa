//! System-call numbers, passed in `a7`.

/// A system call. The number goes in `a7`, arguments in `a0..a5`; the kernel
/// returns a status in `a0` (0 = success, otherwise a [`crate::SysError`]
/// code) and results in `a1..a3`. See `docs/abi.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Sysno {
    /// `debug_write(ptr, len) -> written`: write bytes to the console.
    DebugWrite = 0,
    /// `yield()`: give the processor to the next runnable task.
    Yield = 1,
    /// `exit(code) -> !`: end the calling task with an exit code.
    Exit = 2,
    /// `cap_info(slot) -> (kind, len, rights)`: describe a capability.
    CapInfo = 3,
    /// `cap_derive(slot, offset, len, rights) -> slot`: a narrower copy.
    CapDerive = 4,
    /// `cap_revoke(slot)`: delete everything derived from a capability.
    CapRevoke = 5,
    /// `mmio_map(slot, prot) -> (addr, len)`: map a device window.
    MmioMap = 6,
    /// `mmio_unmap(addr)`: remove a device mapping.
    MmioUnmap = 7,
    /// `vm_query(addr) -> prot`: the caller's access rights to one page.
    VmQuery = 8,
    /// `dma_alloc(pages) -> (addr, device_addr, len)`: contiguous DMA memory.
    DmaAlloc = 9,
    /// `dma_free(addr)`: return DMA memory.
    DmaFree = 10,
    /// `wait(mask, deadline) -> bits`: block until a bit of `mask` is
    /// pending in the caller's notification, or until `time` reaches
    /// `deadline`; take and return the pending bits of `mask`.
    Wait = 11,
    /// `poll(mask) -> bits`: take and return the pending bits of `mask`
    /// without blocking (0 if none).
    Poll = 12,
    /// `irq_ack(slot)`: re-arm the fired interrupt line of an irq capability.
    IrqAck = 13,
    /// `task_kill(slot)`: end the task a task-control capability names.
    TaskKill = 14,
    /// `pci_info(slot) -> (id, bar, vendor_caps)`: the PCI function and
    /// BAR a window capability is.
    PciInfo = 15,
    /// `pci_cap(slot, index) -> bytes`: a vendor-specific capability of
    /// the function a PCI BAR window capability belongs to.
    PciCap = 16,
    /// `channel_map(slot) -> (addr, len, device_addr)`: map a channel's
    /// shared memory.
    ChannelMap = 17,
    /// `channel_signal(slot)`: raise the peer's bit of a channel.
    ChannelSignal = 18,
    /// `cap_transfer(channel_slot, slot, rights) -> slot`: give the peer of
    /// a channel a copy of a capability.
    CapTransfer = 19,
    /// `task_restart(slot)`: end the task a task-control capability names
    /// (if it runs) and start it again from its program.
    TaskRestart = 20,
    /// `channel_reset(slot)`: zero a channel's memory and give the
    /// restarted peer its end back.
    ChannelReset = 21,
    /// `idle_stats() -> (instret, waits)`: how much of the hart's
    /// `instret` passed while the kernel idled (in `wfi`) since boot, and
    /// how many times it idled.
    IdleStats = 22,
}

impl Sysno {
    /// Every system call, in number order.
    pub const ALL: [Sysno; 23] = [
        Sysno::DebugWrite,
        Sysno::Yield,
        Sysno::Exit,
        Sysno::CapInfo,
        Sysno::CapDerive,
        Sysno::CapRevoke,
        Sysno::MmioMap,
        Sysno::MmioUnmap,
        Sysno::VmQuery,
        Sysno::DmaAlloc,
        Sysno::DmaFree,
        Sysno::Wait,
        Sysno::Poll,
        Sysno::IrqAck,
        Sysno::TaskKill,
        Sysno::PciInfo,
        Sysno::PciCap,
        Sysno::ChannelMap,
        Sysno::ChannelSignal,
        Sysno::CapTransfer,
        Sysno::TaskRestart,
        Sysno::ChannelReset,
        Sysno::IdleStats,
    ];
}

impl TryFrom<usize> for Sysno {
    type Error = crate::SysError;

    fn try_from(n: usize) -> Result<Self, Self::Error> {
        Sysno::ALL
            .get(n)
            .copied()
            .ok_or(crate::SysError::BadSyscall)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_their_index_and_pinned() {
        let pinned = [
            (Sysno::DebugWrite, 0),
            (Sysno::Yield, 1),
            (Sysno::Exit, 2),
            (Sysno::CapInfo, 3),
            (Sysno::CapDerive, 4),
            (Sysno::CapRevoke, 5),
            (Sysno::MmioMap, 6),
            (Sysno::MmioUnmap, 7),
            (Sysno::VmQuery, 8),
            (Sysno::DmaAlloc, 9),
            (Sysno::DmaFree, 10),
            (Sysno::Wait, 11),
            (Sysno::Poll, 12),
            (Sysno::IrqAck, 13),
            (Sysno::TaskKill, 14),
            (Sysno::PciInfo, 15),
            (Sysno::PciCap, 16),
            (Sysno::ChannelMap, 17),
            (Sysno::ChannelSignal, 18),
            (Sysno::CapTransfer, 19),
            (Sysno::TaskRestart, 20),
            (Sysno::ChannelReset, 21),
            (Sysno::IdleStats, 22),
        ];
        assert_eq!(pinned.len(), Sysno::ALL.len());
        for (sysno, n) in pinned {
            assert_eq!(sysno as usize, n);
            assert_eq!(Sysno::try_from(n), Ok(sysno));
        }
    }

    #[test]
    fn unknown_numbers_are_bad_syscall() {
        for n in [23, 24, 255, usize::MAX] {
            assert_eq!(Sysno::try_from(n), Err(crate::SysError::BadSyscall));
        }
    }
}
