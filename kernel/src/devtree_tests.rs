//! Host tests of the device-tree reader: device trees dumped from QEMU 7.2
//! (`-machine virt,dumpdtb=...`, in `kernel/testdata/`) and small trees
//! built here for what QEMU never produces.

extern crate std;
use std::string::String;
use std::vec::Vec;

use super::*;

fn tree(bytes: &'static [u8]) -> DeviceTree<'static> {
    DeviceTree::from_bytes(bytes).expect("a valid tree")
}

/// `(name, role, windows, interrupts)` of every node with a window.
type Summary = Vec<(String, Role, Vec<Window>, Vec<Irq>)>;

fn summary(t: &DeviceTree<'_>) -> Summary {
    let mut out = Vec::new();
    t.nodes(|n| {
        out.push((
            String::from(n.name),
            n.role,
            n.windows().to_vec(),
            n.interrupts().to_vec(),
        ))
    });
    out
}

fn find<'s>(s: &'s Summary, name: &str) -> &'s (String, Role, Vec<Window>, Vec<Irq>) {
    s.iter()
        .find(|n| n.0 == name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

fn w(base: usize, len: usize) -> Window {
    Window { base, len }
}

fn ram(t: &DeviceTree<'_>) -> Vec<Window> {
    let mut v = Vec::new();
    t.ram(|r| v.push(r));
    v
}

const VIRT: &[u8] = include_bytes!("../testdata/virt.dtb");
const SMP32: &[u8] = include_bytes!("../testdata/smp32.dtb");
const M8G: &[u8] = include_bytes!("../testdata/m8g.dtb");
const NUMA: &[u8] = include_bytes!("../testdata/numa.dtb");
const APLIC: &[u8] = include_bytes!("../testdata/aplic.dtb");
const IMSIC: &[u8] = include_bytes!("../testdata/imsic.dtb");

/// The PLIC's phandle in QEMU's trees without AIA.
const PLIC: u32 = 3;

#[test]
fn virt_nodes_roles_and_interrupts() {
    let t = tree(VIRT);
    assert_eq!(t.timebase(), Some(10_000_000));
    assert_eq!(t.cpu_count(), 1);
    assert_eq!(ram(&t), [w(0x8000_0000, 128 << 20)]);
    let s = summary(&t);
    let irq = |number| Irq {
        controller: PLIC,
        number,
        flags: 0,
    };
    let rtc = find(&s, "rtc@101000");
    assert_eq!(
        (rtc.1, &rtc.2[..], &rtc.3[..]),
        (Role::Device, &[w(0x10_1000, 0x1000)][..], &[irq(11)][..])
    );
    let uart = find(&s, "serial@10000000");
    assert_eq!(uart.1, Role::Kernel("console UART"));
    assert_eq!(uart.2, [w(0x1000_0000, 0x100)]);
    assert_eq!(
        find(&s, "plic@c000000").1,
        Role::Kernel("interrupt controller")
    );
    assert_eq!(find(&s, "clint@2000000").1, Role::Kernel("timer"));
    assert_eq!(find(&s, "test@100000").1, Role::Kernel("test finisher"));
    assert_eq!(
        find(&s, "pci@30000000").1,
        Role::Kernel("PCIe configuration space")
    );
    assert_eq!(find(&s, "memory@80000000").1, Role::Ram);
    let flash = find(&s, "flash@20000000");
    assert_eq!(
        (flash.1, &flash.2[..]),
        (
            Role::Device,
            &[w(0x2000_0000, 0x200_0000), w(0x2200_0000, 0x200_0000)][..]
        )
    );
    assert_eq!(find(&s, "fw-cfg@10100000").2, [w(0x1010_0000, 0x18)]);
    for slot in 1..=8usize {
        let v = find(
            &s,
            &std::format!("virtio_mmio@{:x}", 0x1000_0000 + slot * 0x1000),
        );
        assert_eq!(v.1, Role::Device);
        assert_eq!(v.3, [irq(slot as u32)]);
    }
    // The PLIC's own interrupts go to the hart's controller (phandle 2):
    // interrupts-extended, S-mode external (9) and M-mode external (11).
    let hart = |number| Irq {
        controller: 2,
        number,
        flags: 0,
    };
    assert_eq!(find(&s, "plic@c000000").3, [hart(11), hart(9)]);
    assert!(
        s.iter().all(|n| !n.0.starts_with("cpu")),
        "cpus are no MMIO"
    );
}

#[test]
fn many_harts_add_no_windows() {
    let (one, many) = (tree(VIRT), tree(SMP32));
    assert_eq!(many.cpu_count(), 32);
    let names = |t| summary(t).into_iter().map(|n| n.0).collect::<Vec<_>>();
    assert_eq!(names(&one), names(&many));
}

#[test]
fn every_memory_node_is_ram() {
    assert_eq!(ram(&tree(M8G)), [w(0x8000_0000, 8 << 30)]);
    assert_eq!(
        ram(&tree(NUMA)),
        [w(0x8000_0000, 4 << 30), w(0x1_8000_0000, 4 << 30)]
    );
}

#[test]
fn aia_interrupts_have_two_cells() {
    for (bytes, aplic) in [(APLIC, 4), (IMSIC, 6)] {
        let s = summary(&tree(bytes));
        for slot in 1..=8u32 {
            let v = find(
                &s,
                &std::format!("virtio_mmio@{:x}", 0x1000_0000 + slot * 0x1000),
            );
            // Source number, then trigger type 4 (level high).
            let want = Irq {
                controller: aplic,
                number: slot,
                flags: 4,
            };
            assert_eq!(v.3, [want], "{}", v.0);
        }
        assert_eq!(find(&s, "rtc@101000").3[0].number, 11);
        assert!(
            s.iter()
                .filter(|n| n.0.starts_with("aplic") || n.0.starts_with("imsics"))
                .all(|n| n.1 == Role::Kernel("interrupt controller"))
        );
        assert!(!s.iter().any(|n| n.0.starts_with("plic")));
    }
}

#[test]
fn decodes_one_two_and_three_cell_specifiers() {
    let irq = |number, flags| {
        Some(Irq {
            controller: 7,
            number,
            flags,
        })
    };
    assert_eq!(Irq::decode(7, &[5]), irq(5, 0));
    assert_eq!(Irq::decode(7, &[5, 4]), irq(5, 4));
    assert_eq!(Irq::decode(7, &[0, 5, 4]), irq(37, 4), "GIC SPI 5");
    assert_eq!(Irq::decode(7, &[1, 5, 4]), irq(21, 4), "GIC PPI 5");
    assert_eq!(Irq::decode(7, &[2, 5, 4]), None);
    assert_eq!(Irq::decode(7, &[0, u32::MAX, 4]), None);
    assert_eq!(Irq::decode(7, &[]), None);
    assert_eq!(Irq::decode(7, &[1, 2, 3, 4]), None);
}

// ---- Small trees built here -------------------------------------------------

/// A flattened-device-tree writer (version 17) for tests.
#[derive(Default)]
struct Builder {
    structs: Vec<u8>,
    strings: Vec<u8>,
}

enum V<'s> {
    Cells(&'s [u32]),
    Str(&'s str),
    Empty,
}

impl Builder {
    fn word(&mut self, v: u32) {
        self.structs.extend_from_slice(&v.to_be_bytes());
    }

    fn begin(&mut self, name: &str) -> &mut Self {
        self.word(1);
        self.structs.extend_from_slice(name.as_bytes());
        self.structs.push(0);
        while !self.structs.len().is_multiple_of(4) {
            self.structs.push(0);
        }
        self
    }

    fn end(&mut self) -> &mut Self {
        self.word(2);
        self
    }

    fn prop(&mut self, name: &str, value: V<'_>) -> &mut Self {
        let bytes: Vec<u8> = match value {
            V::Cells(c) => c.iter().flat_map(|v| v.to_be_bytes()).collect(),
            V::Str(s) => s.bytes().chain([0]).collect(),
            V::Empty => Vec::new(),
        };
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        self.word(3);
        self.word(bytes.len() as u32);
        self.word(off);
        self.structs.extend_from_slice(&bytes);
        while !self.structs.len().is_multiple_of(4) {
            self.structs.push(0);
        }
        self
    }

    fn finish(mut self) -> &'static [u8] {
        self.word(9);
        let rsv = 40;
        let off_struct = rsv + 16;
        let off_strings = off_struct + self.structs.len();
        let total = off_strings + self.strings.len();
        let mut out = Vec::new();
        for v in [
            0xd00d_feed,
            total as u32,
            off_struct as u32,
            off_strings as u32,
            rsv as u32,
            17,
            16,
            0,
            self.strings.len() as u32,
            self.structs.len() as u32,
        ] {
            out.extend_from_slice(&u32::to_be_bytes(v));
        }
        out.extend_from_slice(&[0; 16]);
        out.extend_from_slice(&self.structs);
        out.extend_from_slice(&self.strings);
        out.leak()
    }
}

/// A root with 2/2 cells, a GIC-style controller (3 cells, phandle 1)
/// inherited from the root, a PLIC-style one (1 cell, phandle 2), and the
/// nodes of each test.
fn small_tree(body: impl FnOnce(&mut Builder)) -> &'static [u8] {
    let mut b = Builder::default();
    b.begin("")
        .prop("#address-cells", V::Cells(&[2]))
        .prop("#size-cells", V::Cells(&[2]))
        .prop("interrupt-parent", V::Cells(&[1]));
    b.begin("gic@8000000")
        .prop("reg", V::Cells(&[0, 0x800_0000, 0, 0x1_0000]))
        .prop("interrupt-controller", V::Empty)
        .prop("#interrupt-cells", V::Cells(&[3]))
        .prop("phandle", V::Cells(&[1]))
        .end();
    b.begin("plic@c000000")
        .prop("reg", V::Cells(&[0, 0xc00_0000, 0, 0x1000]))
        .prop("interrupt-controller", V::Empty)
        .prop("#interrupt-cells", V::Cells(&[1]))
        .prop("phandle", V::Cells(&[2]))
        .end();
    body(&mut b);
    b.end();
    b.finish()
}

