//! The task itself: maps the net window, brings the device up, and asks the
//! network for an address with DHCP.

use mmio_types::DmaRegion;
use netd::dhcp;
use nexus_abi::{MapProt, println, sys};
use nexus_virtio::net::MAX_FRAME;
use nexus_virtio::{NetError, VirtioMmioWindow, VirtioNet};

nexus_abi::entry!(main);

/// Where system.toml puts the virtio-net window.
const NET_SLOT: usize = 1;
/// Pages of the receive queue and its buffers (8 frames).
const RX_PAGES: usize = 4;
/// Pages of the transmit queue and its buffers (4 frames).
const TX_PAGES: usize = 2;

/// Ticks of `sys::time()` per millisecond (10 MHz timebase on QEMU virt).
const TICKS_PER_MS: u64 = 10_000;
/// How long to wait for an offer in all.
const DEADLINE_MS: u64 = 5_000;
/// How long to wait before sending the discover again.
const RESEND_MS: u64 = 500;

type Net = VirtioNet<VirtioMmioWindow>;

fn main() -> i32 {
    match run() {
        Ok(()) => 0,
        Err(why) => {
            println!("netd: FAIL {why}");
            1
        }
    }
}

fn run() -> Result<(), &'static str> {
    let token =
        sys::mmio_map(NET_SLOT, MapProt::RW).map_err(|_| "mmio_map of the net window failed")?;
    let window = VirtioMmioWindow::from_token(token).map_err(|_| "the net window is not 4 KiB")?;
    let rx = DmaRegion::new(sys::dma_alloc(RX_PAGES).map_err(|_| "dma_alloc for rx failed")?);
    let tx = DmaRegion::new(sys::dma_alloc(TX_PAGES).map_err(|_| "dma_alloc for tx failed")?);
    let mut net = match VirtioNet::new(window, rx, tx) {
        Ok(net) => net,
        Err(failure) => {
            println!("netd: virtio-net initialisation: {}", failure.error);
            return Err("virtio-net initialisation failed");
        }
    };
    let m = net.mac();
    println!(
        "netd: virtio-net ready: mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, {} rx / {} tx buffers",
        m[0],
        m[1],
        m[2],
        m[3],
        m[4],
        m[5],
        net.rx_queue_size(),
        net.tx_queue_size()
    );

    let yiaddr = dhcp_offer(&mut net)?;
    println!("SELFTEST: virtio-net dhcp ok");
    println!(
        "netd: offered {}.{}.{}.{}",
        yiaddr[0], yiaddr[1], yiaddr[2], yiaddr[3]
    );

    let (window, rx, tx) = net.into_parts();
    sys::mmio_unmap(window.unmap()).map_err(|_| "mmio_unmap failed")?;
    for region in [rx, tx] {
        sys::dma_free(region.into_token()).map_err(|_| "dma_free failed")?;
    }
    Ok(())
}

/// Broadcasts a DHCPDISCOVER (again every [`RESEND_MS`]) until a DHCPOFFER
/// for its transaction arrives or [`DEADLINE_MS`] pass; returns the
/// offered address.
fn dhcp_offer(net: &mut Net) -> Result<[u8; 4], &'static str> {
    let mac = net.mac();
    let start = sys::time();
    let xid = transaction_id(mac, start);
    let discover = dhcp::discover(mac, xid);
    let mut frame = [0u8; MAX_FRAME];
    let mut next_send = start;
    let mut sends = 0u32;
    loop {
        let now = sys::time();
        if now.wrapping_sub(start) >= DEADLINE_MS * TICKS_PER_MS {
            println!("netd: no offer after {sends} discovers");
            return Err("no DHCPOFFER within 5 s");
        }
        if now >= next_send {
            match net.send(&discover) {
                // A full queue only delays this resend.
                Ok(()) | Err(NetError::QueueFull) => {}
                Err(e) => {
                    println!("netd: sending the DHCPDISCOVER: {e}");
                    return Err("sending the DHCPDISCOVER failed");
                }
            }
            sends += 1;
            next_send = now + RESEND_MS * TICKS_PER_MS;
        }
        match net.poll_recv(&mut frame) {
            None => sys::yield_now(),
            Some(Ok(len)) => match dhcp::parse_offer(&frame[..len], mac, xid) {
                Ok(yiaddr) => return Ok(yiaddr),
                Err(dhcp::NotOffer::OtherType(t)) => {
                    println!("netd: ignoring a DHCP message of type {t}");
                }
                Err(_) => {}
            },
            // A dropped frame (too long, bad length) is not fatal.
            Some(Err(NetError::BufferTooSmall(_) | NetError::BadUsedLen(_))) => {}
            Some(Err(e)) => {
                println!("netd: receiving: {e}");
                return Err("the device broke the queue protocol");
            }
        }
    }
}

/// A transaction id that differs from boot to boot and from card to card.
fn transaction_id(mac: [u8; 6], now: u64) -> u32 {
    let low = u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]]);
    (now as u32) ^ (now >> 32) as u32 ^ low.rotate_left(16)
}
