//! The virtio-net driver as smoltcp's [`Device`]: one received frame per
//! receive token, one transmit buffer per transmit token.
//!
//! Everything the device hands over is untrusted: a frame of a bad length is
//! dropped and counted, and a device that breaks the queue protocol is
//! recorded as broken (the driver has reset it); the stack then sees a link
//! with no traffic, and the task can tell why from [`Nic::broken`].

use nexus_virtio::net::{MAX_FRAME, NetTransport};
use nexus_virtio::{NetError, VirtioNet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// A MAC address, shown as `52:54:00:12:34:56`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mac(pub [u8; 6]);

impl core::fmt::Display for Mac {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

/// Frame counts of the link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames received and handed to the stack.
    pub rx_frames: u64,
    /// Frames received and dropped (bad length reported by the device).
    pub rx_dropped: u64,
    /// Frames handed to the device for transmission.
    pub tx_frames: u64,
    /// Frames the stack produced that could not be queued (every transmit
    /// buffer in flight); TCP sends them again.
    pub tx_dropped: u64,
}

/// The network card: the driver, one frame buffer each way, and counts.
pub struct Nic<T: NetTransport> {
    net: VirtioNet<T>,
    rx: [u8; MAX_FRAME],
    tx: [u8; MAX_FRAME],
    stats: LinkStats,
    broken: Option<NetError>,
}

impl<T: NetTransport> Nic<T> {
    /// Wraps an initialised driver.
    pub fn new(net: VirtioNet<T>) -> Nic<T> {
        Nic {
            net,
            rx: [0; MAX_FRAME],
            tx: [0; MAX_FRAME],
            stats: LinkStats::default(),
            broken: None,
        }
    }

    /// The driver.
    pub fn driver(&self) -> &VirtioNet<T> {
        &self.net
    }

    /// The driver, to wait for its interrupt.
    pub fn driver_mut(&mut self) -> &mut VirtioNet<T> {
        &mut self.net
    }

    /// The frame counts so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// Why the device was given up on, if it was.
    pub fn broken(&self) -> Option<NetError> {
        self.broken
    }

    /// Gives the driver back (to reset the device and free its memory).
    pub fn into_driver(self) -> VirtioNet<T> {
        self.net
    }
}

/// A received frame.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

/// A free transmit buffer.
pub struct TxToken<'a, T: NetTransport> {
    net: &'a mut VirtioNet<T>,
    buf: &'a mut [u8; MAX_FRAME],
    stats: &'a mut LinkStats,
    broken: &'a mut Option<NetError>,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

impl<T: NetTransport> phy::TxToken for TxToken<'_, T> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // The stack never asks for more than the MTU given in
        // `capabilities`; a longer request gets the whole buffer and fails
        // to send below.
        let frame = &mut self.buf[..len.min(MAX_FRAME)];
        let result = f(frame);
        match self.net.send(frame) {
            Ok(()) => self.stats.tx_frames += 1,
            Err(NetError::QueueFull | NetError::BadFrameLength(_)) => self.stats.tx_dropped += 1,
            Err(e) => *self.broken = Some(e),
        }
        result
    }
}

impl<T: NetTransport> Device for Nic<T> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, T>
    where
        Self: 'a;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_, T>)> {
        if self.broken.is_some() {
            return None;
        }
        // Frames the device reports with a bad length are dropped here; the
        // loop ends when the receive queue is empty.
        let len = loop {
            match self.net.poll_recv(&mut self.rx)? {
                Ok(len) => break len,
                Err(NetError::BufferTooSmall(_) | NetError::BadUsedLen(_)) => {
                    self.stats.rx_dropped += 1;
                }
                Err(e) => {
                    self.broken = Some(e);
                    return None;
                }
            }
        };
        self.stats.rx_frames += 1;
        Some((
            RxToken {
                frame: &self.rx[..len],
            },
            TxToken {
                net: &mut self.net,
                buf: &mut self.tx,
                stats: &mut self.stats,
                broken: &mut self.broken,
            },
        ))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_, T>> {
        if self.broken.is_some() {
            return None;
        }
        if let Err(e) = self.net.reclaim_tx() {
            self.broken = Some(e);
            return None;
        }
        if self.net.tx_in_flight() >= self.net.tx_queue_size() {
            return None;
        }
        Some(TxToken {
            net: &mut self.net,
            buf: &mut self.tx,
            stats: &mut self.stats,
            broken: &mut self.broken,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME;
        // The window TCP advertises is capped at what the receive queue
        // holds, so a peer never pushes more frames than there are buffers.
        caps.max_burst_size = Some(usize::from(self.net.rx_queue_size()));
        caps
    }
}
