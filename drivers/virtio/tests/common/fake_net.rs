//! A virtio-net device in RAM behind the `Transport` trait, for host tests:
//! it records the frames sent on the transmitq and lets a test inject
//! frames into the buffers posted on the receiveq.
#![allow(dead_code)]

use std::cell::{RefCell, RefMut};
use std::rc::Rc;

use mmio_types::DmaRegion;
use nexus_virtio::mmio::MAGIC;
use nexus_virtio::net::{HDR_LEN, NetFeatures, NetTransport};
use nexus_virtio::queue::QueueAreas;
use nexus_virtio::{DeviceStatus, Features, InterruptStatus, Transport};

use crate::common::Bus;

pub const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// How the fake device behaves; tests change these to misbehave.
#[derive(Clone, Debug)]
pub struct NetBehaviour {
    pub device_id: u32,
    pub offered: u64,
    pub num_max: [u32; 2],
    /// Notifications of the transmitq do not process it: `process_tx` does.
    pub hold_tx: bool,
    /// Used id to report instead of the head (both queues).
    pub used_id: Option<u32>,
    /// Used length to report for received frames instead of the real one.
    pub rx_used_len: Option<u32>,
}

impl Default for NetBehaviour {
    fn default() -> Self {
        NetBehaviour {
            device_id: 1,
            offered: Features::VERSION_1.bits()
                | (NetFeatures::MAC
                    | NetFeatures::STATUS
                    | NetFeatures::CSUM
                    | NetFeatures::MRG_RXBUF)
                    .bits(),
            num_max: [256, 256],
            hold_tx: false,
            used_id: None,
            rx_used_len: None,
        }
    }
}

/// The device side of one split virtqueue whose chains are single descriptors.
#[derive(Clone, Copy, Debug)]
pub struct NetQueue {
    pub size: u16,
    pub areas: QueueAreas,
    pub last_avail: u16,
    pub used_idx: u16,
}

impl NetQueue {
    /// The next available buffer, if any: (head, addr, len, device-writable).
    fn take(&mut self, bus: &Bus) -> Option<(u16, u64, u32, bool)> {
        let avail_idx = bus.u16(self.areas.driver + 2);
        if self.last_avail == avail_idx {
            return None;
        }
        let slot = u64::from(self.last_avail % self.size);
        let head = bus.u16(self.areas.driver + 4 + 2 * slot);
        self.last_avail = self.last_avail.wrapping_add(1);
        assert!(head < self.size, "descriptor index {head} out of range");
        let base = self.areas.desc + 16 * u64::from(head);
        let flags = bus.u16(base + 12);
        assert_eq!(flags & 1, 0, "one descriptor per buffer");
        Some((head, bus.u64(base), bus.u32(base + 8), flags & 2 != 0))
    }

    fn push_used(&mut self, bus: &Bus, id: u32, len: u32) {
        let slot = u64::from(self.used_idx % self.size);
        let elem = self.areas.device + 4 + 8 * slot;
        bus.set_u32(elem, id);
        bus.set_u32(elem + 4, len);
        self.used_idx = self.used_idx.wrapping_add(1);
        bus.set_u16(self.areas.device + 2, self.used_idx);
    }

    /// Buffers made available and not yet taken.
    pub fn pending(&self, bus: &Bus) -> u16 {
        bus.u16(self.areas.driver + 2).wrapping_sub(self.last_avail)
    }
}

/// A frame the device took from the transmitq.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub header: [u8; HDR_LEN],
    pub frame: Vec<u8>,
}

/// The whole fake device.
pub struct NetState {
    pub behaviour: NetBehaviour,
    pub bus: Bus,
    pub status: DeviceStatus,
    pub status_writes: Vec<DeviceStatus>,
    pub driver_features: [u32; 2],
    pub queues: [Option<NetQueue>; 2],
    pub notifies: [usize; 2],
    /// `InterruptStatus` (set by tests; the net driver polls).
    pub isr: u32,
    pub sent: Vec<Sent>,
}

impl NetState {
    pub fn negotiated(&self) -> u64 {
        u64::from(self.driver_features[1]) << 32 | u64::from(self.driver_features[0])
    }

    /// Sends every frame made available on the transmitq.
    pub fn process_tx(&mut self) {
        let Some(mut q) = self.queues[1] else {
            return;
        };
        while let Some((head, addr, len, writable)) = q.take(&self.bus) {
            assert!(!writable, "transmit buffers are device-readable");
            assert!(len as usize >= HDR_LEN, "a transmit buffer holds a header");
            let mut bytes = vec![0; len as usize];
            self.bus.read(addr, &mut bytes);
            let mut header = [0; HDR_LEN];
            header.copy_from_slice(&bytes[..HDR_LEN]);
            self.sent.push(Sent {
                header,
                frame: bytes[HDR_LEN..].to_vec(),
            });
            let id = self.behaviour.used_id.unwrap_or(u32::from(head));
            q.push_used(&self.bus, id, 0);
        }
        self.queues[1] = Some(q);
    }

