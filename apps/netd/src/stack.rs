//! The TCP/IP stack (smoltcp) on the virtio-net driver, the service netd
//! answers itself (UDP echo on port 7), and the sockets of the ports that
//! service tasks answer through channels: UDP 7007 and 7008 (`crate::relay`)
//! and TCP 7, 80 and 8 (`crate::stream`).
//!
//! Everything here is plain code over a [`NetTransport`], so the host tests
//! drive it through a fake device exactly as the task drives the real one.
//! [`Netd::poll`] does one round of work and never blocks: the task decides
//! how to wait between rounds ([`Netd::poll_delay_ms`] says how long it may).
//!
//! Memory is fixed: the caller hands in one [`Storage`] (a `static` in the
//! task), carved into socket buffers at start. No allocator is needed.

use core::fmt::{self, Write};

use nexus_virtio::VirtioNet;
use nexus_virtio::net::NetTransport;
use ring_types::dgram::Endpoint;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::{dhcpv4, tcp, udp};
use smoltcp::storage::PacketMetadata;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Address, Ipv4Cidr};

use crate::device::{LinkStats, Mac, Nic};

/// The echo port (TCP and UDP).
pub const ECHO_PORT: u16 = 7;
/// The HTTP port.
pub const HTTP_PORT: u16 = 80;

/// The address used when no DHCP lease arrives within [`DHCP_WAIT_MS`]:
/// the guest address of QEMU's user network.
pub const STATIC_ADDRESS: Ipv4Cidr = Ipv4Cidr::new(Ipv4Address::new(10, 0, 2, 15), 24);
/// The gateway used with [`STATIC_ADDRESS`].
pub const STATIC_GATEWAY: Ipv4Address = Ipv4Address::new(10, 0, 2, 2);
/// The static fallback configuration.
const STATIC: Address = Address {
    cidr: STATIC_ADDRESS,
    gateway: Some(STATIC_GATEWAY),
    source: Source::Static,
};
/// How long to wait for a DHCP lease before using the static address (DHCP
/// keeps trying, and a later lease replaces it).
pub const DHCP_WAIT_MS: u64 = 5_000;

/// TCP sockets on the echo port with large buffers. Listening sockets take
/// connections in order, so a lone bulk transfer gets one of these.
pub const BIG_ECHO_SOCKETS: usize = 4;
/// TCP sockets on the echo port with small buffers, for many concurrent
/// connections.
pub const SMALL_ECHO_SOCKETS: usize = 56;
/// TCP connections on the echo port at once.
pub const ECHO_SOCKETS: usize = BIG_ECHO_SOCKETS + SMALL_ECHO_SOCKETS;
/// TCP connections on the HTTP port at once.
pub const HTTP_SOCKETS: usize = 8;
/// The port of netd's second stream channel. In the standard system its
/// client is `stream-garbage`, a hostile task that corrupts its ring, so
/// that dropping a stream client is tested on the target while the first
/// channel's services go on.
pub const SECOND_STREAM_PORT: u16 = 8;
/// TCP connections on that port at once.
pub const SECOND_STREAM_SOCKETS: usize = 1;
/// The TCP sockets the stream channels serve (`crate::stream`): the echo
/// port's, then the HTTP port's (the first channel's), then the second
/// channel's.
pub const STREAM_SOCKETS: usize = ECHO_SOCKETS + HTTP_SOCKETS + SECOND_STREAM_SOCKETS;
/// Stream channels.
pub const STREAM_CHANNELS: usize = 2;
/// The stream sockets of each stream channel, first and end: TCP 7 and 80,
/// then [`SECOND_STREAM_PORT`].
pub const STREAM_RANGES: [(usize, usize); STREAM_CHANNELS] = [
    (0, ECHO_SOCKETS + HTTP_SOCKETS),
    (ECHO_SOCKETS + HTTP_SOCKETS, STREAM_SOCKETS),
];
/// UDP ports whose datagrams service tasks answer through channels
/// (`crate::relay`): one socket each, owned by netd.
pub const RELAY_PORTS: [u16; RELAYS] = [7007, 7008, 7009];
/// Relay sockets.
pub const RELAYS: usize = 3;
/// Every socket: the stream sockets, UDP echo, the relays and the DHCP
/// client.
pub const SOCKETS: usize = STREAM_SOCKETS + 2 + RELAYS;

