//! Capability transfer over a channel, and revocation that follows the
//! copies into other tasks.
//!
//! `cap_transfer` hands the peer of a channel a copy of a capability that
//! holds `TRANSFER`, with at most the sender's rights, in the receiver's
//! lowest free slot. The copy remembers where it came from (`origin`: the
//! sender and its slot). Revoking a capability deletes, besides its
//! descendants in the caller's table, every copy transferred from it or
//! from any of them, in every task, with the copies' own descendants and
//! copies, unmapping whatever they had mapped.

use nexus_abi::{CapRights, SysError};

use crate::cap::{CAP_SLOTS, Cap, CapTable, Object};
use crate::mem::Memory;
use crate::task::{MAX_TASKS, Task};

/// The copy of the capability in `slot` of `caps` (held by task `me`) that
/// the peer receives with `rights`. Checks, in order: the slot
/// (`BadSlot`, `EmptySlot`); the kind, only device windows travel
/// (`WrongKind`); the sender's `TRANSFER` right (`RightsExceeded`);
/// unknown rights bits (`InvalidArgument`); rights beyond the sender's
/// (`RightsExceeded`).
pub fn copy_for_transfer(
    caps: &CapTable,
    me: usize,
    slot: usize,
    rights: usize,
) -> Result<Cap, SysError> {
    let cap = caps.get(slot)?;
    if !matches!(cap.object, Object::DeviceMmio { .. }) {
        return Err(SysError::WrongKind);
    }
    if !cap.rights.contains(CapRights::TRANSFER) {
        return Err(SysError::RightsExceeded);
    }
    let rights = CapRights::from_bits(rights).ok_or(SysError::InvalidArgument)?;
    if !cap.rights.contains(rights) {
        return Err(SysError::RightsExceeded);
    }
    Ok(Cap {
        object: cap.object,
        rights,
        parent: None,
        mapped_at: None,
        origin: Some((me, slot)),
    })
}

/// Puts a transferred copy in the receiver's lowest free slot
/// (`NoSlot` if there is none).
pub fn receive(caps: &mut CapTable, cap: Cap) -> Result<usize, SysError> {
    let slot = caps.free_slot()?;
    caps.install(slot, cap)?;
    Ok(slot)
}

