//! The task itself: maps the net window (a virtio-mmio slot, or the BAR
//! of a virtio-pci function), brings the device up, runs the
//! stack and its services, and never returns while the device works.

use core::fmt::{self, Write};

use mmio_types::DmaRegion;
use netd::device::Mac;
use netd::handoff::{self, Handoff};
use netd::relay::Relay;
use netd::stack::{RELAY_PORTS, RELAYS, STREAM_CHANNELS};
use netd::stream::StreamRelay;
use netd::{Netd, Source, Storage, SystemInfo};
use nexus_abi::{CapKind, MapProt, SysError, println, sys};
use nexus_virtio::net::NetTransport;
use nexus_virtio::pci;
use nexus_virtio::{IrqDevice, IrqError, KernelIrq, VirtioMmioWindow, VirtioNet};
use ring_types::RingError;
use static_cell::ConstStaticCell;

nexus_abi::entry!(main);

/// Where system.toml puts the virtio-net window.
const NET_SLOT: usize = 1;
/// Where it puts the window's irq capability, and the bit that raises.
const IRQ_SLOT: usize = 2;
const IRQ_BIT: u32 = 0;
/// Where system.toml puts the channel of each relay (`RELAY_PORTS`), and
/// the bit the service task's signal raises.
const RELAY_SLOTS: [usize; RELAYS] = [3, 4, 7];
const RELAY_BITS: [u64; RELAYS] = [1 << 2, 1 << 3, 1 << 6];
/// Where system.toml puts the stream channels (`stack::STREAM_RANGES`: TCP
/// 7 and 80, served by the task at the first one's other end, then the
/// second channel's port), and the bits their tasks' signals raise.
const STREAM_SLOTS: [usize; STREAM_CHANNELS] = [5, 6];
const STREAM_BITS: [u64; STREAM_CHANNELS] = [1 << 4, 1 << 5];
/// What each stream channel serves, for netd's reports (the ports of
/// `stack::STREAM_RANGES`), and the verb that goes with it.
const STREAM_NAMES: [(&str, &str); STREAM_CHANNELS] = [("tcp :7 and :80", "are"), ("tcp :8", "is")];
/// Pages of the receive queue and its buffers.
const RX_PAGES: usize = 8;
/// Pages of the transmit queue and its buffers.
const TX_PAGES: usize = 8;
/// Capability slots a task has (the kernel's `CAP_SLOTS`).
const CAP_SLOTS: usize = 32;

/// Ticks of `sys::time()` per millisecond (10 MHz timebase on QEMU virt).
const TICKS_PER_MS: u64 = 10_000;

/// The sockets' memory, taken once.
static STORAGE: ConstStaticCell<Storage<'static>> = ConstStaticCell::new(Storage::new());

fn main() -> i32 {
    match run() {
        Ok(never) => match never {},
        Err(why) => {
            println!("netd: FAIL {why}");
            1
        }
    }
}

fn now_ms() -> u64 {
    sys::time() / TICKS_PER_MS
}

fn run() -> Result<core::convert::Infallible, &'static str> {
    if sys::pci_info(NET_SLOT).is_ok() {
        // A PCI BAR: the virtio-pci transport.
        return match pci::map(NET_SLOT, pci::NET_DEVICE_MIN) {
            Ok(transport) => {
                println!("netd: virtio-net is a virtio-pci function");
                serve(transport)
            }
            Err(e) => {
                println!("netd: virtio-net initialisation: the virtio-pci function: {e}");
                Err("virtio-net initialisation failed")
            }
        };
    }
    let token =
        sys::mmio_map(NET_SLOT, MapProt::RW).map_err(|_| "mmio_map of the net window failed")?;
    let window = VirtioMmioWindow::from_token(token).map_err(|_| "the net window is not 4 KiB")?;
    serve(window)
}

