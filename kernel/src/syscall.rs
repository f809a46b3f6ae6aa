//! The system-call dispatcher: one `match`, one place that writes results.

use nexus_abi::layout::DEBUG_WRITE_MAX;
use nexus_abi::{SysError, Sysno};

use nexus_abi::CapRights;

use crate::cap::{Cap, CapTable, Object};
use crate::channel::ChannelTable;
use crate::device::DeviceTable;
use crate::mem::Memory;
use crate::notify::{IrqTable, WaitStart};
use crate::pci::{Function, Functions};
use crate::space::AddressSpace;
use crate::task::Task;

/// What the scheduler must do after a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Return to the caller (its `a0..a3` are already written).
    Resume,
    /// Switch to the next runnable task.
    Yield,
    /// End the caller with this exit code.
    Exit(i32),
    /// The caller blocked in `wait` (its state is `Blocked`): switch to the
    /// next runnable task. Its `a0..a3` are written when it wakes.
    Block,
    /// `irq_ack` succeeded (`a0..a3` written): enable this interrupt source
    /// at the controller, then return to the caller.
    Unmask(u32),
    /// `idle_stats`: the kernel answers the caller with its idle counts
    /// (nothing written yet).
    IdleStats,
    /// `task_kill` of this task index passed the capability checks: the
    /// scheduler ends it (or answers `TaskEnded`) and writes `a0..a3`.
    Kill(usize),
    /// `task_restart` of this task index passed the capability checks: the
    /// scheduler ends it if it runs, starts it again, and writes `a0..a3`.
    Restart(usize),
    /// `cap_transfer` passed every check of the caller's side: put `cap`
    /// in task `peer`'s lowest free slot and raise `bits` there, then
    /// answer the caller (its slot, or `NoSlot`).
    Transfer {
        /// The receiving task.
        peer: usize,
        /// Its channel bit.
        bits: u64,
        /// The copy.
        cap: Cap,
        /// The caller's slot it was copied from.
        from: usize,
    },
    /// `cap_revoke` deleted the caller's capabilities in these slots (and
    /// answered): delete the copies transferred from them, everywhere.
    Revoked(u64),
    /// `channel_signal` succeeded (`a0..a3` written): raise `bits` in task
    /// `task`'s notification (waking it if that ends its wait), then return
    /// to the caller.
    Signal {
        /// The peer task.
        task: usize,
        /// The bits to raise.
        bits: u64,
    },
}

/// What the dispatcher needs of the kernel beyond the calling task.
pub struct Env<'a> {
    /// The caller's task index.
    pub me: usize,
    /// The `time` CSR at the call.
    pub now: u64,
    /// The bound interrupt lines.
    pub irqs: &'a mut IrqTable,
    /// The device windows.
    pub devices: &'a DeviceTable,
    /// The PCI functions found at boot.
    pub pci: &'a Functions,
    /// The channels.
    pub channels: &'a mut ChannelTable,
}

/// Results of a successful call, written to `a1..a3`.
type Values = [usize; 3];

