//! A model check of capabilities and device mappings: random sequences of
//! `cap_derive`, `mmio_map`, `mmio_unmap` and `cap_revoke`, run on the real
//! address space, capability table and page tables and on a plain reference
//! model, compared after every step.

extern crate std;
use std::vec::Vec;

use nexus_abi::layout::{DEVICE_REGION_BASE, DEVICE_REGION_SIZE, PAGE_SIZE};
use nexus_abi::{CapRights, MapProt, SysError};
use proptest::prelude::*;

use crate::cap::{CAP_SLOTS, Cap, CapTable, Object, SELF_SLOT};
use crate::mem::fake::FakeMemory;
use crate::pagetable::PageTable;
use crate::pte::PteFlags;
use crate::space::AddressSpace;

const DEVICE_PAGES: usize = DEVICE_REGION_SIZE / PAGE_SIZE;

/// The two kernel-minted capabilities every run starts with.
const MINTED: [(usize, usize, usize, CapRights); 2] = [
    (1, 0x1000_8000, 0x4000, CapRights::all()),
    (
        2,
        0x1004_0000,
        0x2000,
        CapRights::READ
            .union(CapRights::MAP)
            .union(CapRights::DERIVE),
    ),
];

/// A capability as the model sees it.
#[derive(Clone, Copy, Debug)]
struct MCap {
    base: usize,
    len: usize,
    rights: CapRights,
    parent: Option<usize>,
    /// Address and protection of its mapping, if mapped.
    mapped: Option<(usize, MapProt)>,
}

impl MCap {
    fn pages(&self) -> usize {
        self.len / PAGE_SIZE
    }
}

enum Slot<'a> {
    Task,
    Dev(&'a MCap),
}

/// The reference model: capabilities by slot (slot 0 is the task itself)
/// and which device-region pages are taken.
struct Model {
    caps: [Option<MCap>; CAP_SLOTS],
    /// Device-region pages in use: mappings, their guard pages, and every
    /// page ever mapped by a capability that was revoked.
    taken: Vec<bool>,
    /// Ranges whose capability was revoked while mapped.
    revoked: Vec<(usize, usize)>,
}

impl Model {
    fn new() -> Model {
        let mut caps = [None; CAP_SLOTS];
        for (slot, base, len, rights) in MINTED {
            caps[slot] = Some(MCap {
                base,
                len,
                rights,
                parent: None,
                mapped: None,
            });
        }
        Model {
            caps,
            taken: std::vec![false; DEVICE_PAGES],
            revoked: Vec::new(),
        }
    }

    fn slot(&self, slot: usize) -> Result<Slot<'_>, SysError> {
        if slot >= CAP_SLOTS {
            return Err(SysError::BadSlot);
        }
        if slot == SELF_SLOT {
            return Ok(Slot::Task);
        }
        self.caps[slot]
            .as_ref()
            .map(Slot::Dev)
            .ok_or(SysError::EmptySlot)
    }

    fn free_slot(&self) -> Option<usize> {
        (1..CAP_SLOTS).find(|&i| self.caps[i].is_none())
    }

    fn has_run(&self, n: usize) -> bool {
        self.taken.windows(n).any(|w| w.iter().all(|t| !t))
    }

    fn page_index(va: usize) -> usize {
        (va - DEVICE_REGION_BASE) / PAGE_SIZE
    }

    fn set_taken(&mut self, va: usize, pages: usize, on: bool) {
        let first = Model::page_index(va);
        for t in &mut self.taken[first..first + pages] {
            *t = on;
        }
    }

    fn mapped_slot(&self, va: usize) -> Option<usize> {
        (0..CAP_SLOTS).find(|&i| self.caps[i].is_some_and(|c| c.mapped.is_some_and(|m| m.0 == va)))
    }

    fn descendants(&self, slot: usize) -> Vec<usize> {
        let mut set: Vec<usize> = Vec::new();
        loop {
            let before = set.len();
            for (i, c) in self.caps.iter().enumerate() {
                if let Some(MCap {
                    parent: Some(p), ..
                }) = c
                    && (*p == slot || set.contains(p))
                    && !set.contains(&i)
                {
                    set.push(i);
                }
            }
            if set.len() == before {
                return set;
            }
        }
    }

    /// Every page mapped in the model: (va, phys, prot).
    fn mapped_pages(&self) -> Vec<(usize, usize, MapProt)> {
        let mut out = Vec::new();
        for c in self.caps.iter().flatten() {
            if let Some((va, prot)) = c.mapped {
                for i in 0..c.pages() {
                    out.push((va + i * PAGE_SIZE, c.base + i * PAGE_SIZE, prot));
                }
            }
        }
        out.sort_by_key(|p| p.0);
        out
    }
}

