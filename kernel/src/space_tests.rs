//! Capability and device-mapping invariants, exercised through the real
//! address space, capability table, page tables and system-call dispatcher
//! over simulated memory.

extern crate std;
use std::vec::Vec;

use nexus_abi::layout::{
    DEBUG_WRITE_MAX, DEVICE_REGION_BASE, DEVICE_REGION_SIZE, IMAGE_BASE, PAGE_SIZE, STACK_SIZE,
    STACK_TOP, USER_BASE,
};
use nexus_abi::{CapKind, CapRights, MapProt, SysError, Sysno};

use crate::cap::{CAP_SLOTS, Cap, CapTable, Object, SELF_SLOT};
use crate::channel::ChannelTable;
use crate::device::DeviceTable;
use crate::elf::{MAX_SEGMENTS, Program, Segment};
use crate::mem::Memory;
use crate::mem::fake::FakeMemory;
use crate::notify::{Claimed, IrqTable};
use crate::pagetable::PageTable;
use crate::pci::Functions;
use crate::pte::{Owner, Pte, PteFlags};
use crate::space::AddressSpace;
use crate::syscall::{Action, Env, dispatch};
use crate::task::{Expect, State, Task, TrapFrame, reg};

/// The window of the device capability in slot [`DEV`].
const BASE: usize = 0x1000_8000;
const LEN: usize = 0x4000;
const DEV: usize = 1;
const ALL: CapRights = CapRights::all();
const R: usize = MapProt::READ.bits();
const W: usize = MapProt::WRITE.bits();
const X: usize = MapProt::EXEC.bits();
const RW: usize = R | W;

/// A kernel-only page present in every address space.
const KERNEL_VA: usize = 0x8020_0000;

const TEXT_VA: usize = IMAGE_BASE;
const DATA_VA: usize = IMAGE_BASE + PAGE_SIZE;
const DATA_LEN: usize = 2 * PAGE_SIZE;
const DATA_OFFSET: usize = PAGE_SIZE;

fn rights(r: CapRights) -> usize {
    r.bits()
}

/// The byte at `i` of the loaded data segment.
fn data_byte(i: usize) -> u8 {
    (i * 7 % 251) as u8
}

/// A task with a fresh address space and a device capability in slot 1.
pub(crate) struct World {
    pub(crate) mem: FakeMemory,
    /// Frames in use before the task's address space existed.
    pub(crate) baseline: usize,
    pub(crate) task: Task,
    /// The interrupt lines (the task is index 0).
    pub(crate) irqs: IrqTable,
    /// The channels (the task is index 0).
    pub(crate) channels: ChannelTable,
}

impl World {
    pub(crate) fn new() -> World {
        let mut mem = FakeMemory::new(1024);
        let mut kernel = PageTable::new(&mut mem).unwrap();
        let k = Pte::leaf(KERNEL_VA, MapProt::READ | MapProt::EXEC, Owner::Kernel).unwrap();
        kernel.map(&mut mem, KERNEL_VA, k).unwrap();
        let baseline = mem.used();
        let space = AddressSpace::new(&mut mem, &kernel).unwrap();
        let mut caps = CapTable::new();
        let obj = Object::DeviceMmio {
            base: BASE,
            len: LEN,
        };
        caps.install(DEV, Cap::minted(obj, ALL)).unwrap();
        World {
            mem,
            baseline,
            task: Task {
                name: "test",
                caps,
                space: Some(space),
                frame: TrapFrame::default(),
                state: State::Runnable,
                expect: Expect::Exit0,
                dma_quota: 0,
                notify: Default::default(),
            },
            irqs: IrqTable::default(),
            channels: ChannelTable::new(),
        }
    }

    /// [`World::new`] with a program loaded: one text page, two data pages
    /// holding [`data_byte`], and the stack.
    pub(crate) fn loaded() -> World {
        let mut w = World::new();
        let mut image = std::vec![0u8; DATA_OFFSET + DATA_LEN];
        image[..4].copy_from_slice(&[0x13, 0, 0, 0]);
        for (i, b) in image[DATA_OFFSET..].iter_mut().enumerate() {
            *b = data_byte(i);
        }
        let mut segments = [None; MAX_SEGMENTS];
        segments[0] = Some(Segment {
            vaddr: TEXT_VA,
            memsz: PAGE_SIZE,
            offset: 0,
            filesz: 4,
            prot: MapProt::READ | MapProt::EXEC,
        });
        segments[1] = Some(Segment {
            vaddr: DATA_VA,
            memsz: DATA_LEN,
            offset: DATA_OFFSET,
            filesz: DATA_LEN,
            prot: MapProt::RW,
        });
        let program = Program {
            segments,
            entry: TEXT_VA,
        };
        let space = w.task.space.as_mut().unwrap();
        space.load(&mut w.mem, &program, &image).unwrap();
        w
    }

    fn space(&self) -> &AddressSpace {
        self.task.space.as_ref().unwrap()
    }

    fn caps(&mut self) -> &mut CapTable {
        &mut self.task.caps
    }

    fn map(&mut self, slot: usize, prot: usize) -> Result<(usize, usize), SysError> {
        let space = self.task.space.as_mut().unwrap();
        space.mmio_map(&mut self.task.caps, &mut self.mem, slot, prot)
    }

    fn unmap(&mut self, va: usize) -> Result<(), SysError> {
        let space = self.task.space.as_mut().unwrap();
        space.mmio_unmap(&mut self.task.caps, &mut self.mem, va)
    }

    fn revoke(&mut self, slot: usize) -> Result<usize, SysError> {
        let space = self.task.space.as_mut().unwrap();
        space.revoke(&mut self.task.caps, &mut self.mem, slot)
    }

    fn derive(&mut self, slot: usize, off: usize, len: usize, r: usize) -> Result<usize, SysError> {
        self.task.caps.derive(slot, off, len, r)
    }

    fn query(&mut self, va: usize) -> Result<MapProt, SysError> {
        let space = self.task.space.as_ref().unwrap();
        space.query(&mut self.mem, va)
    }

    pub(crate) fn lookup(&mut self, va: usize) -> Option<Pte> {
        let pt = *self.space().page_table();
        pt.lookup(&mut self.mem, va)
    }

