//! Host tests of PCI enumeration and BAR assignment over a fake
//! configuration space, hostile values included, and of the host bridge
//! read from device trees dumped from QEMU 7.2.

extern crate std;
use std::collections::BTreeMap;
use std::vec::Vec;

use proptest::prelude::*;

use super::config::*;
use super::*;
use crate::devtree::{DeviceTree, Irq, Window};

/// One fake function: 4 KiB of registers; a BAR register keeps only the
/// bits its mask allows (plus its fixed low bits), as hardware does.
#[derive(Clone)]
struct FakeFn {
    bytes: Vec<u8>,
    /// Per BAR register: writable bits (0: the register ignores writes).
    bar_mask: [u32; 6],
    /// Every register reads all ones, whatever is written.
    all_ones: bool,
}

impl FakeFn {
    fn new(vendor: u16, device: u16, class: u32) -> FakeFn {
        let mut f = FakeFn {
            bytes: std::vec![0; 4096],
            bar_mask: [0; 6],
            all_ones: false,
        };
        f.set(ID, u32::from(device) << 16 | u32::from(vendor));
        f.set(CLASS, class << 8 | 1);
        f
    }

    fn get(&self, off: u16) -> u32 {
        let o = usize::from(off);
        u32::from_le_bytes(self.bytes[o..o + 4].try_into().unwrap())
    }

    fn set(&mut self, off: u16, v: u32) {
        let o = usize::from(off);
        self.bytes[o..o + 4].copy_from_slice(&v.to_le_bytes());
    }

    /// BAR `i`: fixed low bits `low` (type, prefetchable), writable `mask`.
    fn bar(mut self, i: usize, low: u32, mask: u32) -> FakeFn {
        self.set(BAR0 + 4 * i as u16, low);
        self.bar_mask[i] = mask;
        self
    }

    fn mem32(self, i: usize, size: u32) -> FakeFn {
        self.bar(i, 0, !(size - 1) & !0xf)
    }

    fn mem64(self, i: usize, size: u64, prefetchable: bool) -> FakeFn {
        let low = 0b100 | if prefetchable { 0b1000 } else { 0 };
        let mask = !(size - 1);
        self.bar(i, low, mask as u32 & !0xf)
            .bar(i + 1, 0, (mask >> 32) as u32)
    }

    fn multi(mut self) -> FakeFn {
        let h = self.get(HEADER);
        self.set(HEADER, h | 0x80 << 16);
        self
    }

    fn pin(mut self, pin: u8) -> FakeFn {
        self.set(INTERRUPT, u32::from(pin) << 8);
        self
    }

    /// Capabilities `(offset, id, bytes after the two header bytes)`,
    /// linked in the order given.
    fn caps(mut self, caps: &[(u8, u8, &[u8])]) -> FakeFn {
        let c = self.get(COMMAND);
        self.set(COMMAND, c | STATUS_CAP_LIST);
        self.bytes[usize::from(CAP_PTR)] = caps.first().map_or(0, |c| c.0);
        for (k, (off, id, rest)) in caps.iter().enumerate() {
            let next = caps.get(k + 1).map_or(0, |c| c.0);
            let at = usize::from(*off);
            self.bytes[at] = *id;
            self.bytes[at + 1] = next;
            self.bytes[at + 2..at + 2 + rest.len()].copy_from_slice(rest);
        }
        self
    }
}

#[derive(Default)]
struct FakeBus {
    fns: BTreeMap<Bdf, FakeFn>,
    /// Writes seen, for checks of what enumeration touched.
    writes: usize,
}

impl FakeBus {
    fn with(mut self, dev: u8, func: u8, f: FakeFn) -> FakeBus {
        self.fns.insert(Bdf::new(0, dev, func).unwrap(), f);
        self
    }
}

impl ConfigSpace for FakeBus {
    fn read(&mut self, f: Bdf, offset: u16) -> u32 {
        assert!(
            offset.is_multiple_of(4) && offset < CONFIG_LEN,
            "bad offset {offset:#x}"
        );
        match self.fns.get(&f) {
            Some(func) if func.all_ones => !0,
            Some(func) => func.get(offset),
            None => !0,
        }
    }