/// Runs system call `nr` with `args` for `task`; writes `a0..a3` of its
/// frame (status 0 and results, or an error code) and says what next.
/// Every input is untrusted: nothing here can panic on user values.
pub fn dispatch(
    task: &mut Task,
    mem: &mut impl Memory,
    console: &mut impl FnMut(&[u8]),
    env: &mut Env<'_>,
    nr: usize,
    args: [usize; 6],
) -> Action {
    const DEBUG_WRITE: usize = Sysno::DebugWrite as usize;
    const YIELD: usize = Sysno::Yield as usize;
    const EXIT: usize = Sysno::Exit as usize;
    const CAP_INFO: usize = Sysno::CapInfo as usize;
    const CAP_DERIVE: usize = Sysno::CapDerive as usize;
    const CAP_REVOKE: usize = Sysno::CapRevoke as usize;
    const MMIO_MAP: usize = Sysno::MmioMap as usize;
    const MMIO_UNMAP: usize = Sysno::MmioUnmap as usize;
    const VM_QUERY: usize = Sysno::VmQuery as usize;
    const DMA_ALLOC: usize = Sysno::DmaAlloc as usize;
    const DMA_FREE: usize = Sysno::DmaFree as usize;
    const WAIT: usize = Sysno::Wait as usize;
    const POLL: usize = Sysno::Poll as usize;
    const IRQ_ACK: usize = Sysno::IrqAck as usize;
    const TASK_KILL: usize = Sysno::TaskKill as usize;
    const PCI_INFO: usize = Sysno::PciInfo as usize;
    const PCI_CAP: usize = Sysno::PciCap as usize;
    const CHANNEL_MAP: usize = Sysno::ChannelMap as usize;
    const CHANNEL_SIGNAL: usize = Sysno::ChannelSignal as usize;
    const CAP_TRANSFER: usize = Sysno::CapTransfer as usize;
    const TASK_RESTART: usize = Sysno::TaskRestart as usize;
    const CHANNEL_RESET: usize = Sysno::ChannelReset as usize;
    const IDLE_STATS: usize = Sysno::IdleStats as usize;
    let [a0, a1, a2, a3, _, _] = args;
    // Every call but `cap_info`, `yield` and `exit` runs out of line (one
    // function each), so none pays for the registers of another.
    match nr {
        CAP_INFO => reply(task, cap_info(task, a0)),
        YIELD => {
            reply(task, Ok([0; 3]));
            return Action::Yield;
        }
        EXIT => return Action::Exit(a0 as i32),
        DEBUG_WRITE => answer(task, mem, move |_, space, mem, _| {
            let (ptr, len) = (a0, a1);
            if len > DEBUG_WRITE_MAX {
                return Err(SysError::InvalidArgument);
            }
            space.read_user(mem, ptr, len, |bytes| console(bytes))?;
            Ok([len, 0, 0])
        }),
        CAP_DERIVE => answer(task, mem, move |caps, _, _, _| {
            Ok([caps.derive(a0, a1, a2, a3)?, 0, 0])
        }),
        CAP_REVOKE => {
            if let Some(slots) = cap_revoke(task, mem, a0) {
                return Action::Revoked(slots);
            }
        }
        MMIO_MAP => answer(task, mem, move |caps, space, mem, _| {
            let (va, len) = space.mmio_map(caps, mem, a0, a1)?;
            Ok([va, len, 0])
        }),
        MMIO_UNMAP => answer(task, mem, move |caps, space, mem, _| {
            space.mmio_unmap(caps, mem, a0)?;
            Ok([0; 3])
        }),
        VM_QUERY => answer(task, mem, move |_, space, mem, _| {
            Ok([space.query(mem, a0)?.bits(), 0, 0])
        }),
        DMA_ALLOC => answer(task, mem, move |caps, space, mem, quota| {
            let (va, pa, len) = space.dma_alloc(caps, mem, a0, quota)?;
            Ok([va, pa, len])
        }),
        DMA_FREE => answer(task, mem, move |caps, space, mem, _| {
            space.dma_free(caps, mem, a0)?;
            Ok([0; 3])
        }),
        WAIT => match task.notify.wait(a0 as u64, a1 as u64, env.now) {
            Ok(WaitStart::Ready(bits)) => reply(task, Ok([bits as usize, 0, 0])),
            Ok(WaitStart::Blocked) => {
                task.state = crate::task::State::Blocked;
                return Action::Block;
            }
            Err(e) => reply(task, Err(e)),
        },
        POLL => {
            let bits = task.notify.take(a0 as u64);
            reply(task, Ok([bits as usize, 0, 0]));
        }
        IRQ_ACK => match irq_ack(task, env, a0) {
            Ok(line) => {
                reply(task, Ok([0; 3]));
                return Action::Unmask(line);
            }
            Err(e) => reply(task, Err(e)),
        },
        TASK_KILL => match task_control(task, a0) {
            Ok(target) => return Action::Kill(target),
            Err(e) => reply(task, Err(e)),
        },
        TASK_RESTART => match task_control(task, a0) {
            Ok(target) => return Action::Restart(target),
            Err(e) => reply(task, Err(e)),
        },
        CHANNEL_RESET => match channel_reset(task, env, mem, a0) {
            Ok((peer, bits)) => {
                reply(task, Ok([0; 3]));
                return Action::Signal { task: peer, bits };
            }
            Err(e) => reply(task, Err(e)),
        },
        IDLE_STATS => return Action::IdleStats,
        PCI_INFO => reply(task, pci_info(task, env, a0)),
        PCI_CAP => reply(task, pci_cap(task, env, a0, a1)),
        CHANNEL_MAP => channel_map(task, env, mem, a0),
        CHANNEL_SIGNAL => match channel_signal(task, env, a0) {
            Ok((peer, bits)) => {
                reply(task, Ok([0; 3]));
                return Action::Signal { task: peer, bits };
            }
            Err(e) => reply(task, Err(e)),
        },
        CAP_TRANSFER => match cap_transfer(task, env, a0, a1, a2) {
            Ok((peer, bits, cap)) => {
                return Action::Transfer {
                    peer,
                    bits,
                    cap,
                    from: a1,
                };
            }
            Err(e) => reply(task, Err(e)),
        },
        _ => reply(task, Err(SysError::BadSyscall)),
    }
    Action::Resume
}

