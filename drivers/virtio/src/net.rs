//! virtio-net: feature bits, configuration space layout and a polling driver
//! (virtio 1.2, section 5.1).
//!
//! The driver negotiates `VIRTIO_F_VERSION_1` and `VIRTIO_NET_F_MAC` and
//! nothing else: no checksum or segmentation offloads, no mergeable receive
//! buffers, one queue pair. Queue 0 is the receiveq, queue 1 the transmitq.
//!
//! Each queue lives in its own [`DmaRegion`], given by the caller, and
//! carries its frame buffers in its scratch area: one buffer of
//! [`BUF_STRIDE`] bytes per descriptor, each holding the 12-byte
//! [`virtio_net_hdr`](HDR_LEN) followed by a frame of at most
//! [`MAX_FRAME`] bytes. Every buffer is a single descriptor (with
//! `VERSION_1` the header need not be a descriptor of its own), so a queue
//! of `n` entries holds `n` frames in flight. Receive buffers are all
//! posted at initialisation and reposted as soon as their frame is copied
//! out; transmit buffers are reclaimed on the next [`VirtioNet::send`].
//!
//! Used-buffer interrupts are suppressed: the driver polls. A device that
//! breaks the queue protocol (a used id that is no buffer in flight, a used
//! index running ahead) is reset at once and the driver refuses further
//! work; a receive length outside the buffer is reported and the buffer
//! reposted. Nothing the device writes can make the driver panic.

use core::fmt;

use bitflags::bitflags;
use mmio_types::{DmaError, DmaRegion, ReadPure, field_shared, register_block};

use crate::config::VirtioConfig;
use crate::device::{self, InitError, Transport};
use crate::features::Features;
use crate::mmio::{CONFIG_OFFSET, VirtioMmioWindow, WINDOW_LEN};
use crate::queue::{DmaRange, QueueError, QueueLayout, Segment, SplitQueue};
use crate::status::DeviceStatus;

/// `DeviceID` of a network device.
pub const DEVICE_ID: u32 = 1;

/// The receive queue.
pub const RX_QUEUE: u16 = 0;
/// The transmit queue.
pub const TX_QUEUE: u16 = 1;

/// Bytes of `struct virtio_net_hdr` with `VERSION_1`: flags (u8), gso_type
/// (u8), hdr_len (u16), gso_size (u16), csum_start (u16), csum_offset
/// (u16), num_buffers (u16), all little-endian.
pub const HDR_LEN: usize = 12;
/// Largest Ethernet frame the driver sends or receives, without the FCS:
/// 14 bytes of header and a 1500-byte payload.
pub const MAX_FRAME: usize = 1514;
/// Bytes of one buffer: header and largest frame.
pub const BUF_LEN: usize = HDR_LEN + MAX_FRAME;
/// Distance between two buffers in a queue's scratch area.
pub const BUF_STRIDE: usize = 1536;

bitflags! {
    /// virtio-net feature bits (0..=23 and 41..=63).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct NetFeatures: u64 {
        /// The device handles packets with partial checksum.
        const CSUM = 1 << 0;
        /// The driver handles packets with partial checksum.
        const GUEST_CSUM = 1 << 1;
        /// Control channel offloads reconfiguration.
        const CTRL_GUEST_OFFLOADS = 1 << 2;
        /// `mtu` is valid.
        const MTU = 1 << 3;
        /// `mac` is valid.
        const MAC = 1 << 5;
        /// The driver can receive TSOv4.
        const GUEST_TSO4 = 1 << 7;
        /// The driver can receive TSOv6.
        const GUEST_TSO6 = 1 << 8;
        /// The driver can receive TSO with ECN.
        const GUEST_ECN = 1 << 9;
        /// The driver can receive UFO.
        const GUEST_UFO = 1 << 10;
        /// The device can receive TSOv4.
        const HOST_TSO4 = 1 << 11;
        /// The device can receive TSOv6.
        const HOST_TSO6 = 1 << 12;
        /// The device can receive TSO with ECN.
        const HOST_ECN = 1 << 13;
        /// The device can receive UFO.
        const HOST_UFO = 1 << 14;
        /// The driver can merge receive buffers.
        const MRG_RXBUF = 1 << 15;
        /// `status` is valid.
        const STATUS = 1 << 16;
        /// Control channel.
        const CTRL_VQ = 1 << 17;
        /// Control channel RX mode.
        const CTRL_RX = 1 << 18;
        /// Control channel VLAN filtering.
        const CTRL_VLAN = 1 << 19;
        /// The driver can send gratuitous packets.
        const GUEST_ANNOUNCE = 1 << 21;
        /// Multiqueue with automatic receive steering.
        const MQ = 1 << 22;
        /// The MAC address can be set through the control channel.
        const CTRL_MAC_ADDR = 1 << 23;

        // Bits of other layers pass through unchanged.
        const _ = !0;
    }
}

