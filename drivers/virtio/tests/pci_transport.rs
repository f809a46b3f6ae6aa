//! The virtio-pci transport on RAM registers: each structure a fake page,
//! the blk and net drivers unchanged above it, and the capability checks
//! against hostile values.

mod common;

use common::{Behaviour, Bus, DeviceQueue, Disk, Seen, T_IN};
use mmio_types::{FakeDevice, MmioWindow};
use nexus_virtio::pci::{PciWindows, VirtioPci};
use nexus_virtio::pci_layout::{
    CFG_COMMON, CFG_DEVICE, CFG_ISR, CFG_NOTIFY, LayoutError, PciLayout, Region, device_id,
};
use nexus_virtio::queue::QueueAreas;
use nexus_virtio::{
    BlkTransport, DeviceStatus, DmaRange, NetTransport, Transport, VirtioBlk, VirtioNet,
};

/// The fake device: one RAM page per structure.
struct Pages {
    common: FakeDevice,
    notify: FakeDevice,
    device: FakeDevice,
    isr: FakeDevice,
}

/// QEMU's layout: common at 0, ISR at 0x1000, device at 0x2000, notify at
/// 0x3000 with multiplier 4, in a 16 KiB BAR.
fn qemu_layout() -> PciLayout {
    let caps = [
        cap(CFG_COMMON, 4, 0x0000, 0x1000, 0),
        cap(CFG_ISR, 4, 0x1000, 0x1000, 0),
        cap(CFG_DEVICE, 4, 0x2000, 0x1000, 0),
        cap(CFG_NOTIFY, 4, 0x3000, 0x1000, 4),
    ];
    PciLayout::parse(4, 0x4000, 8, &caps).expect("QEMU's layout")
}

fn transport(id: u32) -> (Pages, VirtioPci) {
    let (common, t1) = FakeDevice::new(4096);
    let (notify, t2) = FakeDevice::new(4096);
    let (isr, t3) = FakeDevice::new(4096);
    let (device, t4) = FakeDevice::new(4096);
    let windows = PciWindows {
        common: MmioWindow::from_token(t1).unwrap(),
        notify: MmioWindow::from_token(t2).unwrap(),
        isr: MmioWindow::from_token(t3).unwrap(),
        device: MmioWindow::from_token(t4).unwrap(),
    };
    (
        Pages {
            common,
            notify,
            device,
            isr,
        },
        VirtioPci::new(windows, qemu_layout(), id),
    )
}

/// A virtio vendor capability as `pci_cap` returns it.
fn cap(cfg_type: u8, bar: u8, offset: u32, len: u32, extra: u32) -> [u8; 24] {
    let mut c = [0u8; 24];
    c[0] = 9;
    c[2] = if cfg_type == CFG_NOTIFY { 20 } else { 16 };
    c[3] = cfg_type;
    c[4] = bar;
    c[8..12].copy_from_slice(&offset.to_le_bytes());
    c[12..16].copy_from_slice(&len.to_le_bytes());
    c[16..20].copy_from_slice(&extra.to_le_bytes());
    c
}

fn reg64(dev: &FakeDevice, low: usize) -> u64 {
    u64::from(dev.read_u32(low + 4)) << 32 | u64::from(dev.read_u32(low))
}

