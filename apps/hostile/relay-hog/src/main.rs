//! `relay-hog`: a client of netd's third relay (udp :7009) that lies about
//! sleeping. It lends netd its buffers for receiving and waits; each time
//! a datagram wakes it, it takes the datagram, lends the buffer again,
//! says once more that it may sleep (so netd, which hands the hart to a
//! sleeping client it signals, would do so for every datagram) and then
//! keeps the hart for 50 ms instead of waiting. netd must notice that its
//! handoffs to this client do not come back, stop making them (`netd: the
//! client of udp :7009 kept the hart ...`) and go on serving everyone
//! else. The ring itself stays well-formed: this client is greedy, not
//! corrupt, so netd goes on relaying its datagrams.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::notify::NO_DEADLINE;
use nexus_abi::{println, sys};
use ring_types::Desc;
use ring_types::dgram::{DgramClient, OP_RECV};

nexus_abi::entry!(main);

/// Where system.toml puts the channel to netd, and the bit netd raises.
const CHANNEL_SLOT: usize = 1;
const CHANNEL_BIT: u64 = 1 << 0;
/// How long it keeps the hart after each wakeup: 50 ms of the 10 MHz timer.
const HOG_TICKS: u64 = 500_000;

const RECV: Desc = Desc {
    tag: 1,
    code: OP_RECV,
    len: 0,
    arg: 0,
};

fn main() -> i32 {
    match run() {
        Ok(never) => match never {},
        Err(why) => {
            println!("relay-hog: FAIL {why}");
            1
        }
    }
}

fn run() -> Result<core::convert::Infallible, &'static str> {
    let token = sys::channel_map(CHANNEL_SLOT).map_err(|_| "channel_map refused")?;
    let mut c = DgramClient::new(DmaRegion::new(token)).map_err(|_| "the channel is too small")?;
    while let Some(buf) = c.alloc() {
        c.submit(RECV, buf).map_err(|_| "lending a buffer")?;
    }
    let _ = sys::channel_signal(CHANNEL_SLOT);
    println!("relay-hog: lent netd its buffers for udp :7009");
    loop {
        // Asleep, honestly, until netd hands over a datagram.
        if c.prepare_sleep().map_err(|_| "netd broke the ring")? {
            let _ = sys::wait(CHANNEL_BIT, NO_DEADLINE);
        }
        let _ = c.woke();
        while let Some((_, buf)) = c.poll().map_err(|_| "netd broke the ring")? {
            c.submit(RECV, buf).map_err(|_| "lending a buffer again")?;
        }
        // Claims to sleep, and keeps the hart instead.
        let _ = c.prepare_sleep();
        let until = sys::time().saturating_add(HOG_TICKS);
        while sys::time() < until {
            core::hint::spin_loop();
        }
    }
}
