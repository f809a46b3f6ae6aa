//! A virtio-blk device in RAM behind the `Transport` trait, for host tests.
#![allow(dead_code)]

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use mmio_types::{DmaRegion, FakeDma};
use nexus_virtio::blk::BlkFeatures;
use nexus_virtio::mmio::MAGIC;
use nexus_virtio::queue::QueueAreas;
use nexus_virtio::{BlkTransport, DeviceStatus, Features, InterruptStatus, Transport};

/// The `Status` writes of a successful initialisation, in order.
pub const INIT_SEQUENCE: [DeviceStatus; 5] = [
    DeviceStatus::empty(),
    DeviceStatus::ACKNOWLEDGE,
    DeviceStatus::ACKNOWLEDGE.union(DeviceStatus::DRIVER),
    DeviceStatus::ACKNOWLEDGE
        .union(DeviceStatus::DRIVER)
        .union(DeviceStatus::FEATURES_OK),
    DeviceStatus::ACKNOWLEDGE
        .union(DeviceStatus::DRIVER)
        .union(DeviceStatus::FEATURES_OK)
        .union(DeviceStatus::DRIVER_OK),
];

pub const T_IN: u32 = 0;
pub const T_OUT: u32 = 1;
pub const T_FLUSH: u32 = 4;

/// How the fake device behaves; tests change these to misbehave.
#[derive(Clone, Debug)]
pub struct Behaviour {
    pub magic: u32,
    pub version: u32,
    pub device_id: u32,
    pub offered: u64,
    pub refuse_features_ok: bool,
    pub num_max: u32,
    pub queue_ready_at_start: bool,
    /// Notifications do not process the queue: `process` does, later.
    pub hold: bool,
    /// Ask the driver not to notify (`used.flags` = NO_NOTIFY).
    pub no_notify: bool,
    /// Status byte to write instead of the real outcome.
    pub status_override: Option<u8>,
    /// Leave the status byte untouched.
    pub skip_status: bool,
    /// Used id to report instead of the head.
    pub used_id: Option<u32>,
    /// Used length to report instead of the bytes written.
    pub used_len: Option<u32>,
    /// Extra amount to move `used.idx` by, past the entries written.
    pub used_idx_skew: u16,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            magic: MAGIC,
            version: 2,
            device_id: 2,
            offered: Features::VERSION_1.bits() | BlkFeatures::FLUSH.bits() | 1 << 6,
            refuse_features_ok: false,
            num_max: 256,
            queue_ready_at_start: false,
            hold: false,
            no_notify: false,
            status_override: None,
            skip_status: false,
            used_id: None,
            used_len: None,
            used_idx_skew: 0,
        }
    }
}

/// One request as the device saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub kind: u32,
    pub sector: u64,
    pub data_len: usize,
    pub descriptors: usize,
}

/// The DMA buffers the fake device can reach, by device address.
#[derive(Default)]
pub struct Bus {
    pub regions: Vec<FakeDma>,
}

impl Bus {
    /// A fresh DMA region of `pages` pages the device can reach.
    pub fn alloc(&mut self, pages: usize) -> DmaRegion {
        let (dev, token) = FakeDma::new(pages).expect("fake DMA pool");
        self.regions.push(dev);
        DmaRegion::new(token)
    }

    fn at(&self, addr: u64, len: usize) -> &FakeDma {
        self.regions
            .iter()
            .find(|r| r.contains(addr, len))
            .unwrap_or_else(|| panic!("device access {addr:#x}+{len} outside every DMA buffer"))
    }

    pub fn read(&self, addr: u64, buf: &mut [u8]) {
        self.at(addr, buf.len()).read(addr, buf);
    }
    pub fn write(&self, addr: u64, data: &[u8]) {
        self.at(addr, data.len()).write(addr, data);
    }
    pub fn u16(&self, addr: u64) -> u16 {
        self.at(addr, 2).read_u16(addr)
    }
    pub fn u32(&self, addr: u64) -> u32 {
        self.at(addr, 4).read_u32(addr)
    }
    pub fn u64(&self, addr: u64) -> u64 {
        self.at(addr, 8).read_u64(addr)
    }
    pub fn set_u16(&self, addr: u64, v: u16) {
        self.at(addr, 2).write_u16(addr, v);
    }
    pub fn set_u32(&self, addr: u64, v: u32) {
        self.at(addr, 4).write_u32(addr, v);
    }
}

/// The device side of one split virtqueue of a block device.
#[derive(Clone, Copy, Debug)]
pub struct DeviceQueue {
    pub size: u16,
    pub areas: QueueAreas,
    pub last_avail: u16,
    pub used_idx: u16,
}

/// What processing a request needs besides the queue.
pub struct Disk<'a> {
    pub bytes: &'a mut [u8],
    pub flush_negotiated: bool,
    pub behaviour: &'a Behaviour,
    pub seen: &'a mut Vec<Seen>,
}

impl DeviceQueue {
    pub fn new(size: u16, areas: QueueAreas) -> Self {
        DeviceQueue {
            size,
            areas,
            last_avail: 0,
            used_idx: 0,
        }
    }