    /// Every user leaf, in address order.
    pub(crate) fn leaves(&mut self) -> Vec<(usize, Pte)> {
        let pt = *self.space().page_table();
        let mut out = Vec::new();
        pt.for_each_user_leaf(&mut self.mem, |va, pte| out.push((va, pte)));
        out
    }

    /// The user leaves inside the device region.
    fn device_leaves(&mut self) -> Vec<(usize, Pte)> {
        let region = DEVICE_REGION_BASE..DEVICE_REGION_BASE + DEVICE_REGION_SIZE;
        let mut l = self.leaves();
        l.retain(|(va, _)| region.contains(va));
        l
    }

    /// A system call through the dispatcher: returns `a0..a3` and the bytes
    /// written to the console.
    pub(crate) fn call(&mut self, nr: usize, args: [usize; 6]) -> ([usize; 4], Vec<u8>) {
        let mut out = Vec::new();
        self.task.frame.regs[reg::A0..reg::A0 + 4].fill(0xdead);
        let mut env = Env {
            me: 0,
            now: 0,
            irqs: &mut self.irqs,
            devices: &DeviceTable::new(),
            pci: &Functions::new(),
            channels: &mut self.channels,
        };
        let action = dispatch(
            &mut self.task,
            &mut self.mem,
            &mut |b: &[u8]| out.extend_from_slice(b),
            &mut env,
            nr,
            args,
        );
        assert!(matches!(
            action,
            Action::Resume | Action::Signal { .. } | Action::Revoked(_)
        ));
        let r = &self.task.frame.regs[reg::A0..reg::A0 + 4];
        ([r[0], r[1], r[2], r[3]], out)
    }

    pub(crate) fn sys(&mut self, nr: Sysno, args: &[usize]) -> [usize; 4] {
        let mut a = [0; 6];
        a[..args.len()].copy_from_slice(args);
        self.call(nr as usize, a).0
    }
}

/// The registers of a failed call: the code in `a0`, nothing in `a1..a3`.
fn failed(e: SysError) -> [usize; 4] {
    [e.code(), 0, 0, 0]
}

fn pages(va: usize, len: usize) -> Vec<usize> {
    (0..len / PAGE_SIZE).map(|i| va + i * PAGE_SIZE).collect()
}

#[test]
fn missing_capabilities_are_empty_or_bad_slots() {
    let mut w = World::new();
    for slot in [2, 7, CAP_SLOTS - 1] {
        assert_eq!(w.map(slot, R), Err(SysError::EmptySlot));
        assert_eq!(w.derive(slot, 0, PAGE_SIZE, 0), Err(SysError::EmptySlot));
        assert_eq!(w.revoke(slot), Err(SysError::EmptySlot));
    }
    for slot in [CAP_SLOTS, CAP_SLOTS + 1, usize::MAX] {
        assert_eq!(w.map(slot, R), Err(SysError::BadSlot));
        assert_eq!(w.derive(slot, 0, PAGE_SIZE, 0), Err(SysError::BadSlot));
        assert_eq!(w.revoke(slot), Err(SysError::BadSlot));
    }
    assert!(w.device_leaves().is_empty());
    assert_eq!(w.sys(Sysno::MmioMap, &[2, R]), failed(SysError::EmptySlot));
    assert_eq!(
        w.sys(Sysno::MmioMap, &[usize::MAX, R]),
        failed(SysError::BadSlot)
    );
    assert_eq!(w.sys(Sysno::CapInfo, &[9]), failed(SysError::EmptySlot));
    assert_eq!(
        w.sys(Sysno::CapInfo, &[CAP_SLOTS]),
        failed(SysError::BadSlot)
    );
}

#[test]
fn the_task_capability_is_the_wrong_kind() {
    let mut w = World::new();
    assert_eq!(w.map(SELF_SLOT, R), Err(SysError::WrongKind));
    assert_eq!(w.map(SELF_SLOT, RW), Err(SysError::WrongKind));
    assert_eq!(
        w.derive(SELF_SLOT, 0, PAGE_SIZE, 0),
        Err(SysError::WrongKind)
    );
    assert_eq!(
        w.sys(Sysno::MmioMap, &[SELF_SLOT, R]),
        failed(SysError::WrongKind)
    );
    assert_eq!(
        w.sys(Sysno::CapInfo, &[SELF_SLOT]),
        [0, CapKind::Task as usize, 0, 0]
    );
    assert!(w.device_leaves().is_empty());
}

#[test]
fn mapping_needs_map_read_and_write_rights() {
    let mut w = World::new();
    let ro = w
        .derive(DEV, 0, LEN, rights(CapRights::READ | CapRights::MAP))
        .unwrap();
    assert_eq!(w.map(ro, RW), Err(SysError::RightsExceeded));
    let no_map = w
        .derive(DEV, 0, LEN, rights(CapRights::READ | CapRights::WRITE))
        .unwrap();
    assert_eq!(w.map(no_map, R), Err(SysError::RightsExceeded));
    assert_eq!(w.map(no_map, RW), Err(SysError::RightsExceeded));
    let no_read = w
        .derive(DEV, 0, LEN, rights(CapRights::WRITE | CapRights::MAP))
        .unwrap();
    assert_eq!(w.map(no_read, R), Err(SysError::RightsExceeded));
    assert_eq!(w.map(no_read, RW), Err(SysError::RightsExceeded));
    assert!(w.device_leaves().is_empty(), "a refusal maps nothing");
    assert_eq!(
        w.sys(Sysno::MmioMap, &[ro, RW]),
        failed(SysError::RightsExceeded)
    );
    // What the capability does allow still works, and only that.
    let (va, _) = w.map(ro, R).unwrap();
    assert_eq!(w.query(va), Ok(MapProt::READ));
}

#[test]
fn execute_is_never_granted_on_device_memory() {
    let mut w = World::new();
    for prot in [X, R | X, R | W | X, W | X] {
        assert_eq!(w.map(DEV, prot), Err(SysError::ExecNotAllowed), "{prot}");
        assert_eq!(
            w.sys(Sysno::MmioMap, &[DEV, prot]),
            failed(SysError::ExecNotAllowed)
        );
    }
    assert!(w.device_leaves().is_empty());
    assert_eq!(w.caps().get(DEV).unwrap().mapped_at, None);
    // The capability is untouched by the refusals.
    let (va, len) = w.map(DEV, RW).unwrap();
    assert_eq!(len, LEN);
    assert_eq!(w.query(va), Ok(MapProt::RW));
}