    fn write(&mut self, f: Bdf, offset: u16, value: u32) {
        assert!(
            offset.is_multiple_of(4) && offset < CONFIG_LEN,
            "bad offset {offset:#x}"
        );
        self.writes += 1;
        let Some(func) = self.fns.get_mut(&f) else {
            return;
        };
        if (BAR0..BAR0 + 24).contains(&offset) {
            let i = usize::from((offset - BAR0) / 4);
            let m = func.bar_mask[i];
            let fixed = func.get(offset) & !m;
            func.set(offset, fixed | value & m);
        } else if offset == COMMAND {
            let status = func.get(COMMAND) & 0xffff_0000;
            func.set(COMMAND, status | value & 0xffff);
        }
    }
}

/// QEMU virt's bridge: ECAM at 0x3000_0000, 32-bit window at 0x4000_0000
/// (1 GiB), 64-bit window at 0x4_0000_0000 (16 GiB).
fn virt_bridge() -> HostBridge {
    let mut b = HostBridge::new(
        Some(Window {
            base: 0x3000_0000,
            len: 0x1000_0000,
        }),
        None,
    )
    .unwrap();
    let mem =
        |hi, base: usize, len| PciRange::from_entry(hi, base as u64, Window { base, len }).unwrap();
    assert!(b.add_range(mem(0x0200_0000, 0x4000_0000, 0x4000_0000)));
    assert!(b.add_range(mem(0x0300_0000, 0x4_0000_0000, 0x4_0000_0000)));
    b
}

/// A modern virtio-blk-pci as QEMU builds it: MSI-X table in BAR 1, the
/// virtio structures in the 64-bit prefetchable BAR 4.
fn virtio_blk() -> FakeFn {
    let vcap = |cfg_type: u8, offset: u32, len: u32| {
        let mut v = std::vec![16, cfg_type, 4, 0, 0, 0];
        v.extend_from_slice(&offset.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v
    };
    let common = vcap(1, 0, 0x1000);
    let isr = vcap(3, 0x1000, 0x1000);
    let mut notify = vcap(2, 0x3000, 0x1000);
    notify[0] = 20;
    notify.extend_from_slice(&4u32.to_le_bytes());
    FakeFn::new(0x1af4, 0x1042, 0x01_00_00)
        .mem32(1, 0x1000)
        .mem64(4, 0x4000, true)
        .pin(1)
        .caps(&[
            (0x98, 0x11, &[0; 10]),
            (0x84, 0x09, &common),
            (0x70, 0x09, &isr),
            (0x58, 0x09, &notify),
        ])
}

fn forbid_nothing(_: Window) -> bool {
    false
}

#[test]
fn enumerates_and_assigns_a_virtio_device() {
    let host = FakeFn::new(0x1b36, 0x0008, 0x06_00_00);
    let mut bus = FakeBus::default()
        .with(0, 0, host)
        .with(1, 0, virtio_blk())
        .with(2, 0, virtio_blk());
    let mut fns = enumerate(&mut bus, 0);
    assert_eq!(fns.iter().count(), 3);
    let f = fns.get(1).unwrap();
    assert_eq!((f.vendor, f.device), (0x1af4, 0x1042));
    assert_eq!((f.class, f.subclass, f.prog_if, f.revision), (1, 0, 0, 1));
    assert_eq!(f.pin, 1);
    assert_eq!(f.bars[0], BarSlot::Absent);
    assert_eq!(
        f.bars[1],
        BarSlot::Bar(Bar {
            kind: BarKind::Mem32,
            prefetchable: false,
            size: 0x1000,
            cpu: None
        })
    );
    assert_eq!(
        f.bars[4],
        BarSlot::Bar(Bar {
            kind: BarKind::Mem64,
            prefetchable: true,
            size: 0x4000,
            cpu: None
        })
    );
    assert_eq!(f.bars[5], BarSlot::Upper);
    let caps: Vec<_> = f.vendor_caps().collect();
    assert_eq!(caps.len(), 3, "the MSI-X capability is not vendor-specific");
    assert_eq!(
        (caps[0].offset, caps[0].len, caps[0].bytes[3]),
        (0x84, 16, 1)
    );
    assert_eq!(
        (caps[2].offset, caps[2].len, caps[2].bytes[3]),
        (0x58, 20, 2)
    );
    assert_eq!(&caps[2].bytes[16..20], &4u32.to_le_bytes());
    assert!(!f.caps_truncated);

    assign(&mut bus, &virt_bridge(), &mut fns, forbid_nothing).unwrap();
    let mut all: Vec<(usize, u64)> = Vec::new();
    for f in fns.iter() {
        for (i, bar, cpu) in f.assigned() {
            assert_eq!(cpu as u64 % bar.size.max(4096), 0, "naturally aligned");
            let window = if bar.kind == BarKind::Mem64 {
                0x4_0000_0000..0x8_0000_0000
            } else {
                0x4000_0000..0x8000_0000
            };
            assert!(window.contains(&cpu), "{cpu:#x} in its window");
            // The BAR register holds the address (PCI = CPU on virt).
            let off = BAR0 + 4 * i as u16;
            let lo = bus.read(f.bdf, off) & !0xf;
            assert_eq!(lo, cpu as u32);
            if bar.kind == BarKind::Mem64 {
                assert_eq!(bus.read(f.bdf, off + 4), (cpu >> 32) as u32);
            }
            all.push((cpu, bar.span()));
        }
        let cmd = bus.read(f.bdf, COMMAND);
        let expect = if f.assigned().next().is_some() {
            CMD_MEMORY | CMD_BUS_MASTER
        } else {
            0
        };
        assert_eq!(cmd & 0x7, expect, "{}", f.bdf);
    }
    assert_eq!(all.len(), 4);
    assert_eq!(
        std::format!("{}", fns.get(1).unwrap()),
        "00:01.0 1af4:1042 class 01:00:00 pin A: bar 1 0x40000000+0x1000, \
         bar 4 0x400000000+0x4000 prefetchable 64-bit"
    );
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert!(a.0 + a.1 as usize <= b.0 || b.0 + b.1 as usize <= a.0);
        }
    }
}