/// A slot as generated: a live device capability (the `n`-th, cyclically)
/// or any index at all.
#[derive(Clone, Copy, Debug)]
enum SlotSel {
    Live(usize),
    /// The `n`-th live capability that has children (else as `Live`).
    Parent(usize),
    /// The `n`-th live capability that is not mapped (else as `Live`).
    Unmapped(usize),
    Raw(usize),
}

/// A derived window as generated: pages inside the parent's window, or raw
/// values (mostly invalid ones).
#[derive(Clone, Copy, Debug)]
enum WindowSel {
    Inside(usize, usize),
    Raw(usize, usize),
}

/// Rights as generated: a subset of the parent's, or raw bits.
#[derive(Clone, Copy, Debug)]
enum RightsSel {
    Subset(usize),
    Raw(usize),
}

/// Where an unmap is aimed.
#[derive(Clone, Copy, Debug)]
enum AddrSel {
    /// The mapping of this slot if it has one, else a page of the region.
    OfSlot(SlotSel),
    Raw(usize),
}

/// One generated operation.
#[derive(Clone, Copy, Debug)]
enum Op {
    Derive(SlotSel, WindowSel, RightsSel),
    Map(SlotSel, usize),
    Unmap(AddrSel),
    Revoke(SlotSel),
}

/// One operation as called, with every argument resolved.
#[derive(Clone, Copy, Debug)]
enum Call {
    Derive {
        slot: usize,
        offset: usize,
        len: usize,
        rights: usize,
    },
    Map {
        slot: usize,
        prot: usize,
    },
    Unmap {
        va: usize,
    },
    Revoke {
        slot: usize,
    },
}

impl Model {
    fn resolve_slot(&self, s: SlotSel) -> usize {
        match s {
            SlotSel::Raw(slot) => slot,
            SlotSel::Parent(n) => {
                let parents: Vec<usize> = (0..CAP_SLOTS)
                    .filter(|&i| self.caps.iter().flatten().any(|c| c.parent == Some(i)))
                    .collect();
                if parents.is_empty() {
                    self.resolve_slot(SlotSel::Live(n))
                } else {
                    parents[n % parents.len()]
                }
            }
            SlotSel::Unmapped(n) => {
                let unmapped: Vec<usize> = (0..CAP_SLOTS)
                    .filter(|&i| self.caps[i].is_some_and(|c| c.mapped.is_none()))
                    .collect();
                if unmapped.is_empty() {
                    self.resolve_slot(SlotSel::Live(n))
                } else {
                    unmapped[n % unmapped.len()]
                }
            }
            SlotSel::Live(n) => {
                let live: Vec<usize> = (0..CAP_SLOTS).filter(|&i| self.caps[i].is_some()).collect();
                live[n % live.len()]
            }
        }
    }

    fn resolve(&self, op: Op) -> Call {
        match op {
            Op::Derive(s, window, rights) => {
                let slot = self.resolve_slot(s);
                let parent = self.caps.get(slot).copied().flatten();
                let (offset, len) = match (window, parent) {
                    (WindowSel::Inside(a, b), Some(p)) => {
                        let first = a % p.pages();
                        let n = 1 + b % (p.pages() - first);
                        (first * PAGE_SIZE, n * PAGE_SIZE)
                    }
                    (WindowSel::Inside(a, b), None) => ((a % 4) * PAGE_SIZE, (b % 4) * PAGE_SIZE),
                    (WindowSel::Raw(offset, len), _) => (offset, len),
                };
                let rights = match (rights, parent) {
                    (RightsSel::Subset(mask), Some(p)) => p.rights.bits() & mask,
                    (RightsSel::Subset(mask), None) | (RightsSel::Raw(mask), _) => mask,
                };
                Call::Derive {
                    slot,
                    offset,
                    len,
                    rights,
                }
            }
            Op::Map(s, prot) => Call::Map {
                slot: self.resolve_slot(s),
                prot,
            },
            Op::Unmap(AddrSel::Raw(va)) => Call::Unmap { va },
            Op::Unmap(AddrSel::OfSlot(s)) => {
                let slot = self.resolve_slot(s);
                let va = match self.caps.get(slot).copied().flatten() {
                    Some(MCap {
                        mapped: Some((va, _)),
                        ..
                    }) => va,
                    _ => DEVICE_REGION_BASE + (slot % 64) * PAGE_SIZE,
                };
                Call::Unmap { va }
            }
            Op::Revoke(s) => Call::Revoke {
                slot: self.resolve_slot(s),
            },
        }
    }
}