/// Task `from` just lost the capabilities in `slots` (a bit per slot) to a
/// revocation: deletes every copy transferred from one of them, in every
/// task, with each copy's descendants, then the copies made of those, and
/// so on; whatever they mapped is unmapped. Returns how many went.
pub fn revoke_copies<M: Memory>(
    tasks: &mut [Option<Task>],
    mem: &mut M,
    from: usize,
    slots: u64,
) -> usize {
    let mut pending = [0u64; MAX_TASKS];
    let Some(p) = pending.get_mut(from) else {
        return 0;
    };
    *p = slots;
    let mut gone = 0;
    while let Some(t) = pending.iter().position(|&s| s != 0) {
        let set = core::mem::take(&mut pending[t]);
        for (u, task) in tasks.iter_mut().enumerate().take(MAX_TASKS) {
            let Some(task) = task else { continue };
            let mut doomed = 0u64;
            for (i, cap) in task.caps.iter() {
                if let Some((ot, os)) = cap.origin
                    && ot == t
                    && os < CAP_SLOTS
                    && set & (1 << os) != 0
                {
                    doomed |= 1 << i;
                }
            }
            if doomed == 0 {
                continue;
            }
            for i in 0..CAP_SLOTS {
                if doomed & (1 << i) != 0 {
                    doomed |= task.caps.descendants(i);
                }
            }
            let Task { caps, space, .. } = task;
            match space.as_mut() {
                Some(space) => space.remove_caps(caps, mem, doomed),
                None => {
                    for i in 0..CAP_SLOTS {
                        if doomed & (1 << i) != 0 {
                            caps.take(i);
                        }
                    }
                }
            }
            gone += doomed.count_ones() as usize;
            pending[u] |= doomed;
        }
    }
    gone
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::fake::FakeMemory;
    use crate::pagetable::PageTable;
    use crate::space::AddressSpace;
    use crate::task::{Expect, State, TrapFrame};
    use nexus_abi::MapProt;
    use nexus_abi::layout::PAGE_SIZE;

    const WINDOW: Object = Object::DeviceMmio {
        base: 0x1000_8000,
        len: 0x2000,
    };

    fn tasks(n: usize) -> (FakeMemory, std::vec::Vec<Option<Task>>, usize) {
        let mut mem = FakeMemory::new(1024);
        let kernel = PageTable::new(&mut mem).unwrap();
        let baseline = mem.used();
        let mut v = std::vec::Vec::new();
        for i in 0..n {
            v.push(Some(Task {
                frame: TrapFrame::default(),
                caps: CapTable::new(),
                name: ["a", "b", "c", "d"][i],
                space: Some(AddressSpace::new(&mut mem, &kernel).unwrap()),
                state: State::Runnable,
                expect: Expect::Exit0,
                dma_quota: 0,
                notify: Default::default(),
            }));
        }
        (mem, v, baseline)
    }

    fn t(v: &mut [Option<Task>], i: usize) -> &mut Task {
        v[i].as_mut().unwrap()
    }

    #[test]
    fn a_copy_needs_transfer_and_never_gains_rights() {
        let mut caps = CapTable::new();
        let all = CapRights::all();
        caps.install(1, Cap::minted(WINDOW, all)).unwrap();
        caps.install(2, Cap::minted(WINDOW, all - CapRights::TRANSFER))
            .unwrap();
        caps.install(3, Cap::minted(Object::Irq { index: 0 }, all))
            .unwrap();
        let r = (CapRights::READ | CapRights::MAP).bits();
        assert_eq!(copy_for_transfer(&caps, 0, 32, r), Err(SysError::BadSlot));
        assert_eq!(copy_for_transfer(&caps, 0, 9, r), Err(SysError::EmptySlot));
        assert_eq!(copy_for_transfer(&caps, 0, 3, r), Err(SysError::WrongKind));
        assert_eq!(copy_for_transfer(&caps, 0, 0, r), Err(SysError::WrongKind));
        assert_eq!(
            copy_for_transfer(&caps, 0, 2, r),
            Err(SysError::RightsExceeded),
            "no TRANSFER"
        );
        assert_eq!(
            copy_for_transfer(&caps, 0, 1, 1 << 12),
            Err(SysError::InvalidArgument)
        );
        let ro = caps.derive(
            1,
            0,
            PAGE_SIZE,
            (CapRights::READ | CapRights::TRANSFER).bits(),
        );
        let ro = ro.unwrap();
        assert_eq!(
            copy_for_transfer(&caps, 0, ro, (CapRights::READ | CapRights::WRITE).bits()),
            Err(SysError::RightsExceeded),
            "the sender's rights bound the copy's"
        );
        let copy = copy_for_transfer(&caps, 7, 1, r).unwrap();
        assert_eq!(copy.rights.bits(), r);
        assert_eq!(copy.origin, Some((7, 1)));
        assert_eq!((copy.parent, copy.mapped_at), (None, None));
        let mut other = CapTable::new();
        assert_eq!(receive(&mut other, copy), Ok(1), "the lowest free slot");
        assert_eq!(receive(&mut other, copy), Ok(2));
        for _ in 3..CAP_SLOTS {
            receive(&mut other, copy).unwrap();
        }
        assert_eq!(receive(&mut other, copy), Err(SysError::NoSlot));
    }

    #[test]
    fn revoking_the_original_revokes_copies_their_children_and_mappings() {
        let (mut mem, mut v, baseline) = tasks(4);
        let all = CapRights::all();
        t(&mut v, 0)
            .caps
            .install(1, Cap::minted(WINDOW, all))
            .unwrap();
        // a derives a child, hands it to b; b maps it, derives from it, and
        // hands that on to c; d gets an unrelated copy of a's slot 1.
        let child = t(&mut v, 0).caps.derive(1, 0, 0x2000, all.bits()).unwrap();
        let copy = copy_for_transfer(&t(&mut v, 0).caps, 0, child, all.bits()).unwrap();
        let b_slot = receive(&mut t(&mut v, 1).caps, copy).unwrap();
        let b = t(&mut v, 1);
        let (va, _) = b
            .space
            .as_mut()
            .unwrap()
            .mmio_map(&mut b.caps, &mut mem, b_slot, MapProt::READ.bits())
            .unwrap();
        assert!(b.space.as_ref().unwrap().query(&mut mem, va).is_ok());
        let b_child = b.caps.derive(b_slot, 0, PAGE_SIZE, all.bits()).unwrap();
        let to_c = copy_for_transfer(&b.caps, 1, b_child, all.bits()).unwrap();
        let c_slot = receive(&mut t(&mut v, 2).caps, to_c).unwrap();
        let to_d = copy_for_transfer(&t(&mut v, 0).caps, 0, 1, all.bits()).unwrap();
        let d_slot = receive(&mut t(&mut v, 3).caps, to_d).unwrap();

        // a revokes slot 1: its child goes locally, and every copy of the
        // child, transitively, goes too.
        let a = t(&mut v, 0);
        let doomed = a.caps.descendants(1) | 1 << 1;
        a.space
            .as_mut()
            .unwrap()
            .revoke(&mut a.caps, &mut mem, 1)
            .unwrap();
        let gone = revoke_copies(&mut v, &mut mem, 0, doomed);
        assert_eq!(gone, 4, "b's copy and child, c's copy, d's copy");
        assert_eq!(t(&mut v, 1).caps.get(b_slot), Err(SysError::EmptySlot));
        assert_eq!(t(&mut v, 1).caps.get(b_child), Err(SysError::EmptySlot));
        assert_eq!(t(&mut v, 2).caps.get(c_slot), Err(SysError::EmptySlot));
        assert_eq!(t(&mut v, 3).caps.get(d_slot), Err(SysError::EmptySlot));
        let b = t(&mut v, 1);
        assert_eq!(
            b.space.as_ref().unwrap().query(&mut mem, va),
            Err(SysError::NotMapped),
            "the copy's mapping went with it"
        );
        assert!(t(&mut v, 0).caps.get(1).is_ok(), "the original stays");
        for task in v.iter_mut().flatten() {
            task.space.take().unwrap().destroy(&mut mem);
        }
        assert_eq!(mem.used(), baseline);
    }

    #[test]
    fn revoking_an_unrelated_slot_leaves_copies_alone() {
        let (mut mem, mut v, _) = tasks(2);
        let all = CapRights::all();
        t(&mut v, 0)
            .caps
            .install(1, Cap::minted(WINDOW, all))
            .unwrap();
        t(&mut v, 0)
            .caps
            .install(2, Cap::minted(WINDOW, all))
            .unwrap();
        let copy = copy_for_transfer(&t(&mut v, 0).caps, 0, 1, all.bits()).unwrap();
        let s = receive(&mut t(&mut v, 1).caps, copy).unwrap();
        assert_eq!(revoke_copies(&mut v, &mut mem, 0, 1 << 2), 0);
        assert_eq!(
            revoke_copies(&mut v, &mut mem, 1, 1 << 1),
            0,
            "b's own slot 1"
        );
        assert!(t(&mut v, 1).caps.get(s).is_ok());
        assert_eq!(revoke_copies(&mut v, &mut mem, 99, u64::MAX), 0);
    }
}
