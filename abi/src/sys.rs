//! System-call wrappers: the only way userspace enters the kernel.

use core::arch::asm;
use core::ptr::NonNull;

use mmio_types::{DmaToken, MapToken};

use crate::{CapInfo, CapKind, CapRights, MapProt, SysError, Sysno};

/// What the kernel returned: `a0` (status) and the results in `a1..a3`.
struct Ret {
    status: usize,
    a1: usize,
    a2: usize,
    a3: usize,
}

impl Ret {
    fn ok(self) -> Result<(usize, usize, usize), SysError> {
        if self.status == 0 {
            Ok((self.a1, self.a2, self.a3))
        } else {
            // An unknown code is a kernel/ABI mismatch: report it as the
            // generic argument error rather than inventing success.
            Err(SysError::from_code(self.status).unwrap_or(SysError::InvalidArgument))
        }
    }
}

#[inline(always)]
fn syscall(n: Sysno, a0: usize, a1: usize, a2: usize, a3: usize) -> Ret {
    let (status, r1, r2, r3);
    // SAFETY: `ecall` traps to the kernel, which reads a0..a5 and a7 and
    // writes a0..a3 only; every other register is restored on return. The
    // kernel treats every argument as untrusted, so no value passed here can
    // make it touch memory of this task that the call does not describe.
    unsafe {
        asm!(
            "ecall",
            inlateout("a0") a0 => status,
            inlateout("a1") a1 => r1,
            inlateout("a2") a2 => r2,
            inlateout("a3") a3 => r3,
            in("a7") n as usize,
            options(nostack),
        );
    }
    Ret {
        status,
        a1: r1,
        a2: r2,
        a3: r3,
    }
}

/// Writes `bytes` to the console; returns how many were written.
pub fn debug_write(bytes: &[u8]) -> Result<usize, SysError> {
    debug_write_raw(bytes.as_ptr() as usize, bytes.len())
}

/// `debug_write` with an arbitrary address: the kernel checks the claim, so
/// this is safe to call with any value (a bad one gets
/// [`SysError::BadAddress`]).
pub fn debug_write_raw(addr: usize, len: usize) -> Result<usize, SysError> {
    syscall(Sysno::DebugWrite, addr, len, 0, 0)
        .ok()
        .map(|r| r.0)
}

/// Gives the processor to the next runnable task.
pub fn yield_now() {
    // `yield` cannot fail.
    let _ = syscall(Sysno::Yield, 0, 0, 0, 0);
}

/// Ends the calling task with `code` (0 = success).
pub fn exit(code: i32) -> ! {
    let _ = syscall(Sysno::Exit, code as usize, 0, 0, 0);
    // The kernel never returns from `exit`; if it did, spin rather than run on.
    loop {
        core::hint::spin_loop();
    }
}

/// Describes the capability in `slot`.
pub fn cap_info(slot: usize) -> Result<CapInfo, SysError> {
    let (kind, len, rights) = syscall(Sysno::CapInfo, slot, 0, 0, 0).ok()?;
    Ok(CapInfo {
        kind: CapKind::from_code(kind).ok_or(SysError::InvalidArgument)?,
        len,
        rights: CapRights::from_bits_retain(rights),
    })
}

/// The PCI function and BAR of the BAR window capability in `slot`.
pub fn pci_info(slot: usize) -> Result<crate::pci::PciInfo, SysError> {
    let (a1, a2, a3) = syscall(Sysno::PciInfo, slot, 0, 0, 0).ok()?;
    Ok(crate::pci::PciInfo::from_regs([
        a1 as u64, a2 as u64, a3 as u64,
    ]))
}

/// The first [`PCI_CAP_BYTES`](crate::pci::PCI_CAP_BYTES) bytes of
/// vendor-specific capability `index` (in list order) of the function the
/// BAR window capability in `slot` belongs to. The bytes come from the
/// device: untrusted.
pub fn pci_cap(slot: usize, index: usize) -> Result<[u8; crate::pci::PCI_CAP_BYTES], SysError> {
    let (a1, a2, a3) = syscall(Sysno::PciCap, slot, index, 0, 0).ok()?;
    Ok(crate::pci::cap_from_regs([a1 as u64, a2 as u64, a3 as u64]))
}

/// Derives a capability for the page-aligned sub-window
/// `[offset, offset + len)` of `slot` with `rights` (a subset of the
/// parent's); returns the new slot.
pub fn cap_derive(
    slot: usize,
    offset: usize,
    len: usize,
    rights: CapRights,
) -> Result<usize, SysError> {
    syscall(Sysno::CapDerive, slot, offset, len, rights.bits())
        .ok()
        .map(|r| r.0)
}