/// `cap_revoke(slot)`: answers, and returns the slots whose copies in
/// other tasks go too when it succeeded.
#[inline(never)]
fn cap_revoke(task: &mut Task, mem: &mut impl Memory, slot: usize) -> Option<u64> {
    let doomed = task
        .caps
        .get(slot)
        .map(|_| task.caps.descendants(slot) | 1 << slot);
    answer(task, mem, move |caps, space, mem, _| {
        Ok([space.revoke(caps, mem, slot)?, 0, 0])
    });
    doomed
        .ok()
        .filter(|_| task.frame.regs[crate::task::reg::A0] == 0)
}

/// `pci_info(slot)`: the identity, BAR and vendor capabilities of the
/// function a BAR window belongs to.
#[inline(never)]
fn pci_info(task: &Task, env: &Env<'_>, slot: usize) -> Result<Values, SysError> {
    pci_function(task, env, slot).map(|(f, bar)| {
        let info = nexus_abi::pci::PciInfo {
            vendor: f.vendor,
            device: f.device,
            class: f.class,
            subclass: f.subclass,
            prog_if: f.prog_if,
            revision: f.revision,
            bar,
            vendor_caps: f.vendor_caps().count() as u8,
        };
        info.to_regs().map(|r| r as usize)
    })
}

/// `pci_cap(slot, index)`: the first bytes of a vendor-specific capability
/// of the function a BAR window belongs to.
#[inline(never)]
fn pci_cap(task: &Task, env: &Env<'_>, slot: usize, index: usize) -> Result<Values, SysError> {
    pci_function(task, env, slot).and_then(|(f, _)| {
        let cap = f
            .vendor_caps()
            .nth(index)
            .ok_or(SysError::InvalidArgument)?;
        Ok(nexus_abi::pci::cap_to_regs(&cap.bytes).map(|r| r as usize))
    })
}

/// The PCI function and BAR number of the window capability in `slot`:
/// checks, in order, the slot (`BadSlot`, `EmptySlot`) and that it is a
/// `DeviceMmio` capability whose window is a whole PCI BAR (`WrongKind`).
fn pci_function<'e>(
    task: &Task,
    env: &Env<'e>,
    slot: usize,
) -> Result<(&'e Function, u8), SysError> {
    let cap = task.caps.get(slot)?;
    let Object::DeviceMmio { base, len } = cap.object else {
        return Err(SysError::WrongKind);
    };
    let bar = env
        .devices
        .at(base)
        .filter(|d| d.len == len)
        .and_then(|d| d.class.pci())
        .ok_or(SysError::WrongKind)?;
    let f = env
        .pci
        .get(usize::from(bar.function))
        .ok_or(SysError::WrongKind)?;
    Ok((f, bar.bar))
}

/// `irq_ack(slot)`: checks, in order, the slot (`BadSlot`, `EmptySlot`),
/// the kind (`WrongKind`), the `WRITE` right (`RightsExceeded`), then the
/// line (`NotOwner`, `NotPending`); returns the source to unmask.
fn irq_ack(task: &Task, env: &mut Env<'_>, slot: usize) -> Result<u32, SysError> {
    let cap = task.caps.get(slot)?;
    let Object::Irq { index } = cap.object else {
        return Err(SysError::WrongKind);
    };
    if !cap.rights.contains(CapRights::WRITE) {
        return Err(SysError::RightsExceeded);
    }
    env.irqs.ack(index, env.me)
}

/// `task_kill(slot)` and `task_restart(slot)`: checks the slot, the kind
/// and the `WRITE` right; returns the task to end (or restart).
fn task_control(task: &Task, slot: usize) -> Result<usize, SysError> {
    let cap = task.caps.get(slot)?;
    let Object::TaskControl { task } = cap.object else {
        return Err(SysError::WrongKind);
    };
    if !cap.rights.contains(CapRights::WRITE) {
        return Err(SysError::RightsExceeded);
    }
    Ok(task)
}