    /// Writes `frame` into the next posted receive buffer; false if none.
    pub fn inject(&mut self, frame: &[u8]) -> bool {
        let Some(mut q) = self.queues[0] else {
            return false;
        };
        let Some((head, addr, len, writable)) = q.take(&self.bus) else {
            return false;
        };
        assert!(writable, "receive buffers are device-writable");
        let total = HDR_LEN + frame.len();
        assert!(total <= len as usize, "frame larger than the posted buffer");
        let mut header = [0u8; HDR_LEN];
        header[10] = 1; // num_buffers
        self.bus.write(addr, &header);
        self.bus.write(addr + HDR_LEN as u64, frame);
        let id = self.behaviour.used_id.unwrap_or(u32::from(head));
        let used_len = self.behaviour.rx_used_len.unwrap_or(total as u32);
        q.push_used(&self.bus, id, used_len);
        self.queues[0] = Some(q);
        true
    }
}

/// The driver's handle on the fake device; clones share the device.
#[derive(Clone)]
pub struct FakeNet(pub Rc<RefCell<NetState>>);

impl FakeNet {
    pub fn new() -> FakeNet {
        FakeNet::with(|_| {})
    }

    pub fn with(f: impl FnOnce(&mut NetBehaviour)) -> FakeNet {
        let mut behaviour = NetBehaviour::default();
        f(&mut behaviour);
        FakeNet(Rc::new(RefCell::new(NetState {
            behaviour,
            bus: Bus::default(),
            status: DeviceStatus::empty(),
            status_writes: Vec::new(),
            driver_features: [0; 2],
            queues: [None, None],
            notifies: [0; 2],
            isr: 0,
            sent: Vec::new(),
        })))
    }

    pub fn state(&self) -> RefMut<'_, NetState> {
        self.0.borrow_mut()
    }

    pub fn alloc(&self, pages: usize) -> DmaRegion {
        self.state().bus.alloc(pages)
    }

    pub fn inject(&self, frame: &[u8]) -> bool {
        self.state().inject(frame)
    }

    pub fn process_tx(&self) {
        self.state().process_tx();
    }

    /// Receive buffers posted and not yet filled.
    pub fn rx_posted(&self) -> u16 {
        let s = self.0.borrow();
        s.queues[0].map_or(0, |q| q.pending(&s.bus))
    }
}

impl Transport for FakeNet {
    fn magic(&self) -> u32 {
        MAGIC
    }

    fn version(&self) -> u32 {
        2
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
            s.queues = [None, None];
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
            if !subset || !modern {
                status.remove(DeviceStatus::FEATURES_OK);
            }
        }
        s.status = status;
    }

    fn queue_num_max(&mut self, queue: u16) -> u32 {
        let s = self.0.borrow();
        s.behaviour
            .num_max
            .get(usize::from(queue))
            .copied()
            .unwrap_or(0)
    }

    fn queue_ready(&mut self, queue: u16) -> bool {
        self.0
            .borrow()
            .queues
            .get(usize::from(queue))
            .is_some_and(Option::is_some)
    }

    fn activate_queue(&mut self, queue: u16, size: u16, areas: QueueAreas) {
        let mut s = self.state();
        assert!(queue < 2, "only one queue pair");
        assert!(
            s.status.contains(DeviceStatus::FEATURES_OK),
            "queue set up before FEATURES_OK"
        );
        assert!(!s.status.contains(DeviceStatus::DRIVER_OK));
        let num_max = s.behaviour.num_max[usize::from(queue)];
        assert!(size.is_power_of_two() && u32::from(size) <= num_max);
        assert_eq!(areas.desc % 16, 0, "descriptor table alignment");
        assert_eq!(areas.driver % 2, 0, "available ring alignment");
        assert_eq!(areas.device % 4, 0, "used ring alignment");
        s.queues[usize::from(queue)] = Some(NetQueue {
            size,
            areas,
            last_avail: 0,
            used_idx: 0,
        });
    }

    fn notify(&mut self, queue: u16) {
        let mut s = self.state();
        assert!(queue < 2, "only one queue pair");
        assert!(
            s.status.contains(DeviceStatus::DRIVER_OK),
            "notified before DRIVER_OK"
        );
        s.notifies[usize::from(queue)] += 1;
        if queue == 1 && !s.behaviour.hold_tx {
            s.process_tx();
        }
    }

    fn config_generation(&self) -> u32 {
        0
    }

    fn interrupt_status(&self) -> InterruptStatus {
        InterruptStatus::from_bits_retain(self.0.borrow().isr)
    }

    fn ack_interrupt(&mut self, bits: InterruptStatus) {
        self.0.borrow_mut().isr &= !bits.bits();
    }
}

impl NetTransport for FakeNet {
    fn net_mac(&self) -> [u8; 6] {
        MAC
    }
}