#[test]
fn transport_operations_hit_their_registers() {
    let (p, mut t) = transport(2);
    assert_eq!(t.device_id(), 2);
    p.common.write_u32(0x04, 0x1234);
    assert_eq!(t.device_features(1), 0x1234);
    assert_eq!(p.common.read_u32(0x00), 1, "device_feature_select");
    t.set_driver_features(1, 0x5);
    assert_eq!((p.common.read_u32(0x08), p.common.read_u32(0x0c)), (1, 5));
    t.set_status(DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
    assert_eq!(p.common.read_u8(0x14), 3);
    assert_eq!(t.status(), DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER);
    p.common.write_u8(0x15, 7);
    assert_eq!(t.config_generation(), 7);

    p.common.write_u16(0x18, 256);
    p.common.write_u16(0x1e, 3);
    assert_eq!(t.queue_num_max(1), 256);
    assert_eq!(p.common.read_u16(0x16), 1, "queue_select");
    assert!(!t.queue_ready(1));
    let areas = QueueAreas {
        desc: 0x1_0000_1000,
        driver: 0x1_0000_1400,
        device: 0x2_0000_1604,
    };
    t.activate_queue(1, 64, areas);
    assert_eq!(p.common.read_u16(0x18), 64);
    assert_eq!(reg64(&p.common, 0x20), areas.desc);
    assert_eq!(reg64(&p.common, 0x28), areas.driver);
    assert_eq!(reg64(&p.common, 0x30), areas.device);
    assert_eq!(p.common.read_u16(0x1c), 1);
    assert!(t.queue_ready(1));
    // queue_notify_off 3, multiplier 4: the register at byte 12.
    p.notify.write_u16(12, 0xffff);
    t.notify(1);
    assert_eq!(p.notify.read_u16(12), 1);

    p.device.write_u32(0, 0x10);
    p.device.write_u32(4, 0x2);
    assert_eq!(t.blk_capacity(), 0x2_0000_0010);
    for (i, b) in [2u8, 0x54, 0, 0x12, 0x34, 0x56].iter().enumerate() {
        p.device.write_u8(i, *b);
    }
    assert_eq!(t.net_mac(), [2, 0x54, 0, 0x12, 0x34, 0x56]);
}

#[test]
fn a_queue_whose_notify_register_is_outside_is_refused() {
    let (p, mut t) = transport(2);
    p.common.write_u16(0x18, 64);
    // 1024 * 4 = 4096: past the 4 KiB notification structure.
    p.common.write_u16(0x1e, 1024);
    assert_eq!(t.queue_num_max(0), 0);
    p.notify.write_u16(0, 0xffff);
    t.notify(0);
    assert_eq!(p.notify.read_u16(0), 0xffff, "nothing written");
    // The blk driver reports the queue as unavailable, not a panic.
    p.common.write_u32(0x04, 1);
    let mut bus = Bus::default();
    let err = VirtioBlk::new(t, bus.alloc(1)).unwrap_err();
    assert_eq!(
        err.error.to_string(),
        nexus_virtio::BlkError::Init(nexus_virtio::InitError::QueueUnavailable).to_string()
    );
}

#[test]
fn blk_driver_runs_over_the_pci_transport() {
    let (p, t) = transport(2);
    // RAM does not bank: both feature words read 1, so word 1 offers VERSION_1.
    p.common.write_u32(0x04, 1);
    p.common.write_u16(0x18, 64);
    p.device.write_u32(0, 16);
    let mut bus = Bus::default();
    let mem = bus.alloc(1);
    let queue_addr = mem.device_addr(0).unwrap();
    let mut blk = VirtioBlk::new(t, mem).expect("init over the PCI transport");
    assert_eq!(
        p.common.read_u8(0x14),
        0xf,
        "ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK"
    );
    assert_eq!(p.common.read_u32(0x0c), 1, "VERSION_1 accepted");
    assert_eq!(reg64(&p.common, 0x20), queue_addr);
    assert_eq!(p.common.read_u16(0x1c), 1);
    assert_eq!(blk.capacity(), 16);

    let buf = bus.alloc(1);
    p.notify.write_u16(0, 0xffff);
    let id = blk
        .submit_read(3, DmaRange::new(&buf, 512, 1024).unwrap())
        .unwrap();
    assert_eq!(p.notify.read_u16(0), 0, "queue 0 notified");
    assert_eq!(blk.poll(), None);
    let areas = QueueAreas {
        desc: reg64(&p.common, 0x20),
        driver: reg64(&p.common, 0x28),
        device: reg64(&p.common, 0x30),
    };
    let mut queue = DeviceQueue::new(64, areas);
    let mut bytes: Vec<u8> = (0..16 * 512).map(|i| (i / 3) as u8).collect();
    let behaviour = Behaviour::default();
    let mut seen = Vec::new();
    queue.process(
        &bus,
        &mut Disk {
            bytes: &mut bytes,
            flush_negotiated: false,
            behaviour: &behaviour,
            seen: &mut seen,
        },
    );
    assert_eq!(
        seen,
        [Seen {
            kind: T_IN,
            sector: 3,
            data_len: 1024,
            descriptors: 3
        }]
    );
    assert_eq!(blk.poll(), Some((id, Ok(()))));
    let mut got = vec![0; 1024];
    buf.read_bytes(512, &mut got).unwrap();
    assert_eq!(got, bytes[3 * 512..5 * 512]);
}

#[test]
fn net_driver_initialises_over_the_pci_transport() {
    let (p, t) = transport(1);
    // Bits 0 and 5 (MAC) in word 0; bit 32 (VERSION_1) in word 1.
    p.common.write_u32(0x04, 0x21);
    p.common.write_u16(0x18, 8);
    let mac = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
    for (i, b) in mac.iter().enumerate() {
        p.device.write_u8(i, *b);
    }
    p.notify.write_u16(0, 0xffff);
    let mut bus = Bus::default();
    let net = VirtioNet::new(t, bus.alloc(2), bus.alloc(2))
        .map_err(|f| f.error)
        .expect("init over the PCI transport");
    assert_eq!(net.mac(), mac);
    assert_eq!(p.common.read_u8(0x14), 0xf);
    assert_eq!(p.notify.read_u16(0), 0, "the receive queue notified");
    // A blk device is not a net device: identification refuses it.
    let (p, t) = transport(2);
    p.common.write_u32(0x04, 0x21);
    let err = VirtioNet::new(t, bus.alloc(2), bus.alloc(2))
        .map_err(|f| f.error)
        .unwrap_err();
    assert!(err.to_string().contains("DeviceID 2"), "{err}");
}

#[test]
fn capabilities_are_checked_against_the_bar() {
    let good = [
        cap(CFG_COMMON, 4, 0x0000, 0x1000, 0),
        cap(CFG_ISR, 4, 0x1000, 0x1000, 0),
        cap(CFG_DEVICE, 4, 0x2000, 0x1000, 0),
        cap(CFG_NOTIFY, 4, 0x3000, 0x1000, 4),
    ];
    let l = PciLayout::parse(4, 0x4000, 8, &good).unwrap();
    assert_eq!(
        l.notify,
        Region {
            offset: 0x3000,
            len: 0x1000
        }
    );
    assert_eq!(l.notify_multiplier, 4);
    assert_eq!(l.notify_offset(3), Some(12));
    assert_eq!(l.notify_offset(1023), Some(4092));
    assert_eq!(l.notify_offset(1024), None);
    assert_eq!(l.notify_offset(u16::MAX), None);

    let with = |i: usize, c: [u8; 24]| {
        let mut caps = good;
        caps[i] = c;
        PciLayout::parse(4, 0x4000, 8, &caps)
    };
    // Structures in another BAR do not count.
    assert_eq!(
        with(0, cap(CFG_COMMON, 2, 0, 0x1000, 0)),
        Err(LayoutError::Missing(CFG_COMMON))
    );
    assert_eq!(
        with(1, cap(CFG_ISR, 4, 0x4000, 1, 0)),
        Err(LayoutError::OutsideBar(CFG_ISR))
    );
    assert_eq!(
        with(1, cap(CFG_ISR, 4, u32::MAX, u32::MAX, 0)),
        Err(LayoutError::OutsideBar(CFG_ISR))
    );
    assert_eq!(
        with(2, cap(CFG_DEVICE, 4, 0x2000, 4, 0)),
        Err(LayoutError::TooShort(CFG_DEVICE))
    );
    assert_eq!(
        with(0, cap(CFG_COMMON, 4, 0, 0x38, 0)),
        Err(LayoutError::TooShort(CFG_COMMON))
    );
    assert_eq!(
        with(2, cap(CFG_DEVICE, 4, 0x2100, 8, 0)),
        Err(LayoutError::Unaligned(CFG_DEVICE))
    );
    assert_eq!(
        with(3, cap(CFG_NOTIFY, 4, 0x3000, 0x1000, 3)),
        Err(LayoutError::OddMultiplier(3))
    );
    let mut short = cap(CFG_NOTIFY, 4, 0x3000, 0x1000, 4);
    short[2] = 16;
    assert_eq!(with(3, short), Err(LayoutError::ShortCapability(16)));
    // Not a vendor capability, or an unknown type: ignored.
    let mut other = good[0];
    other[0] = 5;
    assert_eq!(with(0, other), Err(LayoutError::Missing(CFG_COMMON)));
    // The first capability of each type counts.
    let mut caps = good.to_vec();
    caps.push(cap(CFG_COMMON, 4, 0x8000_0000, 1, 0));
    assert!(PciLayout::parse(4, 0x4000, 8, &caps).is_ok());
    // A region longer than a page is used up to its first page.
    let big = with(3, cap(CFG_NOTIFY, 4, 0x3000, 0x1000, 2)).unwrap();
    assert_eq!(big.notify_offset(2047), Some(4094));
    assert_eq!(
        PciLayout::parse(4, 0x4000, 8, &[]),
        Err(LayoutError::Missing(CFG_COMMON))
    );

    assert_eq!(device_id(0x1af4, 0x1042), Ok(2));
    assert_eq!(device_id(0x1af4, 0x1041), Ok(1));
    assert_eq!(
        device_id(0x1af4, 0x1001),
        Err(LayoutError::NotModern(0x1001))
    );
    assert_eq!(
        device_id(0x8086, 0x100e),
        Err(LayoutError::NotVirtio(0x8086, 0x100e))
    );
}

#[test]
fn random_capabilities_never_panic() {
    // A small deterministic generator: every byte of every capability.
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let n = (next() % 9) as usize;
        let mut caps = Vec::new();
        for _ in 0..n {
            let mut c = [0u8; 24];
            for b in c.iter_mut() {
                *b = next() as u8;
            }
            // Often a plausible virtio capability.
            if next() % 2 == 0 {
                c[0] = 9;
                c[3] = (next() % 5) as u8;
                c[4] = 4;
            }
            caps.push(c);
        }
        let bar_len = 1usize << (next() % 40);
        if let Ok(l) = PciLayout::parse(4, bar_len, 8, &caps) {
            for r in [l.common, l.notify, l.isr, l.device] {
                assert!(
                    r.offset.is_multiple_of(4096) && r.offset + r.len <= bar_len && r.len <= 4096
                );
            }
            let off = next() as u16;
            if let Some(at) = l.notify_offset(off) {
                assert!(at + 2 <= l.notify.len);
            }
        }
    }
}