/// `channel_map(slot)`: a channel end is mapped only while it is usable
/// (`ResetPending`, `PeerEnded`); a slot that holds no channel capability
/// is `AddressSpace::channel_map`'s to report.
#[inline(never)]
fn channel_map(task: &mut Task, env: &Env<'_>, mem: &mut impl Memory, slot: usize) {
    match channel_end(task, slot).and_then(|(i, side)| env.channels.usable(i, side)) {
        Ok(()) | Err(SysError::BadSlot | SysError::EmptySlot | SysError::WrongKind) => {
            answer(task, mem, move |caps, space, mem, _| {
                let (va, len, device_addr) = space.channel_map(caps, mem, slot)?;
                Ok([va, len, device_addr])
            })
        }
        Err(e) => reply(task, Err(e)),
    }
}

/// The channel (index, side) of the channel capability in `slot`: checks
/// the slot (`BadSlot`, `EmptySlot`) and the kind (`WrongKind`).
fn channel_end(task: &Task, slot: usize) -> Result<(usize, usize), SysError> {
    let cap = task.caps.get(slot)?;
    let Object::Channel { index, side, .. } = cap.object else {
        return Err(SysError::WrongKind);
    };
    Ok((usize::from(index), usize::from(side)))
}

/// `channel_reset(slot)`: checks the slot (`BadSlot`, `EmptySlot`), the
/// kind (`WrongKind`), the `WRITE` right (`RightsExceeded`), then the
/// channel ([`ChannelTable::reset`]: `ResetPending`, `NotRestarted`,
/// `PeerEnded`); zeroes the channel's frames and returns the peer task and
/// the bits to raise there.
#[inline(never)]
fn channel_reset(
    task: &Task,
    env: &mut Env<'_>,
    mem: &mut impl Memory,
    slot: usize,
) -> Result<(usize, u64), SysError> {
    let (index, side) = channel_end(task, slot)?;
    if !task.caps.get(slot)?.rights.contains(CapRights::WRITE) {
        return Err(SysError::RightsExceeded);
    }
    let reset = env.channels.reset(index, side)?;
    mem.zero_frames(reset.base, reset.pages);
    Ok((reset.peer, reset.bits))
}

/// `channel_signal(slot)`: checks the slot (`BadSlot`, `EmptySlot`), the
/// kind (`WrongKind`), the `WRITE` right (`RightsExceeded`), then the peer
/// (`PeerEnded`); returns the peer task and the bits to raise there.
fn channel_signal(task: &Task, env: &Env<'_>, slot: usize) -> Result<(usize, u64), SysError> {
    let cap = task.caps.get(slot)?;
    let Object::Channel { index, side, .. } = cap.object else {
        return Err(SysError::WrongKind);
    };
    if !cap.rights.contains(CapRights::WRITE) {
        return Err(SysError::RightsExceeded);
    }
    env.channels.signal(usize::from(index), usize::from(side))
}

/// `cap_transfer(channel_slot, slot, rights)`: checks the channel end as
/// `channel_signal` does but the peer (`BadSlot`, `EmptySlot`,
/// `WrongKind`, `RightsExceeded`), then the capability and the rights
/// ([`crate::transfer::copy_for_transfer`]), then the peer (`PeerEnded`).
/// Returns the peer, its bit and the copy; the receiver's table
/// (`NoSlot`) is checked by the scheduler.
fn cap_transfer(
    task: &Task,
    env: &Env<'_>,
    channel_slot: usize,
    slot: usize,
    rights: usize,
) -> Result<(usize, u64, Cap), SysError> {
    let chan = task.caps.get(channel_slot)?;
    let Object::Channel { index, side, .. } = chan.object else {
        return Err(SysError::WrongKind);
    };
    if !chan.rights.contains(CapRights::WRITE) {
        return Err(SysError::RightsExceeded);
    }
    let cap = crate::transfer::copy_for_transfer(&task.caps, slot, rights)?;
    let (peer, bits) = env.channels.signal(usize::from(index), usize::from(side))?;
    Ok((peer, bits, cap))
}

/// Answers the calls that need neither memory, nor the console, nor the
/// scheduler (`cap_info`), as [`dispatch`] would: writes `a0..a3` and
/// returns true. Returns false, changing nothing, for every other call.
#[inline(always)]
pub fn fast(task: &mut Task, nr: usize, a0: usize) -> bool {
    if nr != Sysno::CapInfo as usize {
        return false;
    }
    reply(task, cap_info(task, a0));
    true
}