/// Brings the device on `transport` up (with its interrupt when granted)
/// and serves until it breaks.
fn serve<T: NetTransport>(transport: T) -> Result<core::convert::Infallible, &'static str> {
    let window = IrqDevice::new(transport, KernelIrq, IRQ_SLOT, IRQ_BIT).ok_or("bad irq bit")?;
    let rx = DmaRegion::new(sys::dma_alloc(RX_PAGES).map_err(|_| "dma_alloc for rx failed")?);
    let tx = DmaRegion::new(sys::dma_alloc(TX_PAGES).map_err(|_| "dma_alloc for tx failed")?);
    let net = match VirtioNet::new(window, rx, tx) {
        Ok(net) => net,
        Err(failure) => {
            println!("netd: virtio-net initialisation: {}", failure.error);
            return Err("virtio-net initialisation failed");
        }
    };
    let m = net.mac();
    println!(
        "netd: virtio-net ready: mac {}, {} rx / {} tx buffers",
        Mac(m),
        net.rx_queue_size(),
        net.tx_queue_size()
    );
    let start = sys::time();
    let seed = start ^ u64::from_be_bytes([0, 0, m[0], m[1], m[2], m[3], m[4], m[5]]);
    // Interrupt-driven when the device's interrupt is granted; otherwise
    // (no capability, or no interrupt controller) it polls.
    let mut interrupts = sys::cap_info(IRQ_SLOT).is_ok_and(|c| c.kind == CapKind::Irq);
    let mut net = net;
    if interrupts && net.set_interrupts(true).is_err() {
        interrupts = false;
    }
    println!(
        "netd: {}",
        if interrupts {
            "interrupt-driven"
        } else {
            "no irq capability: polling"
        }
    );
    let mut netd = Netd::new(net, STORAGE.take(), start / TICKS_PER_MS, seed);
    let mut relays: [Option<Relay>; RELAYS] = core::array::from_fn(|i| {
        let token = sys::channel_map(RELAY_SLOTS[i]).ok()?;
        match Relay::new(DmaRegion::new(token), i) {
            Ok(r) => {
                println!(
                    "netd: udp :{} is served by the task at the other end of slot {}",
                    RELAY_PORTS[i], RELAY_SLOTS[i]
                );
                Some(r)
            }
            Err(_) => {
                println!("netd: the channel in slot {} is too small", RELAY_SLOTS[i]);
                None
            }
        }
    });
    let mut streams: [Option<StreamRelay>; STREAM_CHANNELS] = core::array::from_fn(|i| {
        let token = sys::channel_map(STREAM_SLOTS[i]).ok()?;
        match StreamRelay::new(DmaRegion::new(token), &mut netd, i) {
            Ok(r) => {
                let (name, verb) = STREAM_NAMES[i];
                println!(
                    "netd: {name} {verb} served by the task at the other end of slot {}",
                    STREAM_SLOTS[i]
                );
                Some(r)
            }
            Err(_) => {
                println!("netd: the channel in slot {} is too small", STREAM_SLOTS[i]);
                None
            }
        }
    });
    let mut handoffs = [Handoff::default(); RELAYS];
    let mut leased = false;
    let mut serving = false;
    // Whether the last sleep was ended by relay clients alone: then no
    // frame arrived and no timer is due, and the round serves the relays
    // without a pass of the stack over every socket.
    let mut only_relays = false;
    // Whether a stream relay's client signalled in that sleep. A round
    // woken by datagram relays alone took in no frame and ran no timer, so
    // no TCP socket changed: unless a stream client asked for something,
    // the stream relays have nothing to look at. (The relays send by
    // egress passes alone; a frame that arrives meanwhile raises the
    // device's interrupt, and the next round is a whole one.)
    let mut stream_signalled = false;
    loop {
        let before = sys::instret();
        let events = if only_relays {
            Default::default()
        } else {
            netd.poll(now_ms())
        };
        let stream_round = !only_relays || stream_signalled;
        only_relays = false;
        stream_signalled = false;
        if events.udp_echoed > 0 && !events.other_frames {
            // netd's own instructions per echoed datagram: receive, stack,
            // echo and transmit (no system call happens inside a round).
            netd.note_udp_cost(sys::instret() - before, events.udp_echoed);
        }
        if let Some(a) = events.configured {
            match a.source {
                Source::Dhcp => {
                    if !leased {
                        leased = true;
                        // A whole DHCP exchange (discover, offer, request,
                        // ack) went through the driver and the stack.
                        println!("SELFTEST: virtio-net dhcp ok");
                    }
                    println!("netd: address {} from DHCP", a.cidr);
                }
                Source::Static => println!(
                    "netd: no DHCP lease; static address {} (DHCP goes on)",
                    a.cidr
                ),
            }
            if !serving {
                serving = true;
                println!(
                    "netd: serving udp echo :7 at {}; tcp :7 and :80 {}",
                    a.cidr.address(),
                    if streams[0].is_some() {
                        "through a service task"
                    } else {
                        "closed (no service task)"
                    }
                );
            }
        }
        if events.lease_lost {
            println!("netd: the DHCP lease was lost");
        }
        if let Some(e) = netd.nic().broken() {
            println!("netd: the device was given up on: {e:?}");
            return Err("the virtio-net device broke the queue protocol");
        }
        // Relay work needs no second round: what it queued for sending was
        // sent, and requests that arrive meanwhile keep netd from sleeping
        // (`may_sleep` looks at every ring again).
        serve_relays(&mut netd, &mut relays, &mut handoffs);
        // Stream work can leave bytes for parked receives in the sockets
        // (the flush takes frames in too): another round before sleeping.
        let streamed = stream_round && serve_streams(&mut netd, &mut streams);
        if !events.busy && !streamed {
            if may_sleep(&mut relays, &mut streams) {
                let others = relays
                    .iter()
                    .zip(RELAY_BITS)
                    .filter(|(r, _)| r.is_some())
                    .fold(0, |m, (_, b)| m | b)
                    | streams
                        .iter()
                        .zip(STREAM_BITS)
                        .filter(|(s, _)| s.is_some())
                        .fold(0, |m, (_, b)| m | b);
                let woke = if interrupts {
                    sleep(&mut netd, others).unwrap_or_else(|e| {
                        println!("netd: {e}; polling from now on");
                        interrupts = false;
                        Woke::default()
                    })
                } else {
                    idle(&mut netd, others)
                };
                only_relays = woke.relays != 0 && !woke.other;
                stream_signalled = STREAM_BITS.iter().any(|&b| woke.relays & b != 0);
            }
            // Awake (or not asleep after all): the clients need not signal.
            for r in relays.iter_mut().flatten() {
                // A corrupted flag shows at the next round's serve.
                let _ = r.woke();
            }
            for r in streams.iter_mut().flatten() {
                let _ = r.woke();
            }
        }
    }
}