#[test]
fn write_only_is_refused() {
    let mut w = World::new();
    assert_eq!(w.map(DEV, W), Err(SysError::WriteOnly));
    assert_eq!(
        w.sys(Sysno::MmioMap, &[DEV, W]),
        failed(SysError::WriteOnly)
    );
    assert!(w.device_leaves().is_empty());
}

#[test]
fn unknown_or_empty_protections_are_invalid() {
    let mut w = World::new();
    for prot in [0, 8, R | 8, RW | (1 << 20), 1 << 63, usize::MAX] {
        assert_eq!(
            w.map(DEV, prot),
            Err(SysError::InvalidArgument),
            "{prot:#x}"
        );
    }
    assert_eq!(
        w.sys(Sysno::MmioMap, &[DEV, 0]),
        failed(SysError::InvalidArgument)
    );
    assert!(w.device_leaves().is_empty());
}

#[test]
fn derive_beyond_the_window_is_out_of_window() {
    let mut w = World::new();
    let all = rights(ALL);
    assert_eq!(
        w.derive(DEV, 0, LEN + PAGE_SIZE, all),
        Err(SysError::OutOfWindow)
    );
    assert_eq!(
        w.derive(DEV, LEN, PAGE_SIZE, all),
        Err(SysError::OutOfWindow)
    );
    assert_eq!(
        w.derive(DEV, LEN - PAGE_SIZE, 2 * PAGE_SIZE, all),
        Err(SysError::OutOfWindow)
    );
    // A child's window bounds its own children, not the original one.
    let child = w.derive(DEV, PAGE_SIZE, 2 * PAGE_SIZE, all).unwrap();
    assert_eq!(
        w.derive(child, 0, 3 * PAGE_SIZE, all),
        Err(SysError::OutOfWindow)
    );
    assert_eq!(
        w.derive(child, 2 * PAGE_SIZE, PAGE_SIZE, all),
        Err(SysError::OutOfWindow)
    );
    let grandchild = w.derive(child, PAGE_SIZE, PAGE_SIZE, all).unwrap();
    assert_eq!(
        w.caps().get(grandchild).unwrap().object,
        Object::DeviceMmio {
            base: BASE + 2 * PAGE_SIZE,
            len: PAGE_SIZE
        }
    );
    assert_eq!(
        w.sys(Sysno::CapDerive, &[DEV, 0, 2 * LEN, all]),
        failed(SysError::OutOfWindow)
    );
}

#[test]
fn overflowing_offset_and_length_is_overflow() {
    let mut w = World::new();
    let top = usize::MAX & !(PAGE_SIZE - 1);
    let all = rights(ALL);
    assert_eq!(
        w.derive(DEV, top, 2 * PAGE_SIZE, all),
        Err(SysError::Overflow)
    );
    assert_eq!(w.derive(DEV, PAGE_SIZE, top, all), Err(SysError::Overflow));
    assert_eq!(w.derive(DEV, top, top, all), Err(SysError::Overflow));
    assert_eq!(
        w.sys(Sysno::CapDerive, &[DEV, top, top, all]),
        failed(SysError::Overflow)
    );
    assert_eq!(w.caps().iter().count(), 2, "nothing was derived");
}

#[test]
fn unaligned_offsets_and_lengths_are_refused() {
    let mut w = World::new();
    let all = rights(ALL);
    for (off, len) in [
        (0x10, PAGE_SIZE),
        (0, 0x800),
        (PAGE_SIZE + 1, PAGE_SIZE),
        (0, 1),
    ] {
        assert_eq!(w.derive(DEV, off, len, all), Err(SysError::Unaligned));
    }
    assert_eq!(
        w.sys(Sysno::CapDerive, &[DEV, 8, PAGE_SIZE, all]),
        failed(SysError::Unaligned)
    );
    assert_eq!(w.caps().iter().count(), 2);
}

#[test]
fn a_capability_maps_once() {
    let mut w = World::new();
    let (va, _) = w.map(DEV, RW).unwrap();
    let before = w.device_leaves();
    assert_eq!(w.map(DEV, RW), Err(SysError::AlreadyMapped));
    assert_eq!(w.map(DEV, R), Err(SysError::AlreadyMapped));
    assert_eq!(
        w.sys(Sysno::MmioMap, &[DEV, R]),
        failed(SysError::AlreadyMapped)
    );
    assert_eq!(w.device_leaves(), before);
    assert_eq!(w.caps().get(DEV).unwrap().mapped_at, Some(va));
    // A separate capability for the same window maps separately.
    let copy = w.derive(DEV, 0, LEN, rights(ALL)).unwrap();
    let (va2, _) = w.map(copy, R).unwrap();
    assert_ne!(va, va2);
    assert_eq!(w.device_leaves().len(), 2 * LEN / PAGE_SIZE);
}

#[test]
fn unmapping_what_is_not_a_mapping_is_not_mapped() {
    let mut w = World::loaded();
    let (va, len) = w.map(DEV, RW).unwrap();
    for bad in [
        DEVICE_REGION_BASE + 0x10_0000,
        va + PAGE_SIZE,
        va + 8,
        va + len,
        KERNEL_VA,
        DATA_VA,
        STACK_TOP - PAGE_SIZE,
        0,
        usize::MAX,
    ] {
        assert_eq!(w.unmap(bad), Err(SysError::NotMapped), "{bad:#x}");
    }
    assert_eq!(w.device_leaves().len(), len / PAGE_SIZE);
    assert_eq!(w.query(DATA_VA), Ok(MapProt::RW), "data untouched");
    w.unmap(va).unwrap();
    assert_eq!(w.unmap(va), Err(SysError::NotMapped), "twice");
    assert_eq!(w.sys(Sysno::MmioUnmap, &[va]), failed(SysError::NotMapped));
}