    /// Performs every request made available since the last call.
    pub fn process(&mut self, bus: &Bus, disk: &mut Disk<'_>) {
        let q = self.areas;
        let avail_idx = bus.u16(q.driver + 2);
        while self.last_avail != avail_idx {
            let slot = u64::from(self.last_avail % self.size);
            let head = bus.u16(q.driver + 4 + 2 * slot);
            self.last_avail = self.last_avail.wrapping_add(1);
            let chain = self.chain(bus, head);
            let written = perform(bus, &chain, disk);
            let b = disk.behaviour;
            let slot = u64::from(self.used_idx % self.size);
            let elem = q.device + 4 + 8 * slot;
            bus.set_u32(elem, b.used_id.unwrap_or(u32::from(head)));
            bus.set_u32(elem + 4, b.used_len.unwrap_or(written));
            self.used_idx = self.used_idx.wrapping_add(1).wrapping_add(b.used_idx_skew);
            bus.set_u16(q.device + 2, self.used_idx);
        }
    }

    /// The descriptors of the chain at `head`: (addr, len, device-writable).
    fn chain(&self, bus: &Bus, head: u16) -> Vec<(u64, u32, bool)> {
        let mut out = Vec::new();
        let mut d = head;
        loop {
            assert!(d < self.size, "descriptor index {d} out of range");
            assert!(out.len() < usize::from(self.size), "descriptor loop");
            let base = self.areas.desc + 16 * u64::from(d);
            let flags = bus.u16(base + 12);
            out.push((bus.u64(base), bus.u32(base + 8), flags & 2 != 0));
            if flags & 1 == 0 {
                return out;
            }
            d = bus.u16(base + 14);
        }
    }
}

/// Carries out one request; returns the bytes written to the chain.
fn perform(bus: &Bus, chain: &[(u64, u32, bool)], disk: &mut Disk<'_>) -> u32 {
    assert!(chain.len() >= 2, "a request has a header and a status");
    let (hdr, hdr_len, hdr_w) = chain[0];
    assert_eq!((hdr_len, hdr_w), (16, false), "header descriptor");
    let (st, st_len, st_w) = *chain.last().unwrap();
    assert_eq!((st_len, st_w), (1, true), "status descriptor");
    let kind = bus.u32(hdr);
    assert_eq!(bus.u32(hdr + 4), 0, "reserved header field");
    let sector = bus.u64(hdr + 8);
    let data = &chain[1..chain.len() - 1];
    let data_len: usize = data.iter().map(|d| d.1 as usize).sum();
    disk.seen.push(Seen {
        kind,
        sector,
        data_len,
        descriptors: chain.len(),
    });
    let mut written = 0;
    let start = sector as usize * 512;
    let in_range = start
        .checked_add(data_len)
        .is_some_and(|end| end <= disk.bytes.len());
    let mut status = match kind {
        T_IN | T_OUT if !in_range => 1,
        T_IN => {
            let mut at = start;
            for &(addr, len, w) in data {
                assert!(w, "read data must be device-writable");
                bus.write(addr, &disk.bytes[at..at + len as usize]);
                at += len as usize;
                written += len;
            }
            0
        }
        T_OUT => {
            let mut at = start;
            for &(addr, len, w) in data {
                assert!(!w, "write data must be device-readable");
                bus.read(addr, &mut disk.bytes[at..at + len as usize]);
                at += len as usize;
            }
            0
        }
        T_FLUSH if disk.flush_negotiated => 0,
        _ => 2,
    };
    if let Some(s) = disk.behaviour.status_override {
        status = s;
    }
    if !disk.behaviour.skip_status {
        bus.write(st, &[status]);
    }
    written + 1
}

/// The whole fake device.
pub struct State {
    pub behaviour: Behaviour,
    pub disk: Vec<u8>,
    pub bus: Bus,
    pub status: DeviceStatus,
    pub status_writes: Vec<DeviceStatus>,
    pub driver_features: [u32; 2],
    pub queue: Option<DeviceQueue>,
    pub notifies: usize,
    pub seen: Vec<Seen>,
    /// `InterruptStatus`: set when the device uses buffers while the
    /// driver wants interrupts, cleared by `InterruptACK`.
    pub isr: u32,
    /// Every `InterruptACK` write.
    pub acks: Vec<u32>,
}

impl State {
    fn negotiated(&self) -> u64 {
        u64::from(self.driver_features[1]) << 32 | u64::from(self.driver_features[0])
    }

    pub fn process(&mut self) {
        let flush_negotiated = self.negotiated() & BlkFeatures::FLUSH.bits() != 0;
        let Some(queue) = self.queue.as_mut() else {
            return;
        };
        let mut disk = Disk {
            bytes: &mut self.disk,
            flush_negotiated,
            behaviour: &self.behaviour,
            seen: &mut self.seen,
        };
        let before = queue.used_idx;
        queue.process(&self.bus, &mut disk);
        // The available ring's flags: bit 0 is NO_INTERRUPT.
        let wants_interrupts = self.bus.u16(queue.areas.driver) & 1 == 0;
        if queue.used_idx != before && wants_interrupts {
            self.isr |= 1;
        }
    }
}