#[test]
fn multi_function_devices_and_absent_functions() {
    let mut bus = FakeBus::default()
        .with(3, 0, FakeFn::new(0x8086, 1, 0x02_00_00).multi())
        .with(3, 2, FakeFn::new(0x8086, 2, 0x02_00_00))
        // Function 1 of a single-function device is not looked at.
        .with(4, 0, FakeFn::new(0x8086, 3, 0x02_00_00))
        .with(4, 1, FakeFn::new(0x8086, 4, 0x02_00_00));
    let fns = enumerate(&mut bus, 0);
    let ids: Vec<_> = fns
        .iter()
        .map(|f| (f.bdf.dev, f.bdf.func, f.device))
        .collect();
    assert_eq!(ids, [(3, 0, 1), (3, 2, 2), (4, 0, 3)]);
}

#[test]
fn hostile_bars_are_refused_not_trusted() {
    let f = FakeFn::new(0x1234, 0x5678, 0xff_00_00)
        // A size mask with a hole: not a power of two.
        .bar(0, 0, 0xfff0_f000)
        // Reserved memory type 0b01 (below 1 MiB) and 0b11.
        .bar(1, 0b010, 0xffff_f000)
        .bar(2, 0b110, 0xffff_f000)
        // A 2 GiB 32-bit BAR in a 1 GiB window: no room.
        .mem32(3, 0x8000_0000)
        // A BAR that takes no address written to it (hardwired mask bits
        // read back, the address does not).
        .bar(4, 0, 0)
        // A 64-bit BAR in the last slot.
        .bar(5, 0b100, 0xffff_f000);
    let mut bus = FakeBus::default().with(0, 0, f);
    // BAR 4 reads 0 after the probe: absent, not a zero-sized BAR.
    let mut fns = enumerate(&mut bus, 0);
    let f = *fns.get(0).unwrap();
    assert_eq!(
        f.bars[0],
        BarSlot::Refused(BarError::NotPowerOfTwo(0xffff_ffff_fff0_f000))
    );
    assert_eq!(f.bars[1], BarSlot::Refused(BarError::ReservedType(1)));
    assert_eq!(f.bars[2], BarSlot::Refused(BarError::ReservedType(3)));
    assert_eq!(f.bars[4], BarSlot::Absent);
    assert_eq!(f.bars[5], BarSlot::Refused(BarError::NoUpperHalf));
    assign(&mut bus, &virt_bridge(), &mut fns, forbid_nothing).unwrap();
    let f = fns.get(0).unwrap();
    assert_eq!(f.bars[3], BarSlot::Refused(BarError::NoRoom(0x8000_0000)));
    assert_eq!(
        std::format!("{f}"),
        "00:00.0 1234:5678 class ff:00:00: bar 0 refused (size mask 0xfffffffffff0f000 is \
         not a power of two), bar 1 refused (reserved memory type 1), bar 2 refused \
         (reserved memory type 3), bar 3 refused (no room for 0x80000000 bytes in the \
         bridge), bar 5 refused (a 64-bit BAR in the last slot)"
    );
    assert_eq!(f.assigned().count(), 0);
    assert_eq!(bus.read(f.bdf, COMMAND) & 0x7, 0, "nothing decodes");
}