#[test]
fn revoke_removes_every_derived_mapping_and_keeps_the_parents() {
    let mut w = World::new();
    let all = rights(ALL);
    let (parent_va, _) = w.map(DEV, RW).unwrap();
    let a = w.derive(DEV, 0, 2 * PAGE_SIZE, all).unwrap();
    let b = w.derive(a, PAGE_SIZE, PAGE_SIZE, all).unwrap();
    let c = w.derive(b, 0, PAGE_SIZE, all).unwrap();
    let sibling = w.derive(DEV, 3 * PAGE_SIZE, PAGE_SIZE, all).unwrap();
    let (a_va, _) = w.map(a, RW).unwrap();
    let (b_va, _) = w.map(b, R).unwrap();
    let (c_va, _) = w.map(c, RW).unwrap();
    let (s_va, _) = w.map(sibling, R).unwrap();
    assert_eq!(w.device_leaves().len(), 4 + 2 + 1 + 1 + 1);

    // Revoking `a` takes its child and grandchild, not `a` or its sibling.
    w.mem.flushed.clear();
    assert_eq!(w.revoke(a), Ok(2));
    assert_eq!(w.caps().get(b), Err(SysError::EmptySlot));
    assert_eq!(w.caps().get(c), Err(SysError::EmptySlot));
    assert_eq!(w.caps().get(a).unwrap().mapped_at, Some(a_va));
    let mut flushed = w.mem.flushed.clone();
    flushed.sort();
    let mut expect = std::vec![b_va, c_va];
    expect.sort();
    assert_eq!(flushed, expect, "every revoked page leaves the TLB");
    for va in [b_va, c_va] {
        assert_eq!(w.lookup(va), None);
        assert_eq!(w.query(va), Err(SysError::NotMapped));
        assert_eq!(w.unmap(va), Err(SysError::NotMapped));
    }

    // Revoking the minted capability takes everything derived from it.
    let d = w.derive(sibling, 0, PAGE_SIZE, all).unwrap();
    let (d_va, _) = w.map(d, R).unwrap();
    assert_eq!(
        w.sys(Sysno::CapRevoke, &[DEV]),
        [0, 3, 0, 0],
        "a, sibling and sibling's child"
    );
    let left: Vec<usize> = w.device_leaves().iter().map(|l| l.0).collect();
    assert_eq!(left, pages(parent_va, LEN), "only the parent's own mapping");
    for va in [a_va, a_va + PAGE_SIZE, s_va, d_va] {
        assert_eq!(w.query(va), Err(SysError::NotMapped));
    }
    assert_eq!(w.caps().iter().count(), 2);
    assert_eq!(w.caps().get(DEV).unwrap().mapped_at, Some(parent_va));
    assert_eq!(w.revoke(DEV), Ok(0), "nothing left to revoke");
    assert_eq!(w.query(parent_va), Ok(MapProt::RW));
}

#[test]
fn derive_never_adds_rights() {
    let mut w = World::new();
    let parent_rights = CapRights::READ | CapRights::MAP | CapRights::DERIVE;
    let p = w.derive(DEV, 0, LEN, rights(parent_rights)).unwrap();
    for bits in 0..=ALL.bits() {
        let asked = CapRights::from_bits(bits).unwrap();
        let got = w.derive(p, 0, PAGE_SIZE, bits);
        if parent_rights.contains(asked) {
            let slot = got.unwrap();
            assert_eq!(w.caps().get(slot).unwrap().rights, asked);
            assert_eq!(
                w.sys(Sysno::CapInfo, &[slot]),
                [0, CapKind::DeviceMmio as usize, PAGE_SIZE, bits]
            );
            w.caps().take(slot).unwrap();
        } else {
            assert_eq!(got, Err(SysError::RightsExceeded), "{asked:?}");
        }
    }
    // Without DERIVE nothing can be derived, not even fewer rights.
    let leaf = w.derive(DEV, 0, LEN, rights(CapRights::READ)).unwrap();
    assert_eq!(
        w.derive(leaf, 0, PAGE_SIZE, 0),
        Err(SysError::RightsExceeded)
    );
    assert_eq!(
        w.derive(DEV, 0, PAGE_SIZE, 1 << 5),
        Err(SysError::InvalidArgument)
    );
    // Every live capability's rights and window lie inside its parent's.
    for (_, cap) in w.task.caps.iter() {
        if let Some(parent) = cap.parent {
            let pc = w.task.caps.get(parent).unwrap();
            assert!(pc.rights.contains(cap.rights));
        }
    }
}

#[test]
fn device_ptes_are_user_accessed_dirty_and_never_executable() {
    let mut w = World::new();
    let half = w
        .derive(DEV, 2 * PAGE_SIZE, 2 * PAGE_SIZE, rights(ALL))
        .unwrap();
    let (rw_va, _) = w.map(DEV, RW).unwrap();
    let (ro_va, _) = w.map(half, R).unwrap();
    let base = PteFlags::V | PteFlags::U | PteFlags::R | PteFlags::A | PteFlags::D;
    let leaves = w.device_leaves();
    assert_eq!(leaves.len(), 6);
    for (va, pte) in leaves {
        let expect = if (rw_va..rw_va + LEN).contains(&va) {
            base | PteFlags::W
        } else {
            assert!((ro_va..ro_va + 2 * PAGE_SIZE).contains(&va));
            base
        };
        assert_eq!(pte.flags(), expect, "{va:#x}");
        assert!(!pte.flags().contains(PteFlags::X));
        assert!(!pte.flags().contains(PteFlags::G));
    }
}

#[test]
fn device_leaves_point_exactly_at_the_window() {
    let mut w = World::new();
    let sub = w
        .derive(DEV, PAGE_SIZE, 2 * PAGE_SIZE, rights(ALL))
        .unwrap();
    let (va, len) = w.map(sub, RW).unwrap();
    assert_eq!(len, 2 * PAGE_SIZE);
    assert_eq!(va % PAGE_SIZE, 0);
    let leaves = w.device_leaves();
    let got: Vec<(usize, usize)> = leaves.iter().map(|(v, p)| (*v, p.phys())).collect();
    assert_eq!(
        got,
        [
            (va, BASE + PAGE_SIZE),
            (va + PAGE_SIZE, BASE + 2 * PAGE_SIZE)
        ]
    );
    w.unmap(va).unwrap();
    let (va, len) = w.map(DEV, R).unwrap();
    let got: Vec<(usize, usize)> = w
        .device_leaves()
        .iter()
        .map(|(v, p)| (*v, p.phys()))
        .collect();
    let expect: Vec<(usize, usize)> = (0..len / PAGE_SIZE)
        .map(|i| (va + i * PAGE_SIZE, BASE + i * PAGE_SIZE))
        .collect();
    assert_eq!(got, expect);
}