/// One round of every relay: its client's requests and the datagrams for
/// its port. A client that corrupted its ring, or that ended, is dropped;
/// the others go on.
///
/// A client woken for a datagram gets the hart at once (`yield`), and its
/// answer is taken in the same round: its requests arrive while netd is
/// awake, so it need not signal, and netd need not wake again for them.
/// What the relays queued is sent at once, by egress passes alone. A
/// client whose handoffs keep netd off the hart gets no more of them
/// (`netd::handoff`).
fn serve_relays<T: NetTransport>(
    netd: &mut Netd<'_, Net<T>>,
    relays: &mut [Option<Relay>; RELAYS],
    handoffs: &mut [Handoff; RELAYS],
) {
    let mut sent = 0;
    for (i, slot) in relays.iter_mut().enumerate() {
        let Some(relay) = slot else { continue };
        let mut failure = None;
        // At most one handoff per relay and round.
        for handoff in [true, false] {
            let (signalled, why) = serve_relay(netd, relay, i, &mut sent);
            failure = why;
            if failure.is_some() || !(signalled && handoff && handoffs[i].allowed()) {
                break;
            }
            let start = sys::time();
            sys::yield_now();
            let away = sys::time().saturating_sub(start);
            if handoffs[i].record(away) {
                println!(
                    "netd: the client of udp :{} kept the hart {} us after a handoff, {} times \
                     in a row; it is only signalled from now on",
                    RELAY_PORTS[i],
                    away / (TICKS_PER_MS / 1000),
                    handoff::STRIKES
                );
            }
        }
        if let Some(why) = failure {
            println!("netd: dropped the client of udp :{}: {why}", RELAY_PORTS[i]);
            if let Some(r) = slot.take() {
                r.drop_client();
            }
        }
    }
    if sent > 0 {
        netd.send_queued(now_ms(), sent);
    }
}