#[test]
fn a_bar_that_forgets_its_address_is_refused() {
    // Size probe answers 4 KiB, but the address bits do not stick: the
    // mask applies to the probe only.
    struct Forgetful(FakeBus);
    impl ConfigSpace for Forgetful {
        fn read(&mut self, f: Bdf, offset: u16) -> u32 {
            self.0.read(f, offset)
        }
        fn write(&mut self, f: Bdf, offset: u16, value: u32) {
            let v = if offset == BAR0 && value != !0 {
                value ^ 0x1000
            } else {
                value
            };
            self.0.write(f, offset, v)
        }
    }
    let mut bus = Forgetful(FakeBus::default().with(0, 0, FakeFn::new(1, 1, 0).mem32(0, 0x1000)));
    let mut fns = enumerate(&mut bus, 0);
    assign(&mut bus, &virt_bridge(), &mut fns, forbid_nothing).unwrap();
    assert_eq!(
        fns.get(0).unwrap().bars[0],
        BarSlot::Refused(BarError::NotTaken)
    );
}

#[test]
fn an_all_ones_function_is_harmless() {
    let mut f = FakeFn::new(1, 1, 0);
    f.all_ones = true;
    let mut bus = FakeBus::default().with(5, 0, f);
    // Vendor 0xffff reads as absent.
    let fns = enumerate(&mut bus, 0);
    assert_eq!(fns.iter().count(), 0);
    // A vendor that answers with all-ones BARs: I/O BARs, never assigned;
    // a capability loop through 0xfc.
    struct Ones(FakeBus);
    impl ConfigSpace for Ones {
        fn read(&mut self, f: Bdf, offset: u16) -> u32 {
            if offset == ID && self.0.fns.contains_key(&f) {
                0x0001_0001
            } else {
                self.0.read(f, offset)
            }
        }
        fn write(&mut self, f: Bdf, offset: u16, value: u32) {
            self.0.write(f, offset, value)
        }
    }
    let mut bus = Ones(bus);
    let mut fns = enumerate(&mut bus, 0);
    let f = *fns.get(0).unwrap();
    assert_eq!(f.header, 0x7f);
    assert!(
        f.bars.iter().all(|b| *b == BarSlot::Absent),
        "header 0x7f has no BARs"
    );
    assert_eq!(f.pin, 0, "pin 0xff is no pin");
    assert!(f.caps_truncated);
    assign(&mut bus, &virt_bridge(), &mut fns, forbid_nothing).unwrap();
    assert_eq!(fns.get(0).unwrap().assigned().count(), 0);
}

#[test]
fn capability_lists_that_loop_or_point_into_the_header() {
    let looped = FakeFn::new(1, 1, 0).caps(&[(0x40, 0x09, &[8]), (0x50, 0x05, &[0])]);
    let mut looped = looped;
    looped.bytes[0x51] = 0x40; // back to the first
    let low = FakeFn::new(1, 2, 0).caps(&[(0x40, 0x05, &[0])]);
    let mut low = low;
    low.bytes[0x41] = 0x10; // into the header
    let mut bus = FakeBus::default().with(0, 0, looped).with(1, 0, low);
    let fns = enumerate(&mut bus, 0);
    let a = fns.get(0).unwrap();
    assert!(a.caps_truncated);
    assert_eq!(
        a.vendor_caps().count(),
        8,
        "recorded up to the limit, then cut"
    );
    assert!(fns.get(1).unwrap().caps_truncated);
}

