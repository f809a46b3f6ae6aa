//! The `Transport` implementation of the virtio-mmio window, on RAM registers.

mod common;

use common::{Behaviour, Bus, DeviceQueue, Disk, Seen, T_IN};
use mmio_types::FakeDevice;
use nexus_virtio::mmio::MAGIC;
use nexus_virtio::queue::QueueAreas;
use nexus_virtio::{BlkTransport, DeviceStatus, DmaRange, Transport, VirtioBlk, VirtioMmioWindow};

fn window() -> (FakeDevice, VirtioMmioWindow) {
    let (dev, token) = FakeDevice::new(4096);
    (
        dev,
        VirtioMmioWindow::from_token(token).expect("4 KiB token"),
    )
}

fn identify(dev: &FakeDevice) {
    dev.write_u32(0x000, MAGIC);
    dev.write_u32(0x004, 2);
    dev.write_u32(0x008, 2);
}

fn reg64(dev: &FakeDevice, low: usize) -> u64 {
    u64::from(dev.read_u32(low + 4)) << 32 | u64::from(dev.read_u32(low))
}

#[test]
fn transport_operations_hit_their_registers() {
    let (dev, mut w) = window();
    identify(&dev);
    dev.write_u32(0x010, 0x1234);
    dev.write_u32(0x034, 512);
    dev.write_u32(0x100, 0x10);
    dev.write_u32(0x104, 0x2);
    assert_eq!((w.magic(), w.version(), w.device_id()), (MAGIC, 2, 2));
    assert_eq!(w.device_features(1), 0x1234);
    assert_eq!(dev.read_u32(0x014), 1);
    w.set_driver_features(1, 0x1);
    assert_eq!((dev.read_u32(0x024), dev.read_u32(0x020)), (1, 1));
    assert_eq!(w.queue_num_max(3), 512);
    assert_eq!(dev.read_u32(0x030), 3);
    assert!(!w.queue_ready(0));
    w.set_status(DeviceStatus::ACKNOWLEDGE);
    assert_eq!(Transport::status(&w), DeviceStatus::ACKNOWLEDGE);

    let areas = QueueAreas {
        desc: 0x1_0000_1000,
        driver: 0x1_0000_1400,
        device: 0x2_0000_1604,
    };
    w.activate_queue(0, 64, areas);
    assert_eq!(dev.read_u32(0x030), 0);
    assert_eq!(dev.read_u32(0x038), 64);
    assert_eq!(reg64(&dev, 0x080), areas.desc);
    assert_eq!(reg64(&dev, 0x090), areas.driver);
    assert_eq!(reg64(&dev, 0x0a0), areas.device);
    assert_eq!(dev.read_u32(0x044), 1);
    assert!(w.queue_ready(0));

    dev.write_u32(0x050, 0xffff_ffff);
    w.notify(0);
    assert_eq!(dev.read_u32(0x050), 0);
    assert_eq!(w.blk_capacity(), 0x2_0000_0010);
}

#[test]
fn blk_driver_runs_over_the_mmio_window() {
    let (dev, w) = window();
    identify(&dev);
    // RAM does not bank: both feature words read 1, so word 1 offers VERSION_1.
    dev.write_u32(0x010, 1);
    dev.write_u32(0x034, 64);
    dev.write_u32(0x100, 16);
    let mut bus = Bus::default();
    let mem = bus.alloc(1);
    let queue_addr = mem.device_addr(0).unwrap();
    let mut blk = VirtioBlk::new(w, mem).expect("init over the window");
    assert_eq!(
        dev.read_u32(0x070),
        0xf,
        "ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK"
    );
    assert_eq!(dev.read_u32(0x024), 1, "feature word 1 written last");
    assert_eq!(dev.read_u32(0x020), 1, "VERSION_1 accepted");
    assert_eq!(dev.read_u32(0x038), 64);
    assert_eq!(dev.read_u32(0x044), 1);
    assert_eq!(reg64(&dev, 0x080), queue_addr);
    assert_eq!(blk.capacity(), 16);

    let buf = bus.alloc(1);
    dev.write_u32(0x050, 0xffff_ffff);
    let id = blk
        .submit_read(3, DmaRange::new(&buf, 512, 1024).unwrap())
        .unwrap();
    assert_eq!(dev.read_u32(0x050), 0, "queue 0 notified");
    assert_eq!(blk.poll(), None);

    let areas = QueueAreas {
        desc: reg64(&dev, 0x080),
        driver: reg64(&dev, 0x090),
        device: reg64(&dev, 0x0a0),
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