/// `status` bit: the link is up.
pub const STATUS_LINK_UP: u16 = 1;

register_block! {
    /// virtio-net configuration space, at 0x100 in the window.
    ///
    /// The MAC address is six byte registers (the spec reads 8-bit fields with
    /// 8-bit accesses).
    pub struct NetConfig at CONFIG_OFFSET in WINDOW_LEN {
        /// 0x00..0x06 `mac`, byte 0.
        0x00 => pub mac0: ReadPure<u8>,
        /// `mac` byte 1.
        0x01 => pub mac1: ReadPure<u8>,
        /// `mac` byte 2.
        0x02 => pub mac2: ReadPure<u8>,
        /// `mac` byte 3.
        0x03 => pub mac3: ReadPure<u8>,
        /// `mac` byte 4.
        0x04 => pub mac4: ReadPure<u8>,
        /// `mac` byte 5.
        0x05 => pub mac5: ReadPure<u8>,
        /// 0x06 `status` (valid with `VIRTIO_NET_F_STATUS`).
        0x06 => pub status: ReadPure<u16>,
        /// 0x08 `max_virtqueue_pairs` (valid with `VIRTIO_NET_F_MQ`).
        0x08 => pub max_virtqueue_pairs: ReadPure<u16>,
        /// 0x0a `mtu` (valid with `VIRTIO_NET_F_MTU`).
        0x0a => pub mtu: ReadPure<u16>,
        0x0c => @end,
    }
}

/// The MAC address in the configuration space, read consistently.
#[inline]
pub fn mac(window: &VirtioMmioWindow) -> [u8; 6] {
    window.read_config(|cfg: mmio_types::SharedMmioPointer<'_, NetConfig>| {
        [
            field_shared!(cfg, mac0).read(),
            field_shared!(cfg, mac1).read(),
            field_shared!(cfg, mac2).read(),
            field_shared!(cfg, mac3).read(),
            field_shared!(cfg, mac4).read(),
            field_shared!(cfg, mac5).read(),
        ]
    })
}

/// A transport to a network device: the generic operations plus the
/// device's configuration space.
pub trait NetTransport: Transport {
    /// `mac`, read consistently (inside a `ConfigGeneration` check).
    fn net_mac(&self) -> [u8; 6];
}

impl NetTransport for VirtioMmioWindow {
    #[inline]
    fn net_mac(&self) -> [u8; 6] {
        mac(self)
    }
}

impl<T: NetTransport, S: crate::irq::IrqSys> VirtioNet<crate::irq::IrqDevice<T, S>> {
    /// Blocks until the device interrupts (or `time` reaches `deadline`);
    /// see [`crate::irq`] for what to do with the token.
    pub fn wait_interrupt(
        &mut self,
        deadline: u64,
    ) -> Result<crate::irq::Pending<'_, T, S>, crate::irq::IrqError> {
        self.transport.wait(deadline)
    }

    /// [`wait_interrupt`](Self::wait_interrupt), also ending when a bit of
    /// `also` is raised; see [`IrqDevice::wait_also`](crate::IrqDevice::wait_also).
    #[allow(clippy::type_complexity, reason = "the token and the other bits")]
    pub fn wait_interrupt_also(
        &mut self,
        also: u64,
        deadline: u64,
    ) -> Result<(Option<crate::irq::Pending<'_, T, S>>, u64), crate::irq::IrqError> {
        self.transport.wait_also(also, deadline)
    }
}