#[test]
fn windows_that_overlap_forbidden_memory_are_not_used() {
    let mut bus = FakeBus::default().with(0, 0, FakeFn::new(1, 1, 0).mem32(0, 0x1000));
    let mut fns = enumerate(&mut bus, 0);
    let mut bridge = HostBridge::new(
        Some(Window {
            base: 0x3000_0000,
            len: 0x10_0000,
        }),
        None,
    )
    .unwrap();
    let ram = Window {
        base: 0x8000_0000,
        len: 0x800_0000,
    };
    bridge.add_range(PciRange::from_entry(0x0200_0000, 0x8000_0000, ram).unwrap());
    assert_eq!(
        assign(&mut bus, &bridge, &mut fns, |w| w.overlaps(&ram)),
        Err(AssignError::NoMemoryWindow)
    );
    assert_eq!(fns.get(0).unwrap().assigned().count(), 0);
}

#[test]
fn bridge_checks() {
    let w = |base, len| Some(Window { base, len });
    assert_eq!(
        HostBridge::new(None, None).unwrap_err(),
        BridgeError::NoEcam
    );
    assert_eq!(
        HostBridge::new(w(0x3000_0000, 0x1000), None).unwrap_err(),
        BridgeError::EcamTooSmall(0x1000)
    );
    assert_eq!(
        HostBridge::new(w(0x3000_1000, 0x10_0000), None).unwrap_err(),
        BridgeError::EcamUnaligned(0x3000_1000)
    );
    let range = |a: u32, b: u32| {
        let mut v = a.to_be_bytes().to_vec();
        v.extend_from_slice(&b.to_be_bytes());
        v
    };
    for bad in [range(5, 4), range(0, 256), std::vec![0u8; 7]] {
        assert_eq!(
            HostBridge::new(w(0x3000_0000, 0x10_0000), Some(&bad)).unwrap_err(),
            BridgeError::BadBusRange
        );
    }
    // Two buses of ECAM clamp bus-range 0..=255 to 0..=1.
    let b = HostBridge::new(w(0x3000_0000, 0x20_0000), Some(&range(0, 255))).unwrap();
    assert_eq!((b.first_bus, b.last_bus), (0, 1));
    // Space code 0 (configuration) and empty windows are no ranges.
    let win = Window {
        base: 0x4000_0000,
        len: 0x1000,
    };
    assert_eq!(PciRange::from_entry(0, 0, win), None);
    assert_eq!(
        PciRange::from_entry(0x0200_0000, 0, Window { base: 0, len: 0 }),
        None
    );
    assert_eq!(
        PciRange::from_entry(0x0200_0000, u64::MAX, win),
        None,
        "PCI end overflows"
    );
}

const VIRT: &[u8] = include_bytes!("../../testdata/virt.dtb");
const APLIC: &[u8] = include_bytes!("../../testdata/aplic.dtb");

fn host_of(dtb: &'static [u8]) -> HostBridge {
    let tree = DeviceTree::from_bytes(dtb).unwrap();
    let mut found = Vec::new();
    tree.pci_hosts(|name, b| found.push((name, b)));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "pci@30000000");
    found[0].1.unwrap()
}