/// Writes a call's outcome to `a0..a3`.
#[inline(always)]
pub fn reply(task: &mut Task, result: Result<Values, SysError>) {
    task.frame.set_return(match result {
        Ok([a1, a2, a3]) => [0, a1, a2, a3],
        Err(e) => [e.code(), 0, 0, 0],
    });
}

#[inline(always)]
fn cap_info(task: &Task, slot: usize) -> Result<Values, SysError> {
    let cap = task.caps.get(slot)?;
    Ok([cap.kind() as usize, cap.len(), cap.rights.bits()])
}

/// Runs `call` with the task's capabilities, address space, the memory and
/// its DMA quota, and writes the outcome. A task whose memory is gone never
/// runs, so the space is always present here; its absence is treated as a
/// bad address rather than trusted away.
#[inline(never)]
fn answer<M: Memory>(
    task: &mut Task,
    mem: &mut M,
    call: impl FnOnce(&mut CapTable, &mut AddressSpace, &mut M, usize) -> Result<Values, SysError>,
) {
    let result = match task.space.as_mut() {
        Some(space) => call(&mut task.caps, space, mem, task.dma_quota),
        None => Err(SysError::BadAddress),
    };
    reply(task, result);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cap::{Cap, Object};
    use crate::device::{Device, DeviceClass, PciBar};
    use crate::devtree::{Irq, MAX_IRQS};
    use crate::mem::fake::FakeMemory;
    use crate::pci::{BarSlot, Bdf, Function, VendorCap};
    use crate::task::{Expect, State, TrapFrame};
    use nexus_abi::CapRights;
    use nexus_abi::pci::{PCI_CAP_BYTES, PciInfo, cap_from_regs};

    fn bare_task(caps: CapTable) -> Task {
        Task {
            frame: TrapFrame::default(),
            caps,
            name: "t",
            space: None,
            state: State::Runnable,
            expect: Expect::Exit0,
            dma_quota: 0,
            notify: Default::default(),
        }
    }

    /// A virtio-blk-pci function with two vendor capabilities, its BAR 4
    /// at 0x4_0000_0000 in the device table, next to a virtio-mmio window.
    fn pci_world() -> (DeviceTable, Functions) {
        let cap = |ty: u8| {
            let mut bytes = [0u8; PCI_CAP_BYTES];
            bytes[..4].copy_from_slice(&[9, 0, 16, ty]);
            bytes[23] = 0xee;
            Some(VendorCap {
                offset: 0x40,
                len: 16,
                bytes,
            })
        };
        let mut vendor_caps = [None; 8];
        vendor_caps[0] = cap(1);
        vendor_caps[1] = cap(3);
        let mut fns = Functions::new();
        fns.push(Function {
            bdf: Bdf::new(0, 1, 0).unwrap(),
            vendor: 0x1af4,
            device: 0x1042,
            class: 1,
            subclass: 0,
            prog_if: 0,
            revision: 1,
            header: 0,
            pin: 1,
            bars: [BarSlot::Absent; 6],
            vendor_caps,
            caps_truncated: false,
        });
        let mut devices = DeviceTable::new();
        let dev = |base, class| Device {
            base,
            len: 0x4000,
            irqs: [Irq::default(); MAX_IRQS],
            nirqs: 0,
            class,
        };
        let bar = DeviceClass::PciBar(PciBar {
            function: 0,
            bar: 4,
        });
        assert!(devices.insert(dev(0x4_0000_0000, bar)));
        assert!(devices.insert(dev(0x1000_0000, DeviceClass::Blk)));
        (devices, fns)
    }

    fn call(
        task: &mut Task,
        devices: &DeviceTable,
        pci: &Functions,
        nr: Sysno,
        args: [usize; 2],
    ) -> [usize; 4] {
        let mut irqs = IrqTable::default();
        let mut channels = ChannelTable::new();
        let mut env = Env {
            me: 0,
            now: 0,
            irqs: &mut irqs,
            devices,
            pci,
            channels: &mut channels,
        };
        let mut mem = FakeMemory::new(1);
        let action = dispatch(
            task,
            &mut mem,
            &mut |_: &[u8]| {},
            &mut env,
            nr as usize,
            [args[0], args[1], 0, 0, 0, 0],
        );
        assert_eq!(action, Action::Resume);
        let r = &task.frame.regs[crate::task::reg::A0..crate::task::reg::A0 + 4];
        [r[0], r[1], r[2], r[3]]
    }

    #[test]
    fn pci_info_and_cap_describe_a_bar_window_only() {
        let (devices, fns) = pci_world();
        let mut caps = CapTable::new();
        let window = |base, len| Cap::minted(Object::DeviceMmio { base, len }, CapRights::READ);
        caps.install(1, window(0x4_0000_0000, 0x4000)).unwrap();
        caps.install(2, window(0x1000_0000, 0x4000)).unwrap();
        // A sub-window of the BAR (as cap_derive makes): not a whole BAR.
        caps.install(3, window(0x4_0000_1000, 0x1000)).unwrap();
        caps.install(4, window(0x4_0000_0000, 0x1000)).unwrap();
        let mut t = bare_task(caps);
        let err = |e: SysError| [e.code(), 0, 0, 0];

        let r = call(&mut t, &devices, &fns, Sysno::PciInfo, [1, 0]);
        assert_eq!(r[0], 0);
        let info = PciInfo::from_regs([r[1] as u64, r[2] as u64, r[3] as u64]);
        assert_eq!(
            info,
            PciInfo {
                vendor: 0x1af4,
                device: 0x1042,
                class: 1,
                subclass: 0,
                prog_if: 0,
                revision: 1,
                bar: 4,
                vendor_caps: 2,
            }
        );
        let r = call(&mut t, &devices, &fns, Sysno::PciCap, [1, 1]);
        assert_eq!(r[0], 0);
        let bytes = cap_from_regs([r[1] as u64, r[2] as u64, r[3] as u64]);
        assert_eq!((bytes[0], bytes[2], bytes[3], bytes[23]), (9, 16, 3, 0xee));

        // Errors in the documented order.
        for (nr, args, e) in [
            (Sysno::PciInfo, [32, 0], SysError::BadSlot),
            (Sysno::PciCap, [usize::MAX, 0], SysError::BadSlot),
            (Sysno::PciInfo, [5, 0], SysError::EmptySlot),
            (Sysno::PciInfo, [0, 0], SysError::WrongKind),
            (Sysno::PciInfo, [2, 0], SysError::WrongKind),
            (Sysno::PciCap, [2, 0], SysError::WrongKind),
            (Sysno::PciInfo, [3, 0], SysError::WrongKind),
            (Sysno::PciInfo, [4, 0], SysError::WrongKind),
            (Sysno::PciCap, [1, 2], SysError::InvalidArgument),
            (Sysno::PciCap, [1, usize::MAX], SysError::InvalidArgument),
        ] {
            assert_eq!(
                call(&mut t, &devices, &fns, nr, args),
                err(e),
                "{nr:?} {args:?}"
            );
        }
        // Without the function in the table, the window is no PCI BAR.
        let r = call(&mut t, &devices, &Functions::new(), Sysno::PciInfo, [1, 0]);
        assert_eq!(r, err(SysError::WrongKind));
    }

    #[test]
    fn the_fast_path_answers_as_dispatch_does() {
        let mut caps = CapTable::new();
        let window = Object::DeviceMmio {
            base: 0x1000_8000,
            len: 0x2000,
        };
        caps.install(3, Cap::minted(window, CapRights::all()))
            .unwrap();
        let task = || Task {
            frame: TrapFrame::default(),
            caps: caps.clone(),
            name: "t",
            space: None,
            state: State::Runnable,
            expect: Expect::Exit0,
            dma_quota: 0,
            notify: Default::default(),
        };
        let mut mem = FakeMemory::new(4);
        for slot in [0, 1, 3, 31, 32, 1000, usize::MAX] {
            let (mut a, mut b) = (task(), task());
            assert!(fast(&mut a, Sysno::CapInfo as usize, slot));
            let mut irqs = IrqTable::default();
            let mut channels = ChannelTable::new();
            let mut env = Env {
                me: 0,
                now: 0,
                irqs: &mut irqs,
                devices: &DeviceTable::new(),
                pci: &Functions::new(),
                channels: &mut channels,
            };
            let action = dispatch(
                &mut b,
                &mut mem,
                &mut |_: &[u8]| {},
                &mut env,
                Sysno::CapInfo as usize,
                [slot, 0, 0, 0, 0, 0],
            );
            assert_eq!(action, Action::Resume);
            assert_eq!(a.frame.regs, b.frame.regs);
        }
        let mut t = task();
        for nr in [0, 1, 2, 4, 6, 10, 11, usize::MAX] {
            assert!(!fast(&mut t, nr, 0));
            assert_eq!(t.frame.regs, TrapFrame::default().regs, "untouched");
        }
    }
}