/// One serve of relay `i`, counting the datagrams it queued in `sent`:
/// whether it signalled the client, and why the client must be dropped,
/// if it must.
fn serve_relay<T: NetTransport>(
    netd: &mut Netd<'_, Net<T>>,
    relay: &mut Relay,
    i: usize,
    sent: &mut usize,
) -> (bool, Option<&'static str>) {
    match relay.serve(netd) {
        Ok(served) => {
            *sent += served.sent;
            if !(served.wake_client && relay.client_sleeping()) {
                return (false, None);
            }
            match sys::channel_signal(RELAY_SLOTS[i]) {
                Ok(()) => (true, None),
                Err(SysError::PeerEnded) => (false, Some("it ended")),
                Err(_) => (false, Some("channel_signal failed")),
            }
        }
        Err(e) => (false, Some(ring_fault(e))),
    }
}

/// One round of every stream relay; whether one did any work.
fn serve_streams<T: NetTransport>(
    netd: &mut Netd<'_, Net<T>>,
    streams: &mut [Option<StreamRelay>; STREAM_CHANNELS],
) -> bool {
    let mut work = false;
    for (i, stream) in streams.iter_mut().enumerate() {
        work |= serve_stream(netd, stream, i);
    }
    work
}

/// One round of stream relay `i`: its client's requests, new connections
/// and the bytes for its buffers. A client that corrupted its ring, or
/// that ended, is dropped: its connections are aborted and its ports no
/// longer listen. Whether it did any work.
fn serve_stream<T: NetTransport>(
    netd: &mut Netd<'_, Net<T>>,
    stream: &mut Option<StreamRelay>,
    i: usize,
) -> bool {
    let Some(relay) = stream else {
        return false;
    };
    let (work, failure) = match relay.serve(netd, &TaskView) {
        Ok(served) => {
            if served.flush {
                netd.flush(now_ms());
            }
            let failure = match served.wake_client && relay.client_sleeping() {
                true => match sys::channel_signal(STREAM_SLOTS[i]) {
                    Ok(()) => None,
                    Err(SysError::PeerEnded) => Some("it ended"),
                    Err(_) => Some("channel_signal failed"),
                },
                false => None,
            };
            (served.work > 0, failure)
        }
        Err(e) => (true, Some(ring_fault(e))),
    };
    if let Some(why) = failure {
        println!("netd: dropped the client of {}: {why}", STREAM_NAMES[i].0);
        if let Some(r) = stream.take() {
            r.drop_client(netd);
            netd.flush(now_ms());
        }
    }
    work
}

/// Before sleeping: every relay says it may sleep (none has requests
/// waiting); false if one has, so the next round serves them.
fn may_sleep(
    relays: &mut [Option<Relay>; RELAYS],
    streams: &mut [Option<StreamRelay>; STREAM_CHANNELS],
) -> bool {
    relays
        .iter_mut()
        .flatten()
        .all(|r| r.prepare_sleep().unwrap_or(false))
        && streams
            .iter_mut()
            .flatten()
            .all(|r| r.prepare_sleep().unwrap_or(false))
}

/// What a ring error says about the client.
fn ring_fault(e: RingError) -> &'static str {
    if e.is_peer_fault() {
        "it corrupted its ring"
    } else {
        "its ring is unusable"
    }
}