/// Why a virtio-net operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetError {
    /// Identification, reset, feature negotiation or queue discovery failed.
    Init(InitError),
    /// The device does not offer `VIRTIO_NET_F_MAC`.
    NoMac,
    /// A queue's memory cannot hold even a one-entry queue with its buffer.
    QueueMemoryTooSmall,
    /// Every transmit buffer is in flight: poll and retry.
    QueueFull,
    /// The frame is empty or longer than [`MAX_FRAME`].
    BadFrameLength(usize),
    /// The caller's buffer is shorter than the received frame (the frame
    /// is dropped).
    BufferTooSmall(usize),
    /// The device returned a receive buffer with a length shorter than the
    /// header or longer than the buffer (the buffer is reposted).
    BadUsedLen(u32),
    /// The device returned a used id that is no buffer in flight; it has
    /// been reset.
    BadUsedId(u32),
    /// The device moved `used.idx` past the buffers in flight; it has been
    /// reset.
    BadUsedIdx(u16),
    /// The device was given up on earlier; no more work is accepted.
    Broken,
    /// A buffer lies outside its DMA region.
    Dma(DmaError),
}

impl core::fmt::Display for NetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            NetError::Init(e) => write!(f, "{e}"),
            NetError::NoMac => write!(f, "the device offers no MAC address (VIRTIO_NET_F_MAC)"),
            NetError::QueueMemoryTooSmall => write!(f, "the queue memory is too small"),
            NetError::QueueFull => write!(f, "every transmit buffer is in flight"),
            NetError::BadFrameLength(n) => write!(f, "a frame of {n} bytes cannot be sent"),
            NetError::BufferTooSmall(n) => write!(f, "a {n}-byte frame does not fit the buffer"),
            NetError::BadUsedLen(len) => write!(f, "the device returned a used length of {len}"),
            NetError::BadUsedId(id) => write!(f, "the device returned unknown used id {id}"),
            NetError::BadUsedIdx(idx) => write!(f, "the device moved used.idx to {idx}"),
            NetError::Broken => write!(f, "the device was given up on after an earlier error"),
            NetError::Dma(e) => write!(f, "a buffer lies outside its DMA region ({e:?})"),
        }
    }
}

impl From<InitError> for NetError {
    fn from(e: InitError) -> Self {
        NetError::Init(e)
    }
}

impl From<DmaError> for NetError {
    fn from(e: DmaError) -> Self {
        NetError::Dma(e)
    }
}

impl From<QueueError> for NetError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Full => NetError::QueueFull,
            QueueError::BadChain => NetError::QueueMemoryTooSmall,
            QueueError::BadUsedIdx(idx) => NetError::BadUsedIdx(idx),
            QueueError::BadUsedId(id) => NetError::BadUsedId(id),
            QueueError::BadUsedLen { len, .. } => NetError::BadUsedLen(len),
            QueueError::Dma(e) => NetError::Dma(e),
        }
    }
}

/// Bytes of queue memory a queue of `size` entries with its buffers takes;
/// `None` for a size that is not a power of two up to
/// [`MAX_QUEUE_SIZE`](crate::queue::MAX_QUEUE_SIZE).
pub const fn queue_bytes(size: u16) -> Option<usize> {
    match QueueLayout::new(size, BUF_STRIDE) {
        Some(layout) => Some(layout.len()),
        None => None,
    }
}