#[test]
fn inherits_the_interrupt_parent_and_reads_three_cells() {
    let t = tree(small_tree(|b| {
        b.begin("uart@9000000")
            .prop("compatible", V::Str("arm,pl011"))
            .prop("reg", V::Cells(&[0, 0x900_0000, 0, 0x1000]))
            .prop("interrupts", V::Cells(&[0, 1, 4, 0, 2, 4]))
            .end();
    }));
    let s = summary(&t);
    let uart = find(&s, "uart@9000000");
    assert_eq!(uart.1, Role::Device);
    let spi = |number| Irq {
        controller: 1,
        number,
        flags: 4,
    };
    assert_eq!(uart.3, [spi(33), spi(34)]);
}

#[test]
fn reads_interrupts_extended_over_interrupts() {
    let t = tree(small_tree(|b| {
        b.begin("dev@10000")
            .prop("reg", V::Cells(&[0, 0x1_0000, 0, 0x1000]))
            .prop("interrupts", V::Cells(&[0, 9, 4]))
            .prop("interrupts-extended", V::Cells(&[2, 7, 1, 0, 3, 1]))
            .end();
    }));
    let s = summary(&t);
    let plic = Irq {
        controller: 2,
        number: 7,
        flags: 0,
    };
    let gic = Irq {
        controller: 1,
        number: 35,
        flags: 1,
    };
    assert_eq!(find(&s, "dev@10000").3, [plic, gic]);
}