const BIG_BUF: usize = 16 * 1024;
const SMALL_BUF: usize = 2 * 1024;
const HTTP_RX: usize = 1024;
const HTTP_TX: usize = 4096;
const UDP_PACKETS: usize = 16;
const UDP_BYTES: usize = 16 * 1024;
const RELAY_PACKETS: usize = 8;
const RELAY_BYTES: usize = 8 * 1024;
/// Bytes of socket buffers in all.
pub const ARENA: usize = BIG_ECHO_SOCKETS * 2 * BIG_BUF
    + SMALL_ECHO_SOCKETS * 2 * SMALL_BUF
    + HTTP_SOCKETS * (HTTP_RX + HTTP_TX)
    + SECOND_STREAM_SOCKETS * 2 * SMALL_BUF
    + 2 * UDP_BYTES
    + RELAYS * 2 * RELAY_BYTES;

/// How long a TCP peer may stay silent while data (or a SYN-ACK) is
/// unacknowledged, or across keep-alive probes, before the connection is
/// aborted: half-open connections do not hold a socket for long.
const TCP_TIMEOUT: Duration = Duration::from_secs(15);
/// Idle time after which a keep-alive probes the peer. It must be well
/// under [`TCP_TIMEOUT`]: with keep-alive on, a peer silent for the timeout
/// is taken for gone, and a healthy idle peer only answers probes.
const TCP_KEEP_ALIVE: Duration = Duration::from_secs(5);

/// The memory of the stack's sockets.
pub struct Storage<'a> {
    sockets: [SocketStorage<'a>; SOCKETS],
    udp_rx_meta: [PacketMetadata<udp::UdpMetadata>; UDP_PACKETS],
    udp_tx_meta: [PacketMetadata<udp::UdpMetadata>; UDP_PACKETS],
    relay_meta: [[PacketMetadata<udp::UdpMetadata>; RELAY_PACKETS]; 2 * RELAYS],
    bytes: [u8; ARENA],
}

impl Storage<'_> {
    /// Empty storage (a constant, so the task can keep it in a `static`).
    pub const fn new() -> Self {
        Storage {
            sockets: [SocketStorage::EMPTY; SOCKETS],
            udp_rx_meta: [PacketMetadata::EMPTY; UDP_PACKETS],
            udp_tx_meta: [PacketMetadata::EMPTY; UDP_PACKETS],
            relay_meta: [[PacketMetadata::EMPTY; RELAY_PACKETS]; 2 * RELAYS],
            bytes: [0; ARENA],
        }
    }
}

impl Default for Storage<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the address in use came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A DHCP lease.
    Dhcp,
    /// The static fallback.
    Static,
}

/// The interface's IPv4 configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address {
    /// Address and prefix.
    pub cidr: Ipv4Cidr,
    /// Default gateway, if any.
    pub gateway: Option<Ipv4Address>,
    /// Where it came from.
    pub source: Source,
}

/// What happened in one [`Netd::poll`] that the task may want to report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Events {
    /// Frames moved or a socket changed: poll again at once.
    pub busy: bool,
    /// The address changed to this (a lease, or the fallback).
    pub configured: Option<Address>,
    /// A DHCP lease was lost.
    pub lease_lost: bool,
    /// UDP datagrams echoed in this round.
    pub udp_echoed: u64,
    /// Frames other than the echoed datagrams arrived in this round (TCP,
    /// ARP, DHCP, datagrams to a relay port).
    pub other_frames: bool,
}