/// A failed [`VirtioNet::new`]: the error, and the parts given to it.
pub struct NetInitFailure<T> {
    /// What went wrong.
    pub error: NetError,
    /// The transport (the device is reset or marked `FAILED`).
    pub transport: T,
    /// The receive queue memory, no longer known to the device.
    pub rx_mem: DmaRegion,
    /// The transmit queue memory, no longer known to the device.
    pub tx_mem: DmaRegion,
}

impl<T> fmt::Debug for NetInitFailure<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetInitFailure")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> From<NetInitFailure<T>> for NetError {
    fn from(failure: NetInitFailure<T>) -> Self {
        failure.error
    }
}

/// A virtio-net device driven through transport `T`.
pub struct VirtioNet<T: NetTransport> {
    transport: T,
    rx: SplitQueue,
    tx: SplitQueue,
    mac: [u8; 6],
    features: Features,
    /// Set once the device misbehaved and was reset: why.
    broken: Option<NetError>,
}

impl<T: NetTransport> fmt::Debug for VirtioNet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VirtioNet")
            .field("mac", &self.mac)
            .field("features", &self.features)
            .field("rx", &self.rx)
            .field("tx", &self.tx)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// Offset in the queue region of the buffer of descriptor `desc`.
#[inline]
fn buf_offset(queue: &SplitQueue, desc: u16) -> usize {
    queue.layout().scratch() + BUF_STRIDE * usize::from(desc)
}

/// Sets up queue `index` in `mem`, one descriptor per chain; `Err` carries
/// the region back.
fn setup_queue<T: Transport>(
    transport: &mut T,
    index: u16,
    mem: DmaRegion,
) -> Result<SplitQueue, (NetError, DmaRegion)> {
    let num_max = match device::queue_num_max(transport, index) {
        Ok(n) => n,
        Err(e) => return Err((e.into(), mem)),
    };
    let Some(layout) = QueueLayout::fit(num_max, mem.len(), BUF_STRIDE) else {
        return Err((device::fail(transport, NetError::QueueMemoryTooSmall), mem));
    };
    SplitQueue::new(mem, layout, 1, false)
        .map_err(|(e, mem)| (device::fail(transport, e.into()), mem))
}

/// Writes the descriptor of the buffer at `desc` and makes it available.
fn post_rx(rx: &mut SplitQueue, desc: u16) -> Result<(), QueueError> {
    let range = DmaRange::new(rx.mem(), buf_offset(rx, desc), BUF_LEN)?;
    rx.write_desc(
        desc,
        Segment {
            range,
            device_writes: true,
        },
        None,
    )?;
    rx.push(1, BUF_LEN as u32)?;
    Ok(())
}