#[test]
fn an_unmapped_guard_page_follows_every_mapping() {
    let mut w = World::new();
    let all = rights(ALL);
    let one = w.derive(DEV, 0, PAGE_SIZE, all).unwrap();
    let two = w.derive(DEV, 0, 2 * PAGE_SIZE, all).unwrap();
    let mut spans = Vec::new();
    for slot in [one, DEV, two] {
        spans.push(w.map(slot, RW).unwrap());
    }
    spans.sort();
    for &(va, len) in &spans {
        assert_eq!(w.lookup(va + len), None, "guard after {va:#x}");
        assert_eq!(w.query(va + len), Err(SysError::NotMapped));
    }
    for pair in spans.windows(2) {
        let ((a, alen), (b, _)) = (pair[0], pair[1]);
        assert!(b > a + alen, "{b:#x} directly follows {a:#x}+{alen:#x}");
    }
}

#[test]
fn unmap_flushes_every_page_and_frees_the_range_for_reuse() {
    let mut w = World::new();
    let (va, len) = w.map(DEV, RW).unwrap();
    w.mem.flushed.clear();
    assert_eq!(w.sys(Sysno::MmioUnmap, &[va]), [0, 0, 0, 0]);
    assert_eq!(w.mem.flushed, pages(va, len));
    assert!(w.device_leaves().is_empty());
    assert_eq!(w.caps().get(DEV).unwrap().mapped_at, None);
    let (again, _) = w.map(DEV, R).unwrap();
    assert_eq!(again, va, "an unmapped range is free again");
    assert_eq!(w.query(again), Ok(MapProt::READ));
}

#[test]
fn revoked_ranges_are_never_reused() {
    let mut w = World::new();
    let all = rights(ALL);
    let mut seen: Vec<(usize, usize)> = Vec::new();
    for _ in 0..8 {
        let child = w.derive(DEV, 0, 2 * PAGE_SIZE, all).unwrap();
        let (va, len) = w.map(child, RW).unwrap();
        for &(old, old_len) in &seen {
            // The old mapping and its guard page stay out of use.
            assert!(
                va >= old + old_len + PAGE_SIZE || va + len <= old,
                "{va:#x} reuses revoked {old:#x}"
            );
        }
        seen.push((va, len));
        assert_eq!(w.revoke(DEV), Ok(1));
        assert_eq!(w.lookup(va), None);
    }
    // Unmapping (unlike revocation) does free the range.
    let (va, _) = w.map(DEV, R).unwrap();
    w.unmap(va).unwrap();
    assert_eq!(w.map(DEV, R).unwrap().0, va);
}

#[test]
fn the_device_region_runs_out_of_virtual_space() {
    let mut w = World::new();
    let all = rights(ALL);
    let (big_va, _) = w.map(DEV, RW).unwrap();
    // Each revoked one-page mapping keeps its page and guard forever.
    let region_pages = DEVICE_REGION_SIZE / PAGE_SIZE;
    let mut cycles = 0;
    let err = loop {
        let child = w.derive(DEV, 0, PAGE_SIZE, all).unwrap();
        match w.map(child, R) {
            Ok(_) => {
                assert_eq!(w.revoke(DEV), Ok(1));
                cycles += 1;
                assert!(cycles <= region_pages, "revoked ranges are being reused");
            }
            Err(e) => break e,
        }
    };
    assert_eq!(err, SysError::NoVirtualSpace);
    assert_eq!(cycles, (region_pages - (LEN / PAGE_SIZE + 1)) / 2);
    let child = w.caps().iter().find(|(_, c)| c.parent.is_some()).unwrap().0;
    assert_eq!(w.caps().get(child).unwrap().mapped_at, None);
    assert_eq!(
        w.sys(Sysno::MmioMap, &[child, R]),
        failed(SysError::NoVirtualSpace)
    );
    assert_eq!(w.device_leaves().len(), LEN / PAGE_SIZE);
    // Unmapping the live mapping frees its pages and its guard: room for
    // exactly two more one-page mappings.
    w.unmap(big_va).unwrap();
    let other = w.derive(DEV, 0, PAGE_SIZE, all).unwrap();
    let third = w.derive(DEV, 0, PAGE_SIZE, all).unwrap();
    assert_eq!(w.map(child, R).unwrap().0, big_va);
    assert_eq!(w.map(other, R).unwrap().0, big_va + 2 * PAGE_SIZE);
    assert_eq!(w.map(third, R), Err(SysError::NoVirtualSpace));
}

#[test]
fn a_window_must_fit_the_region_with_its_guard() {
    let mut w = World::new();
    let whole = Object::DeviceMmio {
        base: 0x4000_0000,
        len: DEVICE_REGION_SIZE,
    };
    w.caps().install(2, Cap::minted(whole, ALL)).unwrap();
    assert_eq!(w.map(2, R), Err(SysError::NoVirtualSpace));
    assert!(w.device_leaves().is_empty());
    let fits = Object::DeviceMmio {
        base: 0x4000_0000,
        len: DEVICE_REGION_SIZE - PAGE_SIZE,
    };
    w.caps().install(3, Cap::minted(fits, ALL)).unwrap();
    assert_eq!(
        w.map(3, R),
        Ok((DEVICE_REGION_BASE, DEVICE_REGION_SIZE - PAGE_SIZE))
    );
    assert_eq!(w.map(DEV, R), Err(SysError::NoVirtualSpace));
}

#[test]
fn destroy_returns_every_frame_and_never_frees_device_pages() {
    let mut w = World::loaded();
    // A "device" window that happens to lie in simulated RAM: freeing it
    // would show up in the frame count.
    let fake_dev = w.mem.alloc_frames(2).unwrap();
    w.mem.write_u64(fake_dev, 0x5a5a);
    let baseline = w.baseline + 2;
    let obj = Object::DeviceMmio {
        base: fake_dev,
        len: 2 * PAGE_SIZE,
    };
    w.caps().install(2, Cap::minted(obj, ALL)).unwrap();
    w.map(2, RW).unwrap();
    w.map(DEV, RW).unwrap();
    let child = w.derive(DEV, 0, PAGE_SIZE, rights(ALL)).unwrap();
    w.map(child, R).unwrap();
    let middle = w.derive(DEV, PAGE_SIZE, PAGE_SIZE, rights(ALL)).unwrap();
    let revoked = w.derive(middle, 0, PAGE_SIZE, rights(ALL)).unwrap();
    w.map(revoked, R).unwrap();
    assert_eq!(w.revoke(middle), Ok(1));
    assert!(w.mem.used() > baseline);
    let user = w.leaves().len();
    assert_eq!(user, 1 + 2 + STACK_SIZE / PAGE_SIZE + 2 + 4 + 1);
    let space = w.task.space.take().unwrap();
    space.destroy(&mut w.mem);
    assert_eq!(w.mem.used(), baseline);
    assert_eq!(w.mem.read_u64(fake_dev), 0x5a5a, "device memory untouched");
}