/// What the services have done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// UDP datagrams echoed.
    pub udp_datagrams: u64,
    /// UDP datagrams that could not be echoed (no room to send).
    pub udp_dropped: u64,
    /// Datagrams handed to service tasks through relays.
    pub relay_received: u64,
    /// Datagrams service tasks sent through relays.
    pub relay_sent: u64,
    /// Datagrams to a relay port dropped (larger than a relay buffer, or
    /// no room to send).
    pub relay_dropped: u64,
    /// Instructions of the rounds that echoed UDP datagrams and did no
    /// other service work, as the task measured them
    /// ([`Netd::note_udp_cost`]).
    pub udp_cost_instructions: u64,
    /// The datagrams those rounds echoed.
    pub udp_cost_datagrams: u64,
    /// `instret` that passed in netd's sleeps ended by its device's
    /// interrupt, from the `wait` to the interrupt
    /// ([`Netd::note_sleep`]): under `-icount` QEMU's `instret` is its
    /// virtual clock, which also moves while the hart waits for the host,
    /// and this is most of that waiting.
    pub sleep_instret: u64,
}

/// What the task knows of the system beyond the stack, for its status
/// (its capabilities: the device it drives).
pub trait SystemInfo {
    /// Writes it as lines of text.
    fn describe(&self, out: &mut dyn Write) -> fmt::Result;
}

/// The stack, its sockets and the services' state.
pub struct Netd<'a, T: NetTransport> {
    nic: Nic<T>,
    iface: Interface,
    sockets: SocketSet<'a>,
    dhcp: SocketHandle,
    udp: SocketHandle,
    relays: [SocketHandle; RELAYS],
    stream: [SocketHandle; STREAM_SOCKETS],
    address: Option<Address>,
    started_ms: u64,
    stats: ServiceStats,
}

/// Takes the first `n` bytes off `arena`.
fn carve<'a>(arena: &mut &'a mut [u8], n: usize) -> &'a mut [u8] {
    let (head, tail) = core::mem::take(arena).split_at_mut(n);
    *arena = tail;
    head
}

impl<'a, T: NetTransport> Netd<'a, T> {
    /// Builds the stack on an initialised driver: the interface with the
    /// card's MAC address, a DHCP client, the UDP sockets bound; the stream
    /// sockets stay closed until [`stream_listen`](Self::stream_listen). `seed` seeds the stack's choices (initial sequence
    /// numbers, ports); `now_ms` is the current time.
    pub fn new(net: VirtioNet<T>, storage: &'a mut Storage<'a>, now_ms: u64, seed: u64) -> Self {
        let mut nic = Nic::new(net);
        let mut config = Config::new(EthernetAddress(nic.driver().mac()).into());
        config.random_seed = seed;
        let iface = Interface::new(config, &mut nic, instant(now_ms));

        let Storage {
            sockets,
            udp_rx_meta,
            udp_tx_meta,
            relay_meta,
            bytes,
        } = storage;
        let mut arena: &'a mut [u8] = &mut bytes[..];
        let mut set = SocketSet::new(&mut sockets[..]);
        let dhcp = set.add(dhcpv4::Socket::new());
        let udp_rx = udp::PacketBuffer::new(&mut udp_rx_meta[..], carve(&mut arena, UDP_BYTES));
        let udp_tx = udp::PacketBuffer::new(&mut udp_tx_meta[..], carve(&mut arena, UDP_BYTES));
        let udp = set.add(udp::Socket::new(udp_rx, udp_tx));
        let mut metas = relay_meta.iter_mut();
        let relays = core::array::from_fn(|_| {
            let mut buffer = || {
                let meta = metas.next().map_or(&mut [][..], |m| &mut m[..]);
                udp::PacketBuffer::new(meta, carve(&mut arena, RELAY_BYTES))
            };
            let (rx, tx) = (buffer(), buffer());
            set.add(udp::Socket::new(rx, tx))
        });
        let mut tcp_socket = |rx: usize, tx: usize| {
            let rx = tcp::SocketBuffer::new(carve(&mut arena, rx));
            let tx = tcp::SocketBuffer::new(carve(&mut arena, tx));
            set.add(tcp::Socket::new(rx, tx))
        };
        let stream = core::array::from_fn(|i| match i {
            _ if i < BIG_ECHO_SOCKETS => tcp_socket(BIG_BUF, BIG_BUF),
            _ if i < ECHO_SOCKETS => tcp_socket(SMALL_BUF, SMALL_BUF),
            _ if i < ECHO_SOCKETS + HTTP_SOCKETS => tcp_socket(HTTP_RX, HTTP_TX),
            _ => tcp_socket(SMALL_BUF, SMALL_BUF),
        });
        let mut netd = Netd {
            nic,
            iface,
            sockets: set,
            dhcp,
            udp,
            relays,
            stream,
            address: None,
            started_ms: now_ms,
            stats: ServiceStats::default(),
        };
        // Binding a fresh UDP socket to a non-zero port cannot fail.
        let _ = netd.sockets.get_mut::<udp::Socket>(udp).bind(ECHO_PORT);
        for (&h, port) in relays.iter().zip(RELAY_PORTS) {
            let _ = netd.sockets.get_mut::<udp::Socket>(h).bind(port);
        }
        netd
    }