/// The driver's handle on the fake device; clones share the device.
#[derive(Clone)]
pub struct FakeBlk(pub Rc<RefCell<State>>);

impl FakeBlk {
    /// A device of `sectors` sectors whose bytes are a pattern.
    pub fn new(sectors: usize) -> FakeBlk {
        FakeBlk::with(sectors, |_| {})
    }

    /// As [`FakeBlk::new`], with the behaviour adjusted by `f`.
    pub fn with(sectors: usize, f: impl FnOnce(&mut Behaviour)) -> FakeBlk {
        let mut behaviour = Behaviour::default();
        f(&mut behaviour);
        let disk = (0..sectors * 512)
            .map(|i| (i * 7 + i / 512) as u8)
            .collect();
        FakeBlk(Rc::new(RefCell::new(State {
            behaviour,
            disk,
            bus: Bus::default(),
            status: DeviceStatus::empty(),
            status_writes: Vec::new(),
            driver_features: [0; 2],
            queue: None,
            notifies: 0,
            seen: Vec::new(),
            isr: 0,
            acks: Vec::new(),
        })))
    }

    pub fn state(&self) -> RefMut<'_, State> {
        self.0.borrow_mut()
    }

    /// A DMA region the device can reach.
    pub fn alloc(&self, pages: usize) -> DmaRegion {
        self.state().bus.alloc(pages)
    }

    /// Performs the pending requests (for a device in `hold` mode).
    pub fn process(&self) {
        self.state().process();
    }
}

impl Transport for FakeBlk {
    fn magic(&self) -> u32 {
        self.0.borrow().behaviour.magic
    }

    fn version(&self) -> u32 {
        self.0.borrow().behaviour.version
    }

    fn device_id(&self) -> u32 {
        self.0.borrow().behaviour.device_id
    }

    fn device_features(&mut self, word: u32) -> u32 {
        let offered = self.0.borrow().behaviour.offered;
        match word {
            0 => offered as u32,
            1 => (offered >> 32) as u32,
            _ => 0,
        }
    }

    fn set_driver_features(&mut self, word: u32, bits: u32) {
        let mut s = self.state();
        assert!(
            !s.status.contains(DeviceStatus::FEATURES_OK),
            "features written after FEATURES_OK"
        );
        s.driver_features[word as usize] = bits;
    }

    fn status(&self) -> DeviceStatus {
        self.0.borrow().status
    }

    fn set_status(&mut self, status: DeviceStatus) {
        let mut s = self.state();
        s.status_writes.push(status);
        if status.is_empty() {
            s.queue = None;
            s.driver_features = [0; 2];
            s.status = status;
            return;
        }
        let mut status = status;
        if status.contains(DeviceStatus::FEATURES_OK)
            && !s.status.contains(DeviceStatus::FEATURES_OK)
        {
            let accepted = s.negotiated();
            let subset = accepted & !s.behaviour.offered == 0;
            let modern = accepted & Features::VERSION_1.bits() != 0;
            if s.behaviour.refuse_features_ok || !subset || !modern {
                status.remove(DeviceStatus::FEATURES_OK);
            }
        }
        s.status = status;
    }

    fn queue_num_max(&mut self, queue: u16) -> u32 {
        if queue == 0 {
            self.0.borrow().behaviour.num_max
        } else {
            0
        }
    }

    fn queue_ready(&mut self, _queue: u16) -> bool {
        let s = self.0.borrow();
        s.behaviour.queue_ready_at_start || s.queue.is_some()
    }

    fn activate_queue(&mut self, queue: u16, size: u16, areas: QueueAreas) {
        let mut s = self.state();
        assert_eq!(queue, 0);
        assert!(
            s.status.contains(DeviceStatus::FEATURES_OK),
            "queue set up before FEATURES_OK"
        );
        assert!(size.is_power_of_two() && u32::from(size) <= s.behaviour.num_max);
        assert_eq!(areas.desc % 16, 0, "descriptor table alignment");
        assert_eq!(areas.driver % 2, 0, "available ring alignment");
        assert_eq!(areas.device % 4, 0, "used ring alignment");
        if s.behaviour.no_notify {
            s.bus.set_u16(areas.device, 1);
        }
        s.queue = Some(DeviceQueue::new(size, areas));
    }

    fn notify(&mut self, queue: u16) {
        assert_eq!(queue, 0);
        let mut s = self.state();
        assert!(
            s.status.contains(DeviceStatus::DRIVER_OK),
            "notified before DRIVER_OK"
        );
        s.notifies += 1;
        if !s.behaviour.hold {
            s.process();
        }
    }

    fn config_generation(&self) -> u32 {
        0
    }

    fn interrupt_status(&self) -> InterruptStatus {
        InterruptStatus::from_bits_retain(self.0.borrow().isr)
    }

    fn ack_interrupt(&mut self, bits: InterruptStatus) {
        let mut s = self.state();
        s.acks.push(bits.bits());
        s.isr &= !bits.bits();
    }
}

impl BlkTransport for FakeBlk {
    fn blk_capacity(&self) -> u64 {
        (self.0.borrow().disk.len() / 512) as u64
    }
}