#[test]
fn destroy_frees_programs_larger_than_one_batch() {
    let mut w = World::new();
    let pages = 150;
    let mut segments = [None; MAX_SEGMENTS];
    segments[0] = Some(Segment {
        vaddr: TEXT_VA,
        memsz: PAGE_SIZE,
        offset: 0,
        filesz: 0,
        prot: MapProt::READ | MapProt::EXEC,
    });
    segments[1] = Some(Segment {
        vaddr: DATA_VA,
        memsz: pages * PAGE_SIZE,
        offset: 0,
        filesz: 0,
        prot: MapProt::RW,
    });
    let program = Program {
        segments,
        entry: TEXT_VA,
    };
    let space = w.task.space.as_mut().unwrap();
    space.load(&mut w.mem, &program, &[]).unwrap();
    w.map(DEV, RW).unwrap();
    assert_eq!(
        w.leaves().len(),
        1 + pages + STACK_SIZE / PAGE_SIZE + LEN / PAGE_SIZE
    );
    let space = w.task.space.take().unwrap();
    space.destroy(&mut w.mem);
    assert_eq!(w.mem.used(), w.baseline);
}

#[test]
fn a_map_that_runs_out_of_memory_undoes_itself() {
    let mut w = World::new();
    // A first mapping that leaves the next one straddling a 2 MiB boundary,
    // where a new last-level table is needed.
    let to_boundary = (2 << 20) - DEVICE_REGION_BASE % (2 << 20);
    let first_len = to_boundary - 3 * PAGE_SIZE;
    let obj = Object::DeviceMmio {
        base: 0x4000_0000,
        len: first_len,
    };
    w.caps().install(2, Cap::minted(obj, ALL)).unwrap();
    assert_eq!(w.map(2, R).unwrap().0, DEVICE_REGION_BASE);
    let mut hoard = Vec::new();
    while let Some(f) = w.mem.alloc_frame() {
        hoard.push(f);
    }
    w.mem.flushed.clear();
    assert_eq!(w.map(DEV, RW), Err(SysError::OutOfMemory));
    let straddling = DEVICE_REGION_BASE + first_len + PAGE_SIZE;
    assert_eq!(w.mem.flushed, pages(straddling, 2 * PAGE_SIZE));
    assert_eq!(w.device_leaves().len(), first_len / PAGE_SIZE);
    assert_eq!(w.caps().get(DEV).unwrap().mapped_at, None);
    assert_eq!(w.unmap(straddling), Err(SysError::NotMapped));
    // With memory back, the same addresses are handed out again.
    w.mem.free_frames(hoard.pop().unwrap(), 1);
    assert_eq!(w.map(DEV, RW), Ok((straddling, LEN)));
    assert_eq!(w.device_leaves().len(), (first_len + LEN) / PAGE_SIZE);
}

#[test]
fn vm_query_reports_only_what_the_task_may_do() {
    let mut w = World::loaded();
    let ro = w.derive(DEV, 0, PAGE_SIZE, rights(ALL)).unwrap();
    let (dev_va, len) = w.map(DEV, RW).unwrap();
    let (ro_va, _) = w.map(ro, R).unwrap();
    // The kernel's pages are in the table but not the task's.
    let k = w.lookup(KERNEL_VA).unwrap();
    assert_eq!(k.user_prot(), MapProt::empty());
    for va in [
        KERNEL_VA,
        0,
        USER_BASE - PAGE_SIZE,
        usize::MAX,
        DEVICE_REGION_BASE + DEVICE_REGION_SIZE - PAGE_SIZE,
        dev_va + len,
        STACK_TOP - STACK_SIZE - PAGE_SIZE,
        DATA_VA + DATA_LEN,
    ] {
        assert_eq!(w.query(va), Err(SysError::NotMapped), "{va:#x}");
        assert_eq!(w.sys(Sysno::VmQuery, &[va]), failed(SysError::NotMapped));
    }
    for va in pages(dev_va, len) {
        assert_eq!(w.query(va + 0x123), Ok(MapProt::RW));
    }
    assert_eq!(w.sys(Sysno::VmQuery, &[dev_va]), [0, RW, 0, 0]);
    assert_eq!(w.sys(Sysno::VmQuery, &[ro_va]), [0, R, 0, 0]);
    assert_eq!(w.sys(Sysno::VmQuery, &[TEXT_VA]), [0, R | X, 0, 0]);
    assert_eq!(w.sys(Sysno::VmQuery, &[DATA_VA + 8]), [0, RW, 0, 0]);
    assert_eq!(w.sys(Sysno::VmQuery, &[STACK_TOP - 8]), [0, RW, 0, 0]);
}

#[test]
fn debug_write_refuses_what_the_task_cannot_read() {
    let mut w = World::loaded();
    let (dev_va, _) = w.map(DEV, RW).unwrap();
    let bad = [
        (KERNEL_VA, 16),
        (0, 1),
        (usize::MAX - 15, 64),
        (usize::MAX, 1),
        (USER_BASE - 8, 16),
        (dev_va, 8),
        (dev_va - 8, 16),
        (DEVICE_REGION_BASE + 0x8_0000, 8),
        (DATA_VA + DATA_LEN - 8, 16),
        (STACK_TOP - STACK_SIZE - 16, 32),
        (STACK_TOP - 8, 16),
    ];
    for (ptr, len) in bad {
        let (regs, out) = w.call(Sysno::DebugWrite as usize, [ptr, len, 0, 0, 0, 0]);
        assert_eq!(regs, failed(SysError::BadAddress), "{ptr:#x}+{len}");
        assert!(out.is_empty(), "nothing is written on refusal");
    }
    let (regs, out) = w.call(
        Sysno::DebugWrite as usize,
        [DATA_VA, DEBUG_WRITE_MAX + 1, 0, 0, 0, 0],
    );
    assert_eq!(regs, failed(SysError::InvalidArgument));
    assert!(out.is_empty());
}