    /// The card and its counts.
    pub fn nic(&self) -> &Nic<T> {
        &self.nic
    }

    /// The card, to wait for its interrupt.
    pub fn nic_mut(&mut self) -> &mut Nic<T> {
        &mut self.nic
    }

    /// The address in use, if any yet.
    pub fn address(&self) -> Option<Address> {
        self.address
    }

    /// What the services have done so far.
    pub fn stats(&self) -> ServiceStats {
        self.stats
    }

    /// The frame counts of the link.
    pub fn link_stats(&self) -> LinkStats {
        self.nic.stats()
    }

    /// Gives the driver back.
    pub fn into_driver(self) -> VirtioNet<T> {
        self.nic.into_driver()
    }

    /// One round: frames in and out, DHCP, then UDP echo. Never blocks.
    /// The relays' sockets are served by the relays, after it.
    pub fn poll(&mut self, now_ms: u64) -> Events {
        let now = instant(now_ms);
        let before = self.nic.stats();
        let mut events = Events::default();
        let changed = self.iface.poll(now, &mut self.nic, &mut self.sockets);
        events.busy |= changed == smoltcp::iface::PollResult::SocketStateChanged;
        self.dhcp(now_ms, &mut events);
        let udp_before = self.stats.udp_datagrams;
        let udp = self.serve_udp();
        events.udp_echoed = self.stats.udp_datagrams - udp_before;
        let frames_in = self.nic.stats().rx_frames - before.rx_frames;
        events.other_frames = frames_in > events.udp_echoed;
        if udp > 0 {
            // Send the echoes without waiting for a round (egress alone:
            // a frame that arrived meanwhile waits for the next round,
            // which follows at once).
            self.send_queued(now_ms, events.udp_echoed as usize);
            events.busy = true;
        }
        events.busy |= self.nic.stats() != before;
        events
    }

    /// Takes the next datagram received on relay `relay`'s port into
    /// `out`: its length and sender. A datagram larger than `out` is
    /// dropped (and counted). `None`: nothing received (or no such relay).
    pub fn relay_recv(&mut self, relay: usize, out: &mut [u8]) -> Option<(usize, Endpoint)> {
        let h = *self.relays.get(relay)?;
        let s = self.sockets.get_mut::<udp::Socket>(h);
        loop {
            let (data, meta) = s.recv().ok()?;
            let from = match meta.endpoint.addr {
                IpAddress::Ipv4(a) => Endpoint {
                    addr: a.octets(),
                    port: meta.endpoint.port,
                },
            };
            if data.len() <= out.len() {
                out[..data.len()].copy_from_slice(data);
                self.stats.relay_received += 1;
                return Some((data.len(), from));
            }
            self.stats.relay_dropped += 1;
        }
    }

