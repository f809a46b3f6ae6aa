//! Host tests of the device table: window checks, the sub-page rule and
//! discovery over device trees dumped from QEMU 7.2.

extern crate std;
use std::vec::Vec;

use super::*;

const VIRT: &[u8] = include_bytes!("../testdata/virt.dtb");
const SMP32: &[u8] = include_bytes!("../testdata/smp32.dtb");
const APLIC: &[u8] = include_bytes!("../testdata/aplic.dtb");

fn tree(bytes: &'static [u8]) -> DeviceTree<'static> {
    DeviceTree::from_bytes(bytes).expect("a valid tree")
}

fn w(base: usize, len: usize) -> Window {
    Window { base, len }
}

/// The regions the kernel keeps on QEMU `virt`.
const KEPT: [Region; 2] = [
    Region {
        name: "console UART",
        base: 0x1000_0000,
        len: 0x1000,
    },
    Region {
        name: "test finisher",
        base: 0x10_0000,
        len: 0x1000,
    },
];

/// A QEMU `virt` whose slots 7, 6, 5 hold blk, net, rng (as `cargo xtask
/// run` starts it); the other slots are empty.
fn virtio_ids(base: usize) -> (u32, u32) {
    let id = match base {
        0x1000_8000 => 2,
        0x1000_7000 => 1,
        0x1000_6000 => 4,
        _ => 0,
    };
    (VIRTIO_MAGIC, id)
}

fn discover_all(bytes: &'static [u8]) -> (DeviceTable, Vec<Found<'static>>) {
    let mut found = Vec::new();
    let table = discover(&tree(bytes), &KEPT, virtio_ids, |f| found.push(f));
    (table, found)
}

#[test]
fn page_spans() {
    assert_eq!(page_span(w(0x1000, 0x1000)), Ok(w(0x1000, 0x1000)));
    assert_eq!(page_span(w(0x1010_0000, 0x18)), Ok(w(0x1010_0000, 0x1000)));
    assert_eq!(page_span(w(0x1ff8, 0x10)), Ok(w(0x1000, 0x2000)));
    assert_eq!(page_span(w(0x1000, 0)), Err(WindowError::Empty));
    assert_eq!(
        page_span(w(usize::MAX - 0x10, 0x8)),
        Err(WindowError::Overflow)
    );
}

#[test]
fn virt_table_has_every_device_window() {
    let (table, found) = discover_all(VIRT);
    let got: Vec<_> = table.iter().map(|d| (d.class, d.base, d.len)).collect();
    let e = DeviceClass::Empty;
    assert_eq!(
        got,
        [
            (DeviceClass::Named("goldfish-rtc"), 0x10_1000, 0x1000),
            (e, 0x1000_1000, 0x1000),
            (e, 0x1000_2000, 0x1000),
            (e, 0x1000_3000, 0x1000),
            (e, 0x1000_4000, 0x1000),
            (e, 0x1000_5000, 0x1000),
            (DeviceClass::Rng, 0x1000_6000, 0x1000),
            (DeviceClass::Net, 0x1000_7000, 0x1000),
            (DeviceClass::Blk, 0x1000_8000, 0x1000),
            // Sub-page, alone in its page: granted as that page.
            (DeviceClass::Named("fw-cfg-mmio"), 0x1010_0000, 0x1000),
            (DeviceClass::Named("cfi-flash"), 0x2000_0000, 0x200_0000),
            (DeviceClass::Named("cfi-flash"), 0x2200_0000, 0x200_0000),
        ]
    );
    // Nothing refused, nothing unnamed on a stock `virt`.
    assert!(
        found.iter().all(|f| matches!(f, Found::Device(_))),
        "{found:?}"
    );
    let rtc = table.find(DeviceClass::Named("goldfish-rtc"), 0).unwrap();
    assert_eq!(rtc.interrupts().len(), 1);
    assert_eq!(rtc.interrupts()[0].number, 11);
    let blk = table.find(DeviceClass::Blk, 0).unwrap();
    assert_eq!(blk.interrupts()[0].number, 8);
    assert_eq!(table.find(DeviceClass::Empty, 4).unwrap().base, 0x1000_5000);
    assert!(table.find(DeviceClass::Empty, 5).is_none());
    assert_eq!(table.at(0x1000_7000).unwrap().class, DeviceClass::Net);
    // Kernel-owned nodes never enter the table.
    for base in [0x1000_0000, 0x10_0000, 0x200_0000, 0xc00_0000, 0x3000_0000] {
        assert!(table.iter().all(|d| d.base != base), "{base:#x}");
    }
}

#[test]
fn thirty_two_harts_change_nothing() {
    let (one, _) = discover_all(VIRT);
    let (many, found) = discover_all(SMP32);
    // The same windows, classes and interrupt numbers (the PLIC's phandle
    // differs: the cpu nodes come first).
    let key = |t: &DeviceTable| {
        t.iter()
            .map(|d| {
                (
                    d.base,
                    d.len,
                    d.class,
                    d.interrupts().iter().map(|i| i.number).collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(key(&one), key(&many));
    assert!(found.iter().all(|f| matches!(f, Found::Device(_))));
}

#[test]
fn aia_devices_keep_their_own_irq_numbers() {
    let (table, _) = discover_all(APLIC);
    let numbers: Vec<_> = table
        .iter()
        .filter(|d| d.class.is_virtio())
        .map(|d| d.interrupts()[0].number)
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn bad_magic_is_refused() {
    let mut found = Vec::new();
    let table = discover(
        &tree(VIRT),
        &KEPT,
        |base| match base {
            0x1000_8000 => (0xdead, 2),
            b => virtio_ids(b),
        },
        |f| found.push(f),
    );
    assert!(table.at(0x1000_8000).is_none());
    assert!(found.contains(&Found::Refused {
        node: "virtio_mmio@10008000",
        window: w(0x1000_8000, 0x1000),
        why: WindowError::BadMagic(0xdead),
    }));
}

#[test]
fn windows_are_checked_against_every_other_window() {
    let t = tree(VIRT);
    let id_of = |name: &str| {
        let mut id = None;
        t.nodes(|n| {
            if n.name == name {
                id = Some(n.id);
            }
        });
        id.unwrap()
    };
    let rtc = id_of("rtc@101000");
    // As the tree gives it.
    assert_eq!(
        check_window(&t, rtc, w(0x10_1000, 0x1000), &KEPT),
        Ok(w(0x10_1000, 0x1000))
    );
    // Pretend windows of the RTC node elsewhere: over RAM, over the PLIC,
    // next to the UART in its page, over a kept region.
    let cases = [
        (
            w(0x8020_0000, 0x1000),
            WindowError::Overlaps {
                what: "RAM",
                base: 0x8000_0000,
            },
        ),
        (
            w(0xc00_0000, 0x1000),
            WindowError::Overlaps {
                what: "interrupt controller",
                base: 0xc00_0000,
            },
        ),
        (
            w(0x1000_0800, 0x100),
            WindowError::Overlaps {
                what: "console UART",
                base: 0x1000_0000,
            },
        ),
        (
            w(0x200_f000, 0x2000),
            WindowError::Overlaps {
                what: "timer",
                base: 0x200_0000,
            },
        ),
        (
            w(0x1010_0f00, 0x100),
            WindowError::SharesPage {
                what: "another device",
                base: 0x1010_0000,
            },
        ),
        (
            w(0x7fff_f000, 0x2000),
            WindowError::Overlaps {
                what: "RAM",
                base: 0x8000_0000,
            },
        ),
    ];
    for (window, want) in cases {
        assert_eq!(
            check_window(&t, rtc, window, &KEPT),
            Err(want),
            "{window:?}"
        );
    }
    // The console page is kept even where the tree has nothing else: a
    // window in it shares the UART's page.
    let uart_page = w(0x1000_0f00, 0x10);
    assert_eq!(
        check_window(&t, rtc, uart_page, &[]),
        Err(WindowError::SharesPage {
            what: "console UART",
            base: 0x1000_0000
        })
    );
    // And the finisher's page is refused through `kept` even for a window
    // that is not in the tree.
    let empty = DeviceTree::from_bytes(VIRT).unwrap();
    assert!(check_window(&empty, 0, w(0x10_0000, 0x1000), &KEPT).is_err());
}

#[test]
fn classes_by_compatible_and_device_id() {
    assert_eq!(
        DeviceClass::from_compatible("google,goldfish-rtc"),
        DeviceClass::Named("goldfish-rtc")
    );
    assert_eq!(
        DeviceClass::from_compatible("ns16550a"),
        DeviceClass::Named("ns16550a")
    );
    for id in [0, 1, 2, 4, 9] {
        assert_eq!(DeviceClass::from_device_id(id).device_id(), Some(id));
    }
    assert_eq!(DeviceClass::Named("x").device_id(), None);
    assert_eq!(std::format!("{}", DeviceClass::Other(16)), "virtio-16");
    assert_eq!(
        std::format!("{}", DeviceClass::Named("goldfish-rtc")),
        "goldfish-rtc"
    );
}

#[test]
fn table_orders_by_address_and_finds_instances() {
    let mut t = DeviceTable::default();
    let dev = |base, class| Device {
        base,
        len: 0x1000,
        irqs: [Irq::default(); MAX_IRQS],
        nirqs: 0,
        class,
    };
    assert!(t.insert(dev(0x1000_8000, DeviceClass::Rng)));
    assert!(t.insert(dev(0x1000_2000, DeviceClass::Empty)));
    assert!(t.insert(dev(0x1000_1000, DeviceClass::Empty)));
    assert!(!t.insert(dev(0x1000_1000, DeviceClass::Blk)), "overlap");
    let bases: Vec<_> = t.iter().map(|d| d.base).collect();
    assert_eq!(bases, [0x1000_1000, 0x1000_2000, 0x1000_8000]);
    assert_eq!(t.find(DeviceClass::Empty, 1).unwrap().base, 0x1000_2000);
    assert_eq!(t.find(DeviceClass::Rng, 0).unwrap().base, 0x1000_8000);
    assert!(t.find(DeviceClass::Rng, 1).is_none());
    assert!(t.find(DeviceClass::Blk, 0).is_none());
    for i in 3..MAX_DEVICES {
        assert!(t.insert(dev(0x2000_0000 + i * 0x1000, DeviceClass::Empty)));
    }
    assert!(!t.insert(dev(0x4000_0000, DeviceClass::Empty)), "full");
}