fn slot() -> impl Strategy<Value = SlotSel> {
    prop_oneof![
        12 => any::<usize>().prop_map(SlotSel::Live),
        2 => (0..CAP_SLOTS).prop_map(SlotSel::Raw),
        1 => Just(SlotSel::Raw(SELF_SLOT)),
        1 => Just(SlotSel::Raw(CAP_SLOTS)),
        1 => any::<usize>().prop_map(SlotSel::Raw),
    ]
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => (0..6usize).prop_map(|p| p * PAGE_SIZE),
        1 => Just(0x800),
        1 => Just(0x10),
        1 => Just(usize::MAX & !(PAGE_SIZE - 1)),
        1 => any::<usize>(),
    ]
}

fn window() -> impl Strategy<Value = WindowSel> {
    prop_oneof![
        4 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| WindowSel::Inside(a, b)),
        1 => (size(), size()).prop_map(|(o, l)| WindowSel::Raw(o, l)),
    ]
}

fn rights() -> impl Strategy<Value = RightsSel> {
    prop_oneof![
        4 => Just(RightsSel::Subset(usize::MAX)),
        4 => any::<usize>().prop_map(RightsSel::Subset),
        2 => (0..32usize).prop_map(RightsSel::Raw),
        1 => Just(RightsSel::Raw(CapRights::all().bits())),
        1 => (32..64usize).prop_map(RightsSel::Raw),
    ]
}

fn prot() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => Just(MapProt::READ.bits()),
        4 => Just(MapProt::RW.bits()),
        3 => 0..8usize,
        1 => 0..32usize,
        1 => any::<usize>(),
    ]
}

fn addr() -> impl Strategy<Value = AddrSel> {
    prop_oneof![
        5 => slot().prop_map(AddrSel::OfSlot),
        2 => (0..40usize, prop::sample::select(&[0usize, 8, 0x800][..]))
            .prop_map(|(p, o)| AddrSel::Raw(DEVICE_REGION_BASE + p * PAGE_SIZE + o)),
        1 => any::<usize>().prop_map(AddrSel::Raw),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (slot(), window(), rights()).prop_map(|(s, w, r)| Op::Derive(s, w, r)),
        2 => (slot(), prot()).prop_map(|(s, p)| Op::Map(s, p)),
        2 => (any::<usize>(), prot()).prop_map(|(n, p)| Op::Map(SlotSel::Unmapped(n), p)),
        2 => addr().prop_map(Op::Unmap),
        2 => prop_oneof![
            3 => any::<usize>().prop_map(|n| Op::Revoke(SlotSel::Parent(n))),
            1 => slot().prop_map(Op::Revoke),
        ],
    ]
}

/// The real system under test.
struct Real {
    mem: FakeMemory,
    baseline: usize,
    space: AddressSpace,
    caps: CapTable,
}

impl Real {
    fn new() -> Real {
        let mut mem = FakeMemory::new(64);
        let kernel = PageTable::new(&mut mem).unwrap();
        let baseline = mem.used();
        let space = AddressSpace::new(&mut mem, &kernel).unwrap();
        let mut caps = CapTable::new();
        for (slot, base, len, rights) in MINTED {
            let cap = Cap::minted(Object::DeviceMmio { base, len }, rights);
            caps.install(slot, cap).unwrap();
        }
        Real {
            mem,
            baseline,
            space,
            caps,
        }
    }
}

/// `real` must fail with one of `allowed` if there is any, else succeed.
fn check_outcome<T: core::fmt::Debug>(
    op: &Call,
    real: &Result<T, SysError>,
    allowed: &[SysError],
) -> Result<(), TestCaseError> {
    match real {
        Ok(v) => prop_assert!(
            allowed.is_empty(),
            "{op:?} succeeded with {v:?}; the model expects one of {allowed:?}"
        ),
        Err(e) => prop_assert!(
            allowed.contains(e),
            "{op:?} failed with {e:?}; the model expects {allowed:?}"
        ),
    }
    Ok(())
}