impl<T: NetTransport> VirtioNet<T> {
    /// Initialises the device: identification (magic, version 2, device
    /// id 1), reset, ACKNOWLEDGE, DRIVER, features (`VERSION_1` and `MAC`,
    /// both required), FEATURES_OK, the receiveq in `rx_mem` with every
    /// buffer posted, the transmitq in `tx_mem`, the MAC address,
    /// DRIVER_OK, then a notification of the receiveq.
    ///
    /// Each queue takes `min(QueueNumMax, what fits in its region)`
    /// entries (a power of two), each with a [`BUF_STRIDE`]-byte buffer:
    /// two pages give 4 entries, four pages 8 (see [`queue_bytes`]). On
    /// failure the device is marked `FAILED` (unless it was not
    /// identified) and the parts come back.
    pub fn new(
        mut transport: T,
        rx_mem: DmaRegion,
        tx_mem: DmaRegion,
    ) -> Result<Self, NetInitFailure<T>> {
        let fail = |transport, rx_mem, tx_mem, error: NetError| {
            Err(NetInitFailure {
                error,
                transport,
                rx_mem,
                tx_mem,
            })
        };
        let wanted = Features::VERSION_1 | Features::from_bits_retain(NetFeatures::MAC.bits());
        let features = match device::negotiate(&mut transport, DEVICE_ID, wanted) {
            Ok(features) => features,
            Err(e) => return fail(transport, rx_mem, tx_mem, e.into()),
        };
        if features.bits() & NetFeatures::MAC.bits() == 0 {
            let error = device::fail(&mut transport, NetError::NoMac);
            return fail(transport, rx_mem, tx_mem, error);
        }
        let mut rx = match setup_queue(&mut transport, RX_QUEUE, rx_mem) {
            Ok(q) => q,
            Err((error, rx_mem)) => return fail(transport, rx_mem, tx_mem, error),
        };
        let tx = match setup_queue(&mut transport, TX_QUEUE, tx_mem) {
            Ok(q) => q,
            Err((error, tx_mem)) => return fail(transport, rx.into_region(), tx_mem, error),
        };
        let areas = (|| {
            for desc in rx.heads() {
                post_rx(&mut rx, desc)?;
            }
            Ok::<_, QueueError>((rx.areas()?, tx.areas()?))
        })();
        let (rx_areas, tx_areas) = match areas {
            Ok(areas) => areas,
            Err(e) => {
                let error = device::fail(&mut transport, e.into());
                return fail(transport, rx.into_region(), tx.into_region(), error);
            }
        };
        transport.activate_queue(RX_QUEUE, rx.size(), rx_areas);
        transport.activate_queue(TX_QUEUE, tx.size(), tx_areas);
        let mac = transport.net_mac();
        device::driver_ok(&mut transport);
        if rx.should_notify() {
            transport.notify(RX_QUEUE);
        }
        Ok(VirtioNet {
            transport,
            rx,
            tx,
            mac,
            features,
            broken: None,
        })
    }

    /// The MAC address, as read at initialisation.
    #[inline]
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// The negotiated feature bits (device-independent and net bits).
    #[inline]
    pub fn features(&self) -> Features {
        self.features
    }

    /// Entries (and buffers) of the receive queue.
    #[inline]
    pub fn rx_queue_size(&self) -> u16 {
        self.rx.size()
    }

    /// Entries (and buffers) of the transmit queue.
    #[inline]
    pub fn tx_queue_size(&self) -> u16 {
        self.tx.size()
    }

    /// Frames submitted for transmission that the device has not returned
    /// yet (as of the last reclaim).
    #[inline]
    pub fn tx_in_flight(&self) -> u16 {
        self.tx.in_flight()
    }

    /// Sends `frame` (a whole Ethernet frame without FCS, 1 ..=
    /// [`MAX_FRAME`] bytes): reclaims the transmit buffers the device is
    /// done with, copies the frame after a zeroed header into a free one,
    /// makes it available and notifies the device if it wants it. Does not
    /// wait for the device.
    pub fn send(&mut self, frame: &[u8]) -> Result<(), NetError> {
        if self.broken.is_some() {
            return Err(NetError::Broken);
        }
        if frame.is_empty() || frame.len() > MAX_FRAME {
            return Err(NetError::BadFrameLength(frame.len()));
        }
        self.reclaim_tx()?;
        let Some(desc) = self.tx.next_head() else {
            return Err(NetError::QueueFull);
        };
        let at = buf_offset(&self.tx, desc);
        let len = HDR_LEN + frame.len();
        let mem = self.tx.mem_mut();
        mem.fill(at, HDR_LEN, 0)?;
        mem.write_bytes(at + HDR_LEN, frame)?;
        let range = DmaRange::new(self.tx.mem(), at, len)?;
        self.tx.write_desc(
            desc,
            Segment {
                range,
                device_writes: false,
            },
            None,
        )?;
        self.tx.push(1, 0)?;
        if self.tx.should_notify() {
            self.transport.notify(TX_QUEUE);
        }
        Ok(())
    }