/// The longest idle wait between rounds when polling, in `time` ticks
/// (1 ms): how late a frame that arrives during the wait may be noticed.
const IDLE_MAX_TICKS: u64 = TICKS_PER_MS;
/// The longest sleep when interrupt-driven (1 s): a frame wakes netd at
/// once; this only bounds how long a lost interrupt could go unnoticed.
const SLEEP_MAX_TICKS: u64 = 1000 * TICKS_PER_MS;
/// The notification bit netd sleeps on while polling: nothing raises it,
/// so a wait on it is a sleep until its deadline.
const WAKE_BIT: u64 = 1 << 1;

type Net<T> = IrqDevice<T, KernelIrq>;

/// Ticks until the stack's next timer is due, at most `max`.
fn due<T: NetTransport>(netd: &mut Netd<'_, Net<T>>, now: u64, max: u64) -> u64 {
    netd.poll_delay_ms(now / TICKS_PER_MS)
        .map_or(max, |ms| ms.saturating_mul(TICKS_PER_MS).min(max))
}

/// Waits between rounds with nothing to do, polling: blocks until the
/// stack's next timer is due or [`IDLE_MAX_TICKS`] pass, whichever is
/// first. Blocking (rather than yielding) lets the hart sleep meanwhile.
fn idle<T: NetTransport>(netd: &mut Netd<'_, Net<T>>, others: u64) -> Woke {
    let now = sys::time();
    let due = due(netd, now, IDLE_MAX_TICKS);
    if due == 0 {
        return Woke::default();
    }
    match sys::wait(WAKE_BIT | others, now + due) {
        Ok(bits) => Woke {
            relays: bits & others,
            other: bits & !others != 0,
        },
        // The deadline (a timer may be due, or a frame to poll for).
        Err(_) => Woke {
            relays: 0,
            other: true,
        },
    }
}

/// What ended a sleep.
#[derive(Clone, Copy, Debug, Default)]
struct Woke {
    /// The relay clients' bits raised (the stream's among them).
    relays: u64,
    /// Anything else: the device, the deadline, or no sleep at all.
    other: bool,
}

/// Waits between rounds with nothing to do, interrupt-driven: sleeps until
/// the device interrupts, a relay's client signals (`others`), or the
/// stack's next timer is due. An interrupt is
/// acknowledged at the device (with the bits read from `InterruptStatus`)
/// before its line is re-armed; the next round then takes what it
/// announced.
fn sleep<T: NetTransport>(netd: &mut Netd<'_, Net<T>>, others: u64) -> Result<Woke, IrqError> {
    let now = sys::time();
    let due = due(netd, now, SLEEP_MAX_TICKS);
    if due == 0 {
        return Ok(Woke::default());
    }
    let before = sys::instret();
    match netd
        .nic_mut()
        .driver_mut()
        .wait_interrupt_also(others, now + due)
    {
        Ok((Some(pending), bits)) => {
            let stamp = pending.stamp();
            pending.acknowledge().rearm()?;
            if stamp != 0 {
                netd.note_sleep(stamp.saturating_sub(before));
            }
            Ok(Woke {
                relays: bits,
                other: true,
            })
        }
        Ok((None, bits)) => Ok(Woke {
            relays: bits,
            other: false,
        }),
        Err(IrqError::TimedOut) => Ok(Woke {
            relays: 0,
            other: true,
        }),
        Err(e) => Err(e),
    }
}

/// What netd can see of the system beyond the stack: its own
/// capabilities (the device it drives among them).
struct TaskView;

impl SystemInfo for TaskView {
    fn describe(&self, out: &mut dyn Write) -> fmt::Result {
        writeln!(out, "capabilities of netd:")?;
        for slot in 0..CAP_SLOTS {
            if let Ok(info) = sys::cap_info(slot) {
                writeln!(out, "  slot {slot}: {info}")?;
            }
        }
        Ok(())
    }
}