    /// Queues `data` to `to` from relay `relay`'s port; false if there is
    /// no room (the datagram is dropped and counted) or no such relay.
    pub fn relay_send(&mut self, relay: usize, data: &[u8], to: Endpoint) -> bool {
        let Some(&h) = self.relays.get(relay) else {
            return false;
        };
        let s = self.sockets.get_mut::<udp::Socket>(h);
        let ep = IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::from(to.addr)), to.port);
        if s.send_slice(data, ep).is_ok() {
            self.stats.relay_sent += 1;
            true
        } else {
            self.stats.relay_dropped += 1;
            false
        }
    }

    /// Sends what was queued (the stream relay's bytes) and takes in what
    /// arrived, without waiting for the next round.
    pub fn flush(&mut self, now_ms: u64) {
        self.iface
            .poll(instant(now_ms), &mut self.nic, &mut self.sockets);
    }

    /// Sends `datagrams` datagrams the services queued (netd's echo, the
    /// relays' clients), without waiting for
    /// the next round: egress passes only (no frame is taken in), at most
    /// one per datagram, ending at the first pass that sends nothing. A
    /// datagram left queued (no transmit buffer free) keeps the stack's
    /// next poll due at once, so the next round sends it.
    pub fn send_queued(&mut self, now_ms: u64, datagrams: usize) {
        let now = instant(now_ms);
        for _ in 0..datagrams {
            let sent = self
                .iface
                .poll_egress(now, &mut self.nic, &mut self.sockets);
            if sent == smoltcp::iface::PollResult::None {
                break;
            }
        }
    }

    /// Records what one round that only echoed `datagrams` UDP datagrams
    /// cost (`instructions`, counted by the task around [`poll`](Self::poll));
    /// the status page shows the totals.
    pub fn note_udp_cost(&mut self, instructions: u64, datagrams: u64) {
        self.stats.udp_cost_instructions += instructions;
        self.stats.udp_cost_datagrams += datagrams;
    }

    /// Records a sleep that the device's interrupt ended: `instret` from
    /// the `wait` to the interrupt (the wake stamp).
    pub fn note_sleep(&mut self, instret: u64) {
        self.stats.sleep_instret += instret;
    }

    /// How long the task may wait (for a frame) before the next
    /// [`poll`](Self::poll) is due for timers; `None`: only a frame needs it.
    pub fn poll_delay_ms(&mut self, now_ms: u64) -> Option<u64> {
        self.iface
            .poll_delay(instant(now_ms), &self.sockets)
            .map(|d| d.total_millis())
    }

    /// Stream socket `i`, for the stream relay (`None`: no such socket).
    pub fn stream_socket(&mut self, i: usize) -> Option<&mut tcp::Socket<'a>> {
        let h = *self.stream.get(i)?;
        Some(self.sockets.get_mut::<tcp::Socket>(h))
    }

    /// Puts stream socket `i` back to listening on its port, if it is
    /// closed; whether it listens now.
    pub fn stream_listen(&mut self, i: usize) -> bool {
        let Some(port) = stream_port(i) else {
            return false;
        };
        let Some(s) = self.stream_socket(i) else {
            return false;
        };
        if !s.is_open() {
            s.set_timeout(Some(TCP_TIMEOUT));
            s.set_keep_alive(Some(TCP_KEEP_ALIVE));
            // Listening on a closed socket with a non-zero port cannot fail.
            let _ = s.listen(port);
        }
        s.is_listening()
    }

    fn dhcp(&mut self, now_ms: u64, events: &mut Events) {
        let event = self.sockets.get_mut::<dhcpv4::Socket>(self.dhcp).poll();
        let address = match event {
            Some(dhcpv4::Event::Configured(config)) => Address {
                cidr: config.address,
                gateway: config.router,
                source: Source::Dhcp,
            },
            // Also reported once at start, before any lease: only a lease
            // that was in use is lost.
            Some(dhcpv4::Event::Deconfigured)
                if self.address.is_some_and(|a| a.source == Source::Dhcp) =>
            {
                events.lease_lost = true;
                STATIC
            }
            _ if self.address.is_none()
                && now_ms.saturating_sub(self.started_ms) >= DHCP_WAIT_MS =>
            {
                STATIC
            }
            _ => return,
        };
        self.configure(address);
        events.configured = Some(address);
    }

    fn configure(&mut self, address: Address) {
        self.iface.update_ip_addrs(|addrs| {
            addrs.clear();
            // One address always fits.
            let _ = addrs.push(IpCidr::Ipv4(address.cidr));
        });
        let routes = self.iface.routes_mut();
        routes.remove_default_ipv4_route();
        if let Some(gw) = address.gateway {
            // The table holds several routes; the default one was just removed.
            let _ = routes.add_default_ipv4_route(gw);
        }
        self.address = Some(address);
    }

    /// Echoes every datagram received on port 7 to its sender; returns the
    /// bytes echoed.
    fn serve_udp(&mut self) -> usize {
        let s = self.sockets.get_mut::<udp::Socket>(self.udp);
        let mut moved = 0;
        let mut tmp = [0u8; 1500];
        while s.can_recv() {
            let Ok((data, meta)) = s.recv() else { break };
            let n = data.len().min(tmp.len());
            tmp[..n].copy_from_slice(&data[..n]);
            if n == data.len() && s.send_slice(&tmp[..n], meta).is_ok() {
                self.stats.udp_datagrams += 1;
                moved += n.max(1);
            } else {
                self.stats.udp_dropped += 1;
            }
        }
        moved
    }

    /// netd's status as lines of text: the network, the link, the UDP
    /// services. The status page of the service task shows them.
    pub fn write_status(&self, out: &mut dyn Write) -> fmt::Result {
        match self.address {
            Some(a) => {
                let source = match a.source {
                    Source::Dhcp => "DHCP lease",
                    Source::Static => "static fallback",
                };
                write!(out, "address: {} ({source})", a.cidr)?;
                if let Some(gw) = a.gateway {
                    write!(out, ", gateway {gw}")?;
                }
                writeln!(out)?;
            }
            None => writeln!(out, "address: none yet")?,
        }
        let net = self.nic.driver();
        let l = self.nic.stats();
        writeln!(
            out,
            "link: virtio-net mac {}, \
             {} rx / {} tx buffers; frames in {} (dropped {}), out {} (dropped {})",
            Mac(net.mac()),
            net.rx_queue_size(),
            net.tx_queue_size(),
            l.rx_frames,
            l.rx_dropped,
            l.tx_frames,
            l.tx_dropped
        )?;
        let s = self.stats;
        writeln!(
            out,
            "services of netd: udp echo :{ECHO_PORT} ({} datagrams)",
            s.udp_datagrams
        )?;
        writeln!(
            out,
            "udp echo cost: {} instructions over {} datagrams",
            s.udp_cost_instructions, s.udp_cost_datagrams
        )?;
        writeln!(
            out,
            "netd asleep: {} instret until its interrupt",
            s.sleep_instret
        )?;
        write!(out, "udp relays")?;
        for port in RELAY_PORTS {
            write!(out, " :{port}")?;
        }
        writeln!(
            out,
            " to service tasks: {} datagrams in, {} out, {} dropped",
            s.relay_received, s.relay_sent, s.relay_dropped
        )
    }
}

/// The port of stream socket `i` (`None`: no such socket).
pub fn stream_port(i: usize) -> Option<u16> {
    match i {
        _ if i < ECHO_SOCKETS => Some(ECHO_PORT),
        _ if i < ECHO_SOCKETS + HTTP_SOCKETS => Some(HTTP_PORT),
        _ if i < STREAM_SOCKETS => Some(SECOND_STREAM_PORT),
        _ => None,
    }
}

/// smoltcp's time from milliseconds since boot.
fn instant(ms: u64) -> Instant {
    Instant::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}