/// Deletes every capability derived from `slot` and unmaps every mapping
/// made through them. Register handles over those mappings fault from now on.
pub fn cap_revoke(slot: usize) -> Result<(), SysError> {
    syscall(Sysno::CapRevoke, slot, 0, 0, 0).ok().map(drop)
}

/// Maps the whole device window of the capability in `slot` at an address
/// the kernel chooses, readable (and writable with [`MapProt::WRITE`]), never
/// executable. The token is what [`mmio_types::MmioWindow`] is built from.
pub fn mmio_map(slot: usize, prot: MapProt) -> Result<MapToken, SysError> {
    let (addr, len, _) = syscall(Sysno::MmioMap, slot, prot.bits(), 0, 0).ok()?;
    let base = NonNull::new(addr as *mut u8).ok_or(SysError::InvalidArgument)?;
    // SAFETY: the kernel returned success, so `[addr, addr + len)` is a new,
    // page-aligned device mapping in this address space that nothing else
    // refers to. It stays mapped until `mmio_unmap` consumes this token (or
    // the capability's parent is revoked, after which accesses fault: the
    // kernel never reuses a revoked range's addresses).
    Ok(unsafe { MapToken::new(base, len) })
}

/// Removes the mapping the token stands for. On failure the token is given
/// back, so nothing is lost.
pub fn mmio_unmap(token: MapToken) -> Result<(), (SysError, MapToken)> {
    match syscall(Sysno::MmioUnmap, token.base(), 0, 0, 0).ok() {
        Ok(_) => {
            let _ = token.into_raw();
            Ok(())
        }
        Err(e) => Err((e, token)),
    }
}

/// The caller's own access rights to the page containing `addr`, or
/// [`SysError::NotMapped`].
pub fn vm_query(addr: usize) -> Result<MapProt, SysError> {
    syscall(Sysno::VmQuery, addr, 0, 0, 0)
        .ok()
        .map(|r| MapProt::from_bits_retain(r.0))
}

/// Allocates `pages` physically contiguous, zeroed pages of DMA memory,
/// mapped read-write (never executable) at an address the kernel chooses;
/// the token also carries the address a device uses for it. Counts against
/// the task's DMA quota.
pub fn dma_alloc(pages: usize) -> Result<DmaToken, SysError> {
    let (addr, device_addr, len) = syscall(Sysno::DmaAlloc, pages, 0, 0, 0).ok()?;
    let base = NonNull::new(addr as *mut u8).ok_or(SysError::InvalidArgument)?;
    // SAFETY: the kernel returned success, so `[addr, addr + len)` is fresh,
    // page-aligned memory mapped read-write in this address space only, that
    // no other part of this program knows about; it stays mapped until
    // `dma_free` consumes the token.
    Ok(unsafe { DmaToken::new(base, len, device_addr as u64) })
}

/// Unmaps and frees a DMA buffer. On failure the token is given back.
pub fn dma_free(token: DmaToken) -> Result<(), (SysError, DmaToken)> {
    match syscall(Sysno::DmaFree, token.base(), 0, 0, 0).ok() {
        Ok(_) => {
            let _ = token.into_raw();
            Ok(())
        }
        Err(e) => Err((e, token)),
    }
}

/// Blocks until a bit of `mask` is pending in the caller's notification,
/// then takes and returns the pending bits of `mask`. With a `deadline`
/// other than [`NO_DEADLINE`](crate::notify::NO_DEADLINE), gives up with
/// [`SysError::TimedOut`] once [`time`] reaches it.
pub fn wait(mask: u64, deadline: u64) -> Result<u64, SysError> {
    syscall(Sysno::Wait, mask as usize, deadline as usize, 0, 0)
        .ok()
        .map(|r| r.0 as u64)
}

/// [`wait`], also returning the wake stamp (`a2`): the `instret` value when
/// the kernel took the interrupt that woke the caller.
pub fn wait_stamped(mask: u64, deadline: u64) -> Result<crate::notify::Wakeup, SysError> {
    syscall(Sysno::Wait, mask as usize, deadline as usize, 0, 0)
        .ok()
        .map(|r| crate::notify::Wakeup {
            bits: r.0 as u64,
            stamp: r.1 as u64,
        })
}

/// Takes and returns the pending bits of `mask` without blocking (0: none).
pub fn poll(mask: u64) -> Result<u64, SysError> {
    syscall(Sysno::Poll, mask as usize, 0, 0, 0)
        .ok()
        .map(|r| r.0 as u64)
}

/// Re-arms the fired interrupt line of the irq capability in `slot`. The
/// line was masked when it fired; acknowledge the device first, or it
/// fires again at once. Drivers use the typed wrappers of `nexus-virtio`,
/// which make that order the only one that compiles.
pub fn irq_ack(slot: usize) -> Result<(), SysError> {
    syscall(Sysno::IrqAck, slot, 0, 0, 0).ok().map(drop)
}