    /// Frees every transmit buffer the device has returned. A length the
    /// device reports for a transmit buffer is ignored (it writes nothing
    /// there, and the buffer is freed all the same).
    pub fn reclaim_tx(&mut self) -> Result<(), NetError> {
        if self.broken.is_some() {
            return Err(NetError::Broken);
        }
        while let Some(used) = self.tx.pop_used() {
            match used {
                Ok(_) | Err(QueueError::BadUsedLen { .. }) => {}
                Err(e) => return Err(self.give_up(e.into())),
            }
        }
        Ok(())
    }

    /// Takes one received frame, if any: copies it (without the virtio
    /// header) into `buf`, reposts its buffer and returns its length.
    /// Never blocks.
    ///
    /// A receive length outside the buffer, or a frame longer than `buf`,
    /// is reported as an error and the frame dropped; the driver goes on.
    /// A protocol violation (bad used id or index) resets the device, and
    /// every later call returns an error.
    pub fn poll_recv(&mut self, buf: &mut [u8]) -> Option<Result<usize, NetError>> {
        if self.broken.is_some() {
            return Some(Err(NetError::Broken));
        }
        let (head, len) = match self.rx.pop_used()? {
            Ok(used) => (used.head, used.len),
            Err(QueueError::BadUsedLen { len, .. }) => {
                return Some(self.repost().and(Err(NetError::BadUsedLen(len))));
            }
            Err(e) => return Some(Err(self.give_up(e.into()))),
        };
        let len = len as usize;
        let result = if len < HDR_LEN {
            Err(NetError::BadUsedLen(len as u32))
        } else if len - HDR_LEN > buf.len() {
            Err(NetError::BufferTooSmall(len - HDR_LEN))
        } else {
            let frame = &mut buf[..len - HDR_LEN];
            self.rx
                .mem()
                .read_bytes(buf_offset(&self.rx, head) + HDR_LEN, frame)
                .map(|()| frame.len())
                .map_err(NetError::from)
        };
        Some(self.repost().and(result))
    }

    /// Checks the device's `Status` (one register read): if it set
    /// `DEVICE_NEEDS_RESET`, resets it and refuses further work.
    pub fn check_device(&mut self) -> Result<(), NetError> {
        if self.broken.is_some() {
            return Err(NetError::Broken);
        }
        if self
            .transport
            .status()
            .contains(DeviceStatus::DEVICE_NEEDS_RESET)
        {
            return Err(self.give_up(NetError::Broken));
        }
        Ok(())
    }

    /// Asks the device to interrupt (or not) when it uses a buffer of
    /// either queue (the available rings' `NO_INTERRUPT` hint; off after
    /// [`new`](Self::new)).
    pub fn set_interrupts(&mut self, on: bool) -> Result<(), NetError> {
        self.rx.set_interrupts(on)?;
        self.tx.set_interrupts(on)?;
        Ok(())
    }

    /// Resets the device (it stops using both queues and every buffer) and
    /// gives back the transport and the two regions.
    pub fn into_parts(mut self) -> (T, DmaRegion, DmaRegion) {
        device::reset(&mut self.transport);
        (self.transport, self.rx.into_region(), self.tx.into_region())
    }

    /// Makes a receive buffer available again after one was returned. The
    /// chain just freed heads the free list, so this reposts the same
    /// buffer; each buffer belongs to its own descriptor either way.
    fn repost(&mut self) -> Result<(), NetError> {
        let Some(desc) = self.rx.next_head() else {
            return Err(NetError::QueueFull);
        };
        post_rx(&mut self.rx, desc)?;
        if self.rx.should_notify() {
            self.transport.notify(RX_QUEUE);
        }
        Ok(())
    }

    /// Gives up on a misbehaving device: resets it (so it stops DMA) and
    /// marks it `FAILED`. Returns `cause`.
    fn give_up(&mut self, cause: NetError) -> NetError {
        self.broken = Some(cause);
        device::reset(&mut self.transport);
        self.transport.set_status(DeviceStatus::FAILED);
        cause
    }
}