#[test]
fn debug_write_copies_a_user_buffer_exactly() {
    let mut w = World::loaded();
    // Straddles the boundary between the two data pages.
    let start = PAGE_SIZE - 300;
    let len = 1000;
    let (regs, out) = w.call(
        Sysno::DebugWrite as usize,
        [DATA_VA + start, len, 0, 0, 0, 0],
    );
    assert_eq!(regs, [0, len, 0, 0]);
    let expect: Vec<u8> = (start..start + len).map(data_byte).collect();
    assert_eq!(out, expect);
    // The largest write, ending at the last byte of the segment.
    let (regs, out) = w.call(
        Sysno::DebugWrite as usize,
        [
            DATA_VA + DATA_LEN - DEBUG_WRITE_MAX,
            DEBUG_WRITE_MAX,
            0,
            0,
            0,
            0,
        ],
    );
    assert_eq!(regs, [0, DEBUG_WRITE_MAX, 0, 0]);
    let expect: Vec<u8> = (DATA_LEN - DEBUG_WRITE_MAX..DATA_LEN)
        .map(data_byte)
        .collect();
    assert_eq!(out, expect);
    // Read-only text is readable too.
    let (regs, out) = w.call(Sysno::DebugWrite as usize, [TEXT_VA, 4, 0, 0, 0, 0]);
    assert_eq!(regs, [0, 4, 0, 0]);
    assert_eq!(out, [0x13, 0, 0, 0]);
}

#[test]
fn the_register_abi_of_the_mapping_calls() {
    let mut w = World::new();
    assert_eq!(
        w.call(Sysno::ALL.len(), [0; 6]).0,
        failed(SysError::BadSyscall)
    );
    assert_eq!(w.call(usize::MAX, [0; 6]).0, failed(SysError::BadSyscall));
    let all = rights(ALL);
    assert_eq!(
        w.sys(Sysno::CapInfo, &[DEV]),
        [0, CapKind::DeviceMmio as usize, LEN, all]
    );
    let [status, child, ..] = w.sys(Sysno::CapDerive, &[DEV, PAGE_SIZE, PAGE_SIZE, R | 4]);
    assert_eq!(status, 0);
    assert_eq!(w.caps().get(child).unwrap().parent, Some(DEV));
    let [status, va, len, a3] = w.sys(Sysno::MmioMap, &[child, R]);
    assert_eq!((status, len, a3), (0, PAGE_SIZE, 0));
    assert_eq!(w.lookup(va).unwrap().phys(), BASE + PAGE_SIZE);
    assert_eq!(w.sys(Sysno::VmQuery, &[va]), [0, R, 0, 0]);
    assert_eq!(w.sys(Sysno::CapRevoke, &[DEV]), [0, 1, 0, 0]);
    assert_eq!(w.sys(Sysno::VmQuery, &[va]), failed(SysError::NotMapped));
    assert_eq!(w.sys(Sysno::MmioUnmap, &[va]), failed(SysError::NotMapped));
    assert_eq!(w.sys(Sysno::CapInfo, &[child]), failed(SysError::EmptySlot));
    let [status, va, len, _] = w.sys(Sysno::MmioMap, &[DEV, RW]);
    assert_eq!((status, len), (0, LEN));
    assert_eq!(w.sys(Sysno::MmioUnmap, &[va]), [0, 0, 0, 0]);
    assert!(w.device_leaves().is_empty());
}

/// The system-call boundary under random input: any sequence of calls with
/// any arguments is answered with success or a documented code, never a
/// panic, and leaves the address space sound.
mod fuzz {
    use super::*;

    /// The interrupt source bound in the fuzzed task's irq table.
    const IRQ_LINE: u32 = 8;
    use nexus_abi::layout::{DMA_REGION_BASE, DMA_REGION_SIZE};
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Arguments that hit the interesting edges as well as random values.
    fn arg() -> impl Strategy<Value = usize> {
        prop_oneof![
            4 => 0usize..40,
            1 => Just(usize::MAX),
            1 => Just(KERNEL_VA),
            1 => Just(LEN),
            2 => (0usize..16).prop_map(|p| DEVICE_REGION_BASE + p * PAGE_SIZE),
            2 => (0usize..16).prop_map(|p| DMA_REGION_BASE + p * PAGE_SIZE),
            2 => (0usize..8).prop_map(|k| DATA_VA + k * 0x400),
            2 => any::<usize>(),
        ]
    }

