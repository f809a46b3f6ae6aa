//! Channel calls through the real dispatcher, address space and page
//! tables over simulated memory: `channel_map` and `channel_signal`, their
//! errors in the documented order, and what a task's end does.

extern crate std;

use nexus_abi::layout::{DEVICE_REGION_BASE, DEVICE_REGION_SIZE, PAGE_SIZE};
use nexus_abi::{CapKind, CapRights, SysError, Sysno};

use crate::cap::{Cap, Object};
use crate::mem::Memory;
use crate::pte::PteFlags;
use crate::space_tests::World;

const PAGES: usize = 3;
const SLOT: usize = 4;

/// A loaded task (index 0) with side 0 of a channel to task 2 in [`SLOT`];
/// returns the world and the channel's physical base.
fn world(dma: bool, rights: CapRights) -> (World, usize) {
    let mut w = World::loaded();
    let base = w.mem.alloc_frames(PAGES).unwrap();
    let index = w
        .channels
        .create(base, PAGES, dma, [(0, 5), (2, 9)])
        .unwrap();
    let object = Object::Channel {
        index: index as u16,
        side: 0,
        base,
        pages: PAGES as u32,
        dma,
    };
    w.task
        .caps
        .install(SLOT, Cap::minted(object, rights))
        .unwrap();
    (w, base)
}

const RWM: CapRights = CapRights::READ
    .union(CapRights::WRITE)
    .union(CapRights::MAP);

#[test]
fn map_gives_user_rw_never_x_over_the_channel_frames() {
    let (mut w, base) = world(true, RWM);
    let [status, va, len, dev] = w.sys(Sysno::ChannelMap, &[SLOT]);
    assert_eq!(status, 0);
    assert_eq!(len, PAGES * PAGE_SIZE);
    assert_eq!(dev, base, "a dma channel reveals its physical address");
    assert!((DEVICE_REGION_BASE..DEVICE_REGION_BASE + DEVICE_REGION_SIZE).contains(&va));
    for i in 0..PAGES {
        let pte = w.lookup(va + i * PAGE_SIZE).unwrap();
        assert_eq!(pte.phys(), base + i * PAGE_SIZE);
        let f = pte.flags();
        assert!(f.contains(PteFlags::U | PteFlags::R | PteFlags::W));
        assert!(!f.contains(PteFlags::X));
    }
    assert!(w.lookup(va + len).is_none(), "guard page");
    let info = w.sys(Sysno::CapInfo, &[SLOT]);
    assert_eq!(
        info,
        [0, CapKind::Channel as usize, PAGES * PAGE_SIZE, RWM.bits()]
    );
}

#[test]
fn a_plain_channel_hides_its_physical_address() {
    let (mut w, _) = world(false, RWM);
    let [status, _, _, dev] = w.sys(Sysno::ChannelMap, &[SLOT]);
    assert_eq!((status, dev), (0, 0));
}

#[test]
fn map_errors_come_in_the_documented_order() {
    let code = |e: SysError| e.code();
    let (mut w, _) = world(true, CapRights::READ | CapRights::MAP);
    assert_eq!(w.sys(Sysno::ChannelMap, &[32])[0], code(SysError::BadSlot));
    assert_eq!(w.sys(Sysno::ChannelMap, &[9])[0], code(SysError::EmptySlot));
    assert_eq!(w.sys(Sysno::ChannelMap, &[1])[0], code(SysError::WrongKind));
    assert_eq!(
        w.sys(Sysno::ChannelMap, &[SLOT])[0],
        code(SysError::RightsExceeded),
        "no WRITE"
    );
    let (mut w, _) = world(true, RWM);
    assert_eq!(w.sys(Sysno::ChannelMap, &[SLOT])[0], 0);
    assert_eq!(
        w.sys(Sysno::ChannelMap, &[SLOT])[0],
        code(SysError::AlreadyMapped)
    );
    // Neither the device nor the DMA calls take a channel mapping.
    let va = w.task.caps.get(SLOT).unwrap().mapped_at.unwrap();
    assert_eq!(w.sys(Sysno::MmioUnmap, &[va])[0], code(SysError::NotMapped));
    assert_eq!(w.sys(Sysno::DmaFree, &[va])[0], code(SysError::NotMapped));
    assert_eq!(
        w.sys(Sysno::CapDerive, &[SLOT, 0, PAGE_SIZE, 1])[0],
        code(SysError::WrongKind)
    );
    assert_eq!(
        w.sys(Sysno::MmioMap, &[SLOT, 3])[0],
        code(SysError::WrongKind)
    );
}

#[test]
fn signal_checks_then_names_the_peer_until_it_ends() {
    let code = |e: SysError| e.code();
    let (mut w, _) = world(true, CapRights::READ | CapRights::MAP);
    assert_eq!(
        w.sys(Sysno::ChannelSignal, &[99])[0],
        code(SysError::BadSlot)
    );
    assert_eq!(
        w.sys(Sysno::ChannelSignal, &[9])[0],
        code(SysError::EmptySlot)
    );
    assert_eq!(
        w.sys(Sysno::ChannelSignal, &[1])[0],
        code(SysError::WrongKind)
    );
    assert_eq!(
        w.sys(Sysno::ChannelSignal, &[SLOT])[0],
        code(SysError::RightsExceeded)
    );
    let (mut w, _) = world(true, RWM);
    assert_eq!(w.sys(Sysno::ChannelSignal, &[SLOT]), [0; 4]);
    let mut told = std::vec::Vec::new();
    w.channels
        .end_task(2, |t, b| told.push((t, b)), |_, _| panic!("freed"));
    assert_eq!(told, [(0, 1 << 5)], "the live end is told");
    assert_eq!(
        w.sys(Sysno::ChannelSignal, &[SLOT])[0],
        code(SysError::PeerEnded)
    );
}

#[test]
fn a_task_ending_never_frees_the_channel_frames() {
    let (mut w, base) = world(true, RWM);
    assert_eq!(w.sys(Sysno::ChannelMap, &[SLOT])[0], 0);
    let space = w.task.space.take().unwrap();
    space.destroy(&mut w.mem);
    assert_eq!(
        w.mem.used(),
        w.baseline + PAGES,
        "only the channel's frames stay"
    );
    let mut freed = std::vec::Vec::new();
    w.channels.end_task(0, |_, _| {}, |b, n| freed.push((b, n)));
    assert!(freed.is_empty(), "the peer still holds them");
    w.channels
        .end_task(2, |_, _| panic!("no live peer"), |b, n| freed.push((b, n)));
    assert_eq!(freed, [(base, PAGES)]);
    w.mem.free_frames(base, PAGES);
    assert_eq!(w.mem.used(), w.baseline);
}