fn step(real: &mut Real, model: &mut Model, op: Op) -> Result<(), TestCaseError> {
    let flushed_before = real.mem.flushed.len();
    let call = model.resolve(op);
    match call {
        Call::Derive {
            slot,
            offset,
            len,
            rights,
        } => {
            let mut allowed = Vec::new();
            let mut new = None;
            match model.slot(slot) {
                Err(e) => allowed.push(e),
                Ok(Slot::Task) => allowed.push(SysError::WrongKind),
                Ok(Slot::Dev(p)) => {
                    if !p.rights.contains(CapRights::DERIVE) {
                        allowed.push(SysError::RightsExceeded);
                    }
                    match CapRights::from_bits(rights) {
                        None => allowed.push(SysError::InvalidArgument),
                        Some(r) if !p.rights.contains(r) => allowed.push(SysError::RightsExceeded),
                        Some(_) => {}
                    }
                    if len == 0 {
                        allowed.push(SysError::InvalidArgument);
                    }
                    if offset % PAGE_SIZE != 0 || len % PAGE_SIZE != 0 {
                        allowed.push(SysError::Unaligned);
                    }
                    match offset.checked_add(len) {
                        None => allowed.push(SysError::Overflow),
                        Some(end) if end > p.len => allowed.push(SysError::OutOfWindow),
                        Some(_) => {}
                    }
                    if model.free_slot().is_none() {
                        allowed.push(SysError::NoSlot);
                    }
                    new = Some(MCap {
                        base: p.base.wrapping_add(offset),
                        len,
                        rights: CapRights::from_bits_truncate(rights),
                        parent: Some(slot),
                        mapped: None,
                    });
                }
            }
            let got = real.caps.derive(slot, offset, len, rights);
            check_outcome(&call, &got, &allowed)?;
            if let (Ok(s), Some(new)) = (got, new) {
                prop_assert!(
                    s != SELF_SLOT && s < CAP_SLOTS && model.caps[s].is_none(),
                    "derive returned occupied slot {s}"
                );
                model.caps[s] = Some(new);
            }
        }
        Call::Map { slot, prot } => {
            let mut allowed = Vec::new();
            let mut cap = None;
            match model.slot(slot) {
                Err(e) => allowed.push(e),
                Ok(Slot::Task) => allowed.push(SysError::WrongKind),
                Ok(Slot::Dev(c)) => {
                    let known = prot & MapProt::all().bits();
                    let (r, w) = (prot & 1 != 0, prot & 2 != 0);
                    if prot != known || known == 0 {
                        allowed.push(SysError::InvalidArgument);
                    }
                    if prot & MapProt::EXEC.bits() != 0 {
                        allowed.push(SysError::ExecNotAllowed);
                    }
                    if w && !r {
                        allowed.push(SysError::WriteOnly);
                    }
                    let mut need = CapRights::MAP | CapRights::READ;
                    need.set(CapRights::WRITE, w);
                    if !c.rights.contains(need) {
                        allowed.push(SysError::RightsExceeded);
                    }
                    if c.mapped.is_some() {
                        allowed.push(SysError::AlreadyMapped);
                    }
                    if !model.has_run(c.pages() + 1) {
                        allowed.push(SysError::NoVirtualSpace);
                    }
                    cap = Some(*c);
                }
            }
            let got = real
                .space
                .mmio_map(&mut real.caps, &mut real.mem, slot, prot);
            check_outcome(&call, &got, &allowed)?;
            if let (Ok((va, len)), Some(c)) = (got, cap) {
                prop_assert_eq!(len, c.len);
                let end = DEVICE_REGION_BASE + DEVICE_REGION_SIZE;
                prop_assert!(va % PAGE_SIZE == 0 && va >= DEVICE_REGION_BASE);
                prop_assert!(va + len + PAGE_SIZE <= end, "no room for the guard");
                let first = Model::page_index(va);
                prop_assert!(
                    model.taken[first..first + c.pages() + 1].iter().all(|t| !t),
                    "{va:#x} overlaps a taken range, its guard or a revoked range"
                );
                model.set_taken(va, c.pages() + 1, true);
                let p = MapProt::from_bits_truncate(prot);
                model.caps[slot].as_mut().unwrap().mapped = Some((va, p));
            }
        }
        Call::Unmap { va } => {
            let owner = model.mapped_slot(va);
            let got = real.space.mmio_unmap(&mut real.caps, &mut real.mem, va);
            let allowed: &[SysError] = if owner.is_some() {
                &[]
            } else {
                &[SysError::NotMapped]
            };
            check_outcome(&call, &got, allowed)?;
            let mut expect_flushed = Vec::new();
            if let Some(s) = owner {
                let c = model.caps[s].as_mut().unwrap();
                c.mapped = None;
                let pages = c.pages();
                expect_flushed.extend((0..pages).map(|i| va + i * PAGE_SIZE));
                model.set_taken(va, pages + 1, false);
            }
            prop_assert_eq!(&real.mem.flushed[flushed_before..], &expect_flushed[..]);
        }
        Call::Revoke { slot } => {
            let expected = match model.slot(slot) {
                Err(e) => Err(e),
                Ok(Slot::Task) => Ok(Vec::new()),
                Ok(Slot::Dev(_)) => Ok(model.descendants(slot)),
            };
            let got = real.space.revoke(&mut real.caps, &mut real.mem, slot);
            match expected {
                Err(e) => prop_assert_eq!(got, Err(e)),
                Ok(doomed) => {
                    prop_assert_eq!(got, Ok(doomed.len()));
                    let mut expect_flushed = Vec::new();
                    for s in doomed {
                        let c = model.caps[s].take().unwrap();
                        if let Some((va, _)) = c.mapped {
                            expect_flushed.extend((0..c.pages()).map(|i| va + i * PAGE_SIZE));
                            model.revoked.push((va, c.len));
                        }
                    }
                    let mut flushed = real.mem.flushed[flushed_before..].to_vec();
                    flushed.sort();
                    expect_flushed.sort();
                    prop_assert_eq!(flushed, expect_flushed);
                }
            }
        }
    }
    Ok(())
}

