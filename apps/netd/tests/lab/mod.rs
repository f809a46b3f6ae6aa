//! A test network: netd's stack on the fake virtio-net device, the
//! service task's logic (`net_services::Services`) at the other end of
//! netd's stream channel, as in the system, and a peer (a second smoltcp
//! interface, standing for QEMU's user network at 10.0.2.2) wired to the
//! other side of that device.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::fmt;

use mmio_types::{DmaRegion, FakeDma};
use net_services::{Services, TaskInfo};
use netd::stack::{DHCP_WAIT_MS, STATIC_ADDRESS};
use netd::stream::StreamRelay;
use netd::{Netd, Source, Storage, SystemInfo};
use nexus_virtio::VirtioNet;
use ring_types::stream::{StreamClient, StreamLayout};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Address};

use crate::fake_net::FakeNet;

/// The peer's address and MAC.
pub const PEER: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
pub const PEER_MAC: [u8; 6] = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];

/// netd's view of the system in tests.
pub struct FakeSystem;

impl SystemInfo for FakeSystem {
    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(out, "capabilities of netd: lab")
    }
}

/// The service task's view of the system in tests.
pub struct FakeTask;

impl TaskInfo for FakeTask {
    fn describe(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(out, "tasks: lab")
    }
}

/// A channel's memory seen by both ends, and a third party's raw view
/// (`fake.peer_token()`).
pub fn channel(pages: usize) -> (FakeDma, DmaRegion, DmaRegion) {
    let (fake, token) = FakeDma::new(pages).expect("fake pages");
    let peer = fake.peer_token();
    (fake, DmaRegion::new(token), DmaRegion::new(peer))
}

/// The stream channel: netd's relay and the services at its two ends.
pub struct Stream {
    pub fake: FakeDma,
    pub relay: StreamRelay,
    pub services: Services,
}

/// The peer's side of the wire: frames netd sent come in, frames the peer
/// sends are injected into netd's receive queue (dropped if none is
/// posted, as a full NIC would).
pub struct Wire {
    pub fake: FakeNet,
    pub rx: VecDeque<Vec<u8>>,
    /// Every frame the peer sent, if recording.
    pub recorded: Option<Vec<Vec<u8>>>,
}

pub struct PeerRx(Vec<u8>);
pub struct PeerTx<'a>(&'a FakeNet, &'a mut Option<Vec<Vec<u8>>>);

impl phy::RxToken for PeerRx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for PeerTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.inject(&buf);
        if let Some(rec) = self.1 {
            rec.push(buf);
        }
        r
    }
}

impl Device for Wire {
    type RxToken<'a> = PeerRx;
    type TxToken<'a> = PeerTx<'a>;

    fn receive(&mut self, _: Instant) -> Option<(PeerRx, PeerTx<'_>)> {
        self.rx
            .extend(self.fake.state().sent.drain(..).map(|s| s.frame));
        let mut frame = self.rx.pop_front()?;
        // A switch that floods: a frame netd addressed to another MAC (the
        // fuzz tests may have taught it a wrong one for the peer, as any
        // host on a LAN can with ARP) still reaches the peer.
        if frame.len() >= 6 && frame[..6] != [0xff; 6] {
            frame[..6].copy_from_slice(&PEER_MAC);
        }
        Some((PeerRx(frame), PeerTx(&self.fake, &mut self.recorded)))
    }

    fn transmit(&mut self, _: Instant) -> Option<PeerTx<'_>> {
        Some(PeerTx(&self.fake, &mut self.recorded))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

/// netd and a peer on one wire, with a shared clock.
pub struct Lab {
    pub fake: FakeNet,
    pub netd: Netd<'static, FakeNet>,
    pub wire: Wire,
    pub peer: Interface,
    pub sockets: SocketSet<'static>,
    pub now_ms: u64,
    /// The stream channel, while netd serves it (`None` once dropped).
    pub stream: Option<Stream>,
}

impl Lab {
    /// netd up on the fake device, past the DHCP wait (no DHCP server on
    /// this wire), on its static address, with the services at the other
    /// end of its stream channel.
    pub fn new() -> Lab {
        let mut lab = Lab::without_services();
        let (fake, netd_end, task_end) = channel(StreamLayout::PAGES);
        let relay = StreamRelay::new(netd_end, &mut lab.netd, 0).expect("the relay");
        let services = Services::new(StreamClient::new(task_end).unwrap()).unwrap();
        lab.stream = Some(Stream {
            fake,
            relay,
            services,
        });
        lab
    }