/// A kernel whose line has always just fired.
struct Fired {
    acks: usize,
}

impl nexus_virtio::IrqSys for &mut Fired {
    fn wait(
        &mut self,
        mask: u64,
        _deadline: u64,
    ) -> Result<nexus_abi::notify::Wakeup, nexus_abi::SysError> {
        Ok(nexus_abi::notify::Wakeup {
            bits: mask,
            stamp: 1,
        })
    }

    fn irq_ack(&mut self, _slot: usize) -> Result<(), nexus_abi::SysError> {
        self.acks += 1;
        Ok(())
    }
}

#[test]
fn an_interrupt_is_acknowledged_by_reading_the_isr_status() {
    let (p, t) = transport(2);
    p.isr.write_u8(0, 0b11);
    let mut kernel = Fired { acks: 0 };
    {
        let mut dev = nexus_virtio::IrqDevice::new(t, &mut kernel, 2, 0).unwrap();
        let acked = dev.wait(u64::MAX).unwrap().acknowledge();
        assert_eq!(
            acked.status(),
            nexus_virtio::InterruptStatus::USED_BUFFER
                | nexus_virtio::InterruptStatus::CONFIG_CHANGE
        );
        acked.rearm().unwrap();
    }
    // Nothing was written to the ISR page (RAM keeps what it held).
    assert_eq!(p.isr.read_u8(0), 0b11);
    assert_eq!(kernel.acks, 1);
}