/// Ends the task the task-control capability in `slot` names.
pub fn task_kill(slot: usize) -> Result<(), SysError> {
    syscall(Sysno::TaskKill, slot, 0, 0, 0).ok().map(drop)
}

/// Ends the task the task-control capability in `slot` names, if it still
/// runs, and starts it again from its program with the capabilities the
/// system description gives it. Its channel ends come back waiting for a
/// reset: until the peer calls [`channel_reset`], the restarted task's
/// `channel_map` and `channel_signal` of them answer
/// [`SysError::ResetPending`].
pub fn task_restart(slot: usize) -> Result<(), SysError> {
    syscall(Sysno::TaskRestart, slot, 0, 0, 0).ok().map(drop)
}

/// Resets the channel of the end in `slot` after its peer was restarted:
/// the kernel zeroes the shared memory and gives the peer its end back,
/// raising its bit. Call it only once nothing (no device, no code) still
/// uses the memory for the peer's previous life. [`SysError::NotRestarted`]
/// while the peer holds its end; [`SysError::PeerEnded`] when the peer has
/// ended and not been restarted.
pub fn channel_reset(slot: usize) -> Result<(), SysError> {
    syscall(Sysno::ChannelReset, slot, 0, 0, 0).ok().map(drop)
}

/// Maps the shared memory of the channel end in `slot` read-write (never
/// executable) at an address the kernel chooses. The token's device address
/// is the memory's physical address for a channel declared `dma = true` and
/// 0 otherwise. The mapping lasts as long as the task: there is no unmap.
/// The peer maps the same frames, so treat everything read there as
/// untrusted: the token is shared with a party that may write at any time,
/// exactly as a device would.
pub fn channel_map(slot: usize) -> Result<DmaToken, SysError> {
    let (addr, len, device_addr) = syscall(Sysno::ChannelMap, slot, 0, 0, 0).ok()?;
    let base = NonNull::new(addr as *mut u8).ok_or(SysError::InvalidArgument)?;
    // SAFETY: the kernel returned success, so `[addr, addr + len)` is a new,
    // page-aligned read-write mapping of the channel's frames that nothing
    // else in this program refers to (a channel maps once per task), and it
    // stays mapped until the task ends. The other writer is the peer task,
    // which the token's volatile, bounds-checked accesses treat like a
    // device.
    Ok(unsafe { DmaToken::new(base, len, device_addr as u64) })
}

/// Raises the peer's notification bit of the channel end in `slot` (waking
/// the peer if it waits for it). [`SysError::PeerEnded`] once the peer has
/// ended.
pub fn channel_signal(slot: usize) -> Result<(), SysError> {
    syscall(Sysno::ChannelSignal, slot, 0, 0, 0).ok().map(drop)
}

/// Gives the peer of the channel end in `channel_slot` a copy of the
/// capability in `slot` (which must hold [`CapRights::TRANSFER`]) with
/// `rights` (a subset of its own), in the peer's lowest free slot, and
/// raises the peer's channel bit. Returns the peer's slot. Revoking the
/// original (`cap_revoke` of it or of an ancestor) revokes the copy.
pub fn cap_transfer(
    channel_slot: usize,
    slot: usize,
    rights: CapRights,
) -> Result<usize, SysError> {
    syscall(Sysno::CapTransfer, channel_slot, slot, rights.bits(), 0)
        .ok()
        .map(|r| r.0)
}

/// How much of the `instret` counter passed while the kernel idled in
/// `wfi` (no task runnable) since boot, and how many times it idled. Under
/// QEMU's `-icount`, where `instret` is the virtual clock, the first is the
/// time the hart waited; `instret` less it is what the hart executed.
pub fn idle_stats() -> Result<(u64, u64), SysError> {
    let (instret, waits, _) = syscall(Sysno::IdleStats, 0, 0, 0, 0).ok()?;
    Ok((instret as u64, waits as u64))
}

/// Reads the `instret` counter (instructions retired; exact under QEMU's
/// `-icount`).
#[inline(always)]
pub fn instret() -> u64 {
    let v: u64;
    // SAFETY: reading a user-readable counter CSR has no side effects; the
    // kernel enables U-mode access in `scounteren`. Not `nomem`: the read
    // must also keep the compiler from moving memory accesses across it, or
    // a measured window would not hold what it claims.
    unsafe { asm!("rdinstret {}", out(reg) v, options(nostack)) };
    v
}

/// Reads the `time` counter (ticks of the platform timer, 10 MHz on QEMU
/// `virt`).
#[inline(always)]
pub fn time() -> u64 {
    let v: u64;
    // SAFETY: as in `instret`.
    unsafe { asm!("rdtime {}", out(reg) v, options(nostack)) };
    v
}