    /// netd alone: no service task at the other end of its stream channel
    /// (TCP 7 and 80 do not listen).
    pub fn without_services() -> Lab {
        let fake = FakeNet::new();
        let rx = fake.alloc(8);
        let tx = fake.alloc(8);
        let net = VirtioNet::new(fake.clone(), rx, tx).expect("init");
        let storage = Box::leak(Box::new(Storage::new()));
        let netd = Netd::new(net, storage, 0, 0x1234_5678);
        let mut wire = Wire {
            fake: fake.clone(),
            rx: VecDeque::new(),
            recorded: None,
        };
        let mut config = Config::new(EthernetAddress(PEER_MAC).into());
        config.random_seed = 99;
        let mut peer = Interface::new(config, &mut wire, Instant::from_millis(0));
        peer.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::Ipv4(PEER), 24)).unwrap();
        });
        let storage: &'static mut [SocketStorage<'static>] =
            Box::leak((0..80).map(|_| SocketStorage::EMPTY).collect());
        let mut lab = Lab {
            fake,
            netd,
            wire,
            peer,
            sockets: SocketSet::new(storage),
            now_ms: 0,
            stream: None,
        };
        lab.run_for(DHCP_WAIT_MS + 10);
        let a = lab.netd.address().expect("an address after the DHCP wait");
        assert_eq!((a.cidr, a.source), (STATIC_ADDRESS, Source::Static));
        lab
    }

    /// One millisecond: netd polls and serves its stream channel (whose
    /// client answers at once, as a task woken by netd's signal would),
    /// the peer polls.
    pub fn step(&mut self) {
        self.now_ms += 1;
        let now = Instant::from_millis(self.now_ms as i64);
        self.netd.poll(self.now_ms);
        self.serve_stream();
        self.peer.poll(now, &mut self.wire, &mut self.sockets);
        assert!(
            self.netd.nic().broken().is_none(),
            "the device was given up on"
        );
    }

    /// The stream relay and its client, round after round while there is
    /// work (as netd's task loop does before it sleeps).
    pub fn serve_stream(&mut self) {
        let Some(st) = self.stream.as_mut() else {
            return;
        };
        for _ in 0..100 {
            let served = st
                .relay
                .serve(&mut self.netd, &FakeSystem)
                .expect("the relay serves");
            if served.flush {
                self.netd.flush(self.now_ms);
            }
            let answered = st
                .services
                .step(self.now_ms, &FakeTask)
                .expect("the services answer");
            if served.work == 0 && answered == 0 {
                return;
            }
        }
        panic!("the stream channel did not settle in 100 rounds");
    }

    /// What the services at the other end of the stream channel did.
    pub fn services(&self) -> net_services::ServiceStats {
        self.stream
            .as_ref()
            .map(|st| st.services.stats())
            .unwrap_or_default()
    }

    pub fn run_for(&mut self, ms: u64) {
        for _ in 0..ms {
            self.step();
        }
    }

    /// Steps until `done` holds, at most `ms` milliseconds; whether it did.
    pub fn run_until(&mut self, ms: u64, mut done: impl FnMut(&mut Lab) -> bool) -> bool {
        for _ in 0..ms {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    fn tcp_socket(&mut self, len: usize) -> SocketHandle {
        let rx = tcp::SocketBuffer::new(vec![0; len]);
        let tx = tcp::SocketBuffer::new(vec![0; len]);
        self.sockets.add(tcp::Socket::new(rx, tx))
    }

    /// Opens a TCP connection from the peer to netd's `port`; the handle,
    /// once established (`None` if it was refused or timed out).
    pub fn connect(&mut self, port: u16, local_port: u16) -> Option<SocketHandle> {
        let h = self.tcp_socket(64 * 1024);
        let cx = self.peer.context();
        self.sockets
            .get_mut::<tcp::Socket>(h)
            .connect(
                cx,
                (IpAddress::Ipv4(STATIC_ADDRESS.address()), port),
                local_port,
            )
            .expect("connect");
        let ok = self.run_until(2_000, |lab| {
            let s = lab.sockets.get_mut::<tcp::Socket>(h);
            s.may_send() || !s.is_open()
        });
        let up = ok && self.sockets.get_mut::<tcp::Socket>(h).may_send();
        if !up {
            self.sockets.remove(h);
        }
        up.then_some(h)
    }

    /// Sends `data` on a connection to port 7, closes, and reads the echo
    /// until netd closes too; the bytes received.
    pub fn tcp_echo(&mut self, data: &[u8], local_port: u16) -> Option<Vec<u8>> {
        let h = self.connect(7, local_port)?;
        let mut sent = 0;
        let mut got = Vec::new();
        let done = self.run_until(60_000, |lab| {
            let s = lab.sockets.get_mut::<tcp::Socket>(h);
            if sent < data.len() && s.can_send() {
                sent += s.send_slice(&data[sent..]).unwrap_or(0);
                if sent == data.len() {
                    s.close();
                }
            }
            while s.can_recv() {
                let mut buf = [0u8; 4096];
                let n = s.recv_slice(&mut buf).unwrap_or(0);
                got.extend_from_slice(&buf[..n]);
            }
            sent == data.len() && !s.may_recv()
        });
        self.sockets.remove(h);
        done.then_some(got)
    }

    /// Sends `request` to port 80 and returns the whole answer.
    pub fn http(&mut self, request: &[u8], local_port: u16) -> Option<Vec<u8>> {
        let h = self.connect(80, local_port)?;
        self.sockets
            .get_mut::<tcp::Socket>(h)
            .send_slice(request)
            .ok()?;
        let mut got = Vec::new();
        let done = self.run_until(5_000, |lab| {
            let s = lab.sockets.get_mut::<tcp::Socket>(h);
            while s.can_recv() {
                let mut buf = [0u8; 4096];
                let n = s.recv_slice(&mut buf).unwrap_or(0);
                got.extend_from_slice(&buf[..n]);
            }
            !s.may_recv()
        });
        let s = self.sockets.get_mut::<tcp::Socket>(h);
        s.close();
        self.run_for(5);
        self.sockets.remove(h);
        done.then_some(got)
    }

    /// Sends one datagram to UDP port 7 and waits for the echo.
    pub fn udp_echo(&mut self, payload: &[u8], local_port: u16) -> Option<Vec<u8>> {
        self.udp_exchange(payload, local_port, 7, |_| {})
    }

    /// Sends `payload` from the peer's `local_port` to netd's `port`,
    /// running `between` every millisecond (whatever else must run, such
    /// as a relay and its client); the answer, if one came within 2 s.
    pub fn udp_exchange(
        &mut self,
        payload: &[u8],
        local_port: u16,
        port: u16,
        mut between: impl FnMut(&mut Lab),
    ) -> Option<Vec<u8>> {
        let meta = || vec![smoltcp::storage::PacketMetadata::EMPTY; 4];
        let rx = udp::PacketBuffer::new(meta(), vec![0; 4096]);
        let tx = udp::PacketBuffer::new(meta(), vec![0; 4096]);
        let h = self.sockets.add(udp::Socket::new(rx, tx));
        let s = self.sockets.get_mut::<udp::Socket>(h);
        s.bind(local_port).unwrap();
        let to = IpEndpoint::new(IpAddress::Ipv4(STATIC_ADDRESS.address()), port);
        s.send_slice(payload, to).unwrap();
        let mut got = None;
        self.run_until(2_000, |lab| {
            between(lab);
            let s = lab.sockets.get_mut::<udp::Socket>(h);
            if let Ok((data, _)) = s.recv() {
                got = Some(data.to_vec());
            }
            got.is_some()
        });
        self.sockets.remove(h);
        got
    }
}