    /// Every system call but `exit` (which ends the task), plus unknown
    /// numbers.
    fn call() -> impl Strategy<Value = (usize, [usize; 6], bool)> {
        let nr = prop_oneof![
            9 => (0usize..Sysno::ALL.len()).prop_filter("exit ends the task", |&n| n != Sysno::Exit as usize),
            1 => any::<usize>().prop_filter("exit ends the task", |&n| n != Sysno::Exit as usize),
        ];
        (
            nr,
            [arg(), arg(), arg(), arg(), arg(), arg()],
            any::<bool>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_call_sequence_is_answered_and_leaves_the_space_sound(
            calls in vec(call(), 1..40)
        ) {
            let mut w = World::loaded();
            w.task.dma_quota = 16;
            // An interrupt line bound to bit 2, and control of task 5.
            let index = w.irqs.bind(IRQ_LINE, 0, 2).unwrap();
            w.task.caps.install(5, Cap::minted(Object::Irq { index }, ALL)).unwrap();
            w.task.caps.install(6, Cap::minted(Object::TaskControl { task: 5 }, ALL)).unwrap();
            // A dma channel to task 3 (signalled on its bit 7), whose
            // frames belong to the channel, not the task.
            let chan_pages = 3;
            let chan_base = w.mem.alloc_frames(chan_pages).unwrap();
            let index = w.channels.create(chan_base, chan_pages, true, [(0, 1), (3, 7)]).unwrap();
            let chan = Object::Channel { index: index as u16, side: 0, base: chan_base, pages: chan_pages as u32, dma: true };
            w.task.caps.install(7, Cap::minted(chan, ALL)).unwrap();
            let chan_frames = chan_base..chan_base + chan_pages * PAGE_SIZE;
            // The peer's life: live, ended, or restarted and waiting for
            // this task's `channel_reset`.
            #[derive(Clone, Copy, Debug, PartialEq)]
            enum Peer { Live, Ended, Waiting }
            let mut peer = Peer::Live;
            let dma = DMA_REGION_BASE..DMA_REGION_BASE + DMA_REGION_SIZE;
            let device = DEVICE_REGION_BASE..DEVICE_REGION_BASE + DEVICE_REGION_SIZE;
            for (now, (nr, args, fire)) in (1u64..).zip(calls) {
                if fire && let Claimed::Signal { owner, bits } = w.irqs.claimed(IRQ_LINE) {
                    prop_assert_eq!((owner, bits), (0, 1 << 2));
                    prop_assert_eq!(w.task.notify.signal(bits), None, "the task runs");
                }
                let mut out = Vec::new();
                if fire && peer == Peer::Live && now % 7 == 0 {
                    // The peer ends now and then: signals get PeerEnded.
                    w.channels.end_task(3, |_, _| {}, |_, _| {});
                    peer = Peer::Ended;
                } else if fire && peer == Peer::Ended && now % 3 == 0 {
                    // ... and is restarted, having left bytes in the
                    // channel: this task is told (its bit 1), and only its
                    // `channel_reset` gives the peer its end back.
                    let mut told = 0;
                    w.channels.restart_task(3, |t, bits| {
                        told += 1;
                        assert_eq!((t, bits), (0, 1 << 1));
                    });
                    prop_assert_eq!(told, 1);
                    w.mem.write_bytes(chan_base + PAGE_SIZE, &[0xa5; 64]);
                    peer = Peer::Waiting;
                }
                let mut env = Env {
                    me: 0,
                    now,
                    irqs: &mut w.irqs,
                    devices: &DeviceTable::new(),
                    pci: &Functions::new(),
                    channels: &mut w.channels,
                };
                let action = dispatch(
                    &mut w.task,
                    &mut w.mem,
                    &mut |b: &[u8]| out.extend_from_slice(b),
                    &mut env,
                    nr,
                    args,
                );
                match action {
                    Action::Resume | Action::Yield => {}
                    Action::Unmask(line) => prop_assert_eq!(line, IRQ_LINE),
                    Action::IdleStats => {
                        // The kernel answers from its idle counts.
                        prop_assert_eq!(nr, Sysno::IdleStats as usize);
                        w.task.frame.regs[reg::A0] = 0;
                    }
                    Action::Kill(task) => {
                        prop_assert_eq!(task, 5);
                        w.task.frame.regs[reg::A0] = 0;
                    }
                    Action::Block => {
                        prop_assert_eq!(w.task.state, State::Blocked);
                        // Wake it as the scheduler would: by its deadline,
                        // or by raising every bit.
                        if w.task.notify.expire(u64::MAX - 1) {
                            w.task.time_out();
                        } else {
                            let bits = w.task.notify.signal(u64::MAX);
                            prop_assert!(bits.is_some());
                            w.task.wake(bits.unwrap_or(0), 0);
                        }
                    }
                    Action::Restart(task) => {
                        prop_assert_eq!(task, 5);
                        w.task.frame.regs[reg::A0] = 0;
                    }
                    Action::Signal { task, bits } if nr == Sysno::ChannelReset as usize => {
                        prop_assert_eq!(peer, Peer::Waiting, "reset of a peer that was not restarted");
                        prop_assert_eq!((task, bits), (3, 1 << 7));
                        let mut left = [0u8; 64];
                        w.mem.read_bytes(chan_base + PAGE_SIZE, &mut left);
                        prop_assert_eq!(left, [0u8; 64], "the reset zeroes the channel");
                        peer = Peer::Live;
                    }
                    Action::Signal { task, bits } => {
                        prop_assert_eq!(peer, Peer::Live, "a dead or waiting peer signalled");
                        prop_assert_eq!((task, bits), (3, 1 << 7));
                    }
                    Action::Transfer { peer: to, bits, cap, from } => {
                        prop_assert_eq!(peer, Peer::Live, "a copy for a dead or waiting peer");
                        prop_assert_eq!((to, bits), (3, 1 << 7));
                        prop_assert!(cap.rights.bits() <= w.task.caps.get(from).map(|c| c.rights.bits()).unwrap_or(0));
                        // As the scheduler would answer: the peer's slot.
                        w.task.frame.regs[reg::A0] = 0;
                    }
                    Action::Revoked(slots) => prop_assert!(slots != 0),
                    Action::Exit(_) => prop_assert!(false, "exit is never generated"),
                }
                prop_assert_eq!(w.task.state, State::Runnable);
                let a0 = w.task.frame.regs[reg::A0];
                prop_assert!(
                    a0 == 0 || SysError::from_code(a0).is_some(),
                    "call {nr} returned the undocumented status {a0}"
                );
                prop_assert!(out.len() <= DEBUG_WRITE_MAX);
                for (va, pte) in w.leaves() {
                    let f = pte.flags();
                    prop_assert!(f.contains(PteFlags::U | PteFlags::V | PteFlags::R));
                    prop_assert!(!(f.contains(PteFlags::W) && f.contains(PteFlags::X)));
                    if device.contains(&va) {
                        prop_assert!(!f.contains(PteFlags::X), "executable device page");
                        let inside = pte.phys() >= BASE && pte.phys() < BASE + LEN;
                        let shared = chan_frames.contains(&pte.phys());
                        prop_assert!(inside || shared, "device page outside the granted window and the channel");
                    }
                    if dma.contains(&va) {
                        prop_assert!(!f.contains(PteFlags::X), "executable DMA page");
                    }
                }
            }
            let space = w.task.space.take().unwrap();
            space.destroy(&mut w.mem);
            // The channel's frames stay with the channel until both ends end.
            prop_assert_eq!(w.mem.used(), w.baseline + chan_pages, "frames leaked or double-freed");
            let mut freed = 0;
            w.channels.end_task(0, |_, _| {}, |base, pages| {
                w.mem.free_frames(base, pages);
                freed += 1;
            });
            if peer == Peer::Live {
                w.channels.end_task(3, |_, _| {}, |base, pages| {
                    w.mem.free_frames(base, pages);
                    freed += 1;
                });
            }
            prop_assert_eq!(freed, 1);
            prop_assert_eq!(w.mem.used(), w.baseline, "channel frames leaked or double-freed");
        }
    }
}