#[test]
fn translates_through_ranges_and_skips_unmapped_buses() {
    let t = tree(small_tree(|b| {
        // One-cell child addresses at 0 map to 0x400_0000.
        b.begin("bus@4000000")
            .prop("#address-cells", V::Cells(&[1]))
            .prop("#size-cells", V::Cells(&[1]))
            .prop("ranges", V::Cells(&[0, 0, 0x400_0000, 0x10_0000]))
            .prop("interrupt-parent", V::Cells(&[2]));
        b.begin("dev@2000")
            .prop("reg", V::Cells(&[0x2000, 0x100]))
            .prop("interrupts", V::Cells(&[5]))
            .end();
        // Past the end of the range: not mapped.
        b.begin("dev@200000")
            .prop("reg", V::Cells(&[0x20_0000, 0x100]))
            .end();
        b.end();
        // No `ranges`: an i2c-like bus whose `reg` is no MMIO address.
        b.begin("i2c-bus")
            .prop("#address-cells", V::Cells(&[1]))
            .prop("#size-cells", V::Cells(&[1]));
        b.begin("sensor@48").prop("reg", V::Cells(&[0x48, 1])).end();
        b.end();
        b.begin("reserved-memory")
            .prop("#address-cells", V::Cells(&[2]))
            .prop("#size-cells", V::Cells(&[2]))
            .prop("ranges", V::Empty);
        b.begin("fw@80000000")
            .prop("reg", V::Cells(&[0, 0x8000_0000, 0, 0x8_0000]))
            .end();
        b.end();
    }));
    let s = summary(&t);
    let dev = find(&s, "dev@2000");
    assert_eq!(dev.2, [w(0x400_2000, 0x100)]);
    assert_eq!(dev.3[0].controller, 2, "the bus's interrupt parent");
    assert!(s.iter().all(|n| n.0 != "dev@200000" && n.0 != "sensor@48"));
    assert_eq!(find(&s, "fw@80000000").1, Role::Reserved);
    assert!(ram(&t).is_empty());
}