#[test]
fn qemu_virt_bridge_from_the_device_tree() {
    let b = host_of(VIRT);
    assert_eq!(
        b.ecam,
        Window {
            base: 0x3000_0000,
            len: 0x1000_0000
        }
    );
    assert_eq!((b.first_bus, b.last_bus), (0, 0xff));
    let ranges: Vec<_> = b.ranges().copied().collect();
    assert_eq!(ranges.len(), 3);
    assert_eq!(
        (ranges[0].space, ranges[0].pci, ranges[0].cpu, ranges[0].len),
        (Space::Io, 0, 0x300_0000, 0x1_0000)
    );
    assert_eq!(
        (ranges[1].space, ranges[1].pci, ranges[1].cpu, ranges[1].len),
        (Space::Mem32, 0x4000_0000, 0x4000_0000, 0x4000_0000)
    );
    assert_eq!(
        (ranges[2].space, ranges[2].pci, ranges[2].cpu),
        (Space::Mem64, 0x4_0000_0000, 0x4_0000_0000)
    );
    // INTx A..D of slot s reach PLIC sources 32 + (pin - 1 + s) % 4.
    for dev in 0..8u8 {
        for pin in 1..=4u8 {
            let number = 32 + (u32::from(pin) - 1 + u32::from(dev)) % 4;
            assert_eq!(
                b.intx(dev, pin),
                Some(Irq {
                    controller: 3,
                    number,
                    flags: 0
                }),
                "dev {dev} pin {pin}"
            );
        }
    }
    assert_eq!(b.intx(1, 0), None);
    assert_eq!(b.intx(1, 5), None);
}

#[test]
fn aplic_interrupt_map_has_two_cell_specifiers() {
    let b = host_of(APLIC);
    let irq = b.intx(1, 1).expect("routed");
    assert_eq!(irq.number, 33);
}

#[test]
fn malformed_interrupt_maps_stop_cleanly() {
    let mut b = virt_bridge();
    let cells = |v: &[u32]| v.iter().flat_map(|c| c.to_be_bytes()).collect::<Vec<u8>>();
    // Unknown phandle: nothing after it can be delimited.
    assert_eq!(
        b.set_interrupt_map(&cells(&[0, 0, 0, 1, 99, 32]), None, 1, |_| None),
        0
    );
    // Truncated specifier.
    assert_eq!(
        b.set_interrupt_map(&cells(&[0, 0, 0, 1, 3]), None, 1, |_| Some((0, 1))),
        0
    );
    // Absurd cell counts.
    assert_eq!(
        b.set_interrupt_map(&cells(&[0, 0, 0, 1, 3, 1, 2, 3, 4, 5]), None, 1, |_| Some(
            (9, 1)
        )),
        0
    );
    assert_eq!(
        b.set_interrupt_map(&cells(&[0, 0, 0, 1, 3, 1]), None, 2, |_| Some((0, 1))),
        0
    );
    // One good entry, then garbage.
    let map = cells(&[0x800, 0, 0, 1, 3, 40, 7]);
    assert_eq!(
        b.set_interrupt_map(&map, Some(&cells(&[0x1800, 0, 0, 7])), 1, |_| Some((0, 1))),
        1
    );
    assert_eq!(b.intx(1, 1).map(|i| i.number), Some(40));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random configuration space (identity, BAR masks and fixed bits,
    /// capability bytes) never panics enumeration or assignment, and what
    /// is assigned is aligned, inside a window and disjoint.
    #[test]
    fn random_config_space_never_panics(
        funcs in proptest::collection::vec(
            (0u8..32, 0u8..8, any::<u32>(), any::<[u32; 6]>(), any::<[u32; 6]>(),
             proptest::collection::vec(any::<u8>(), 256)),
            0..12),
    ) {
        let mut bus = FakeBus::default();
        for (dev, func, id, lows, masks, caps) in funcs {
            let mut f = FakeFn::new(id as u16, (id >> 16) as u16, 0);
            f.bytes[4..256].copy_from_slice(&caps[4..]);
            for i in 0..6 {
                f = f.bar(i, lows[i], masks[i]);
            }
            bus.fns.insert(Bdf::new(0, dev, func).unwrap(), f);
        }
        let mut fns = enumerate(&mut bus, 0);
        let _ = assign(&mut bus, &virt_bridge(), &mut fns, forbid_nothing);
        let mut spans = Vec::new();
        for f in fns.iter() {
            for (_, bar, cpu) in f.assigned() {
                prop_assert!(bar.size.is_power_of_two());
                prop_assert_eq!(cpu as u64 % bar.span(), 0);
                prop_assert!((0x4000_0000..0x8_0000_0000).contains(&cpu));
                spans.push((cpu as u64, bar.span()));
            }
        }
        spans.sort();
        for w in spans.windows(2) {
            prop_assert!(w[0].0 + w[0].1 <= w[1].0);
        }
    }
}