/// Compares the real state with the model and checks the invariants.
fn check(real: &mut Real, model: &Model) -> Result<(), TestCaseError> {
    // The capability tables agree slot by slot.
    for s in 0..CAP_SLOTS {
        let got = real.caps.get(s).ok().copied();
        let want = match model.slot(s) {
            Ok(Slot::Task) => Some(Cap::minted(Object::Task, CapRights::empty())),
            Ok(Slot::Dev(c)) => Some(Cap {
                origin: None,
                object: Object::DeviceMmio {
                    base: c.base,
                    len: c.len,
                },
                rights: c.rights,
                parent: c.parent,
                mapped_at: c.mapped.map(|m| m.0),
            }),
            Err(_) => None,
        };
        prop_assert_eq!(got, want, "slot {}", s);
    }
    // A derived capability never holds more than its parent: rights or window.
    for (_, cap) in real.caps.iter() {
        let Some(p) = cap.parent else { continue };
        let parent = real.caps.get(p);
        prop_assert!(parent.is_ok(), "parent {} of a live capability is gone", p);
        let parent = parent.unwrap();
        prop_assert!(parent.rights.contains(cap.rights));
        match (parent.object, cap.object) {
            (Object::DeviceMmio { base: pb, len: pl }, Object::DeviceMmio { base, len }) => {
                prop_assert!(pb <= base && base + len <= pb + pl)
            }
            other => prop_assert!(false, "bad parent/child kinds {:?}", other),
        }
    }
    // The page table holds exactly the model's mappings, none executable.
    let mut leaves = Vec::new();
    let pt = *real.space.page_table();
    pt.for_each_user_leaf(&mut real.mem, |va, pte| leaves.push((va, pte)));
    for &(va, pte) in &leaves {
        let f = pte.flags();
        prop_assert!(
            !f.contains(PteFlags::X),
            "executable user leaf at {:#x}",
            va
        );
        prop_assert!(
            f.contains(PteFlags::V | PteFlags::U | PteFlags::R | PteFlags::A | PteFlags::D)
        );
        for &(rva, rlen) in &model.revoked {
            prop_assert!(
                !(rva..rva + rlen).contains(&va),
                "{:#x} is still mapped after its capability was revoked",
                va
            );
        }
        // Inside the window of a live, mapped capability.
        let inside = real
            .caps
            .iter()
            .any(|(_, c)| match (c.object, c.mapped_at) {
                (Object::DeviceMmio { base, len }, Some(at)) => {
                    (at..at + len).contains(&va) && pte.phys() == base + (va - at)
                }
                _ => false,
            });
        prop_assert!(
            inside,
            "leaf {:#x} -> {:#x} is outside every mapped window",
            va,
            pte.phys()
        );
    }
    let want = model.mapped_pages();
    prop_assert_eq!(leaves.len(), want.len(), "leaf count");
    for (&(va, pte), &(wva, phys, prot)) in leaves.iter().zip(&want) {
        prop_assert_eq!((va, pte.phys()), (wva, phys));
        prop_assert_eq!(
            pte.flags().contains(PteFlags::W),
            prot.contains(MapProt::WRITE)
        );
        prop_assert_eq!(real.space.query(&mut real.mem, va), Ok(prot));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn capabilities_and_mappings_follow_the_model(ops in prop::collection::vec(op(), 1..=40)) {
        let mut real = Real::new();
        let mut model = Model::new();
        check(&mut real, &model)?;
        for op in ops {
            step(&mut real, &mut model, op)?;
            check(&mut real, &model)?;
        }
        let Real { mut mem, baseline, space, .. } = real;
        space.destroy(&mut mem);
        prop_assert_eq!(mem.used(), baseline, "destroy returns every frame");
    }
}
