//! The virtio-pci modern transport (virtio 1.2, section 4.1): the common
//! configuration, notification, ISR and device configuration structures,
//! each a page-sized typed window derived from the driver's BAR capability.
//!
//! Configuration space (where the PCI capability list lives) is never
//! mapped into a task: the kernel reads the vendor-specific capabilities
//! at boot and reports them through `pci_cap`; [`PciLayout`] checks them
//! against the BAR, and [`map`] derives and maps one window per structure.

use mmio_types::{
    Banked, MmioWindow, ReadOnly, ReadPure, ReadPureWrite, Selected, Selector, SharedMmioPointer,
    WriteOnly, bank, banked, banked_shared, field, field_shared, place, register_block,
};

use crate::blk::BlkConfig;
use crate::blk_driver::BlkTransport;
use crate::device::Transport;
use crate::mmio::{MAGIC, VERSION_MODERN};
use crate::net::{NetConfig, NetTransport};
use crate::pci_layout::{LayoutError, PAGE, PciLayout};
use crate::queue::QueueAreas;
use crate::status::{DeviceStatus, InterruptStatus};

register_block! {
    /// The common configuration structure (virtio 1.2, section 4.1.4.3).
    ///
    /// Feature words and queue registers are [`Banked`]: reached only
    /// through a selection of their selector.
    pub struct CommonCfg in PAGE {
        /// 0x00 `device_feature_select`.
        0x00 => pub device_feature_select: Selector<ReadPureWrite<u32>>,
        /// 0x04 `device_feature`: the selected word of the offered features.
        0x04 => pub device_feature: Banked<PciDeviceFeaturesBank, ReadPure<u32>>,
        /// 0x08 `driver_feature_select`.
        0x08 => pub driver_feature_select: Selector<ReadPureWrite<u32>>,
        /// 0x0c `driver_feature`: the selected word of the accepted features.
        0x0c => pub driver_feature: Banked<PciDriverFeaturesBank, ReadPureWrite<u32>>,
        /// 0x10 `config_msix_vector`.
        0x10 => pub config_msix_vector: ReadPureWrite<u16>,
        /// 0x12 `num_queues`.
        0x12 => pub num_queues: ReadPure<u16>,
        /// 0x14 `device_status`; writing 0 resets the device.
        0x14 => pub device_status: ReadPureWrite<u8>,
        /// 0x15 `config_generation`.
        0x15 => pub config_generation: ReadPure<u8>,
        /// 0x16 `queue_select`.
        0x16 => pub queue_select: Selector<ReadPureWrite<u16>>,
        /// 0x18 `queue_size`: the maximum on reset; the driver may lower it.
        0x18 => pub queue_size: Banked<PciQueueBank, ReadPureWrite<u16>>,
        /// 0x1a `queue_msix_vector`.
        0x1a => pub queue_msix_vector: Banked<PciQueueBank, ReadPureWrite<u16>>,
        /// 0x1c `queue_enable`.
        0x1c => pub queue_enable: Banked<PciQueueBank, ReadPureWrite<u16>>,
        /// 0x1e `queue_notify_off`.
        0x1e => pub queue_notify_off: Banked<PciQueueBank, ReadPure<u16>>,
        /// 0x20 `queue_desc`, low half.
        0x20 => pub queue_desc_lo: Banked<PciQueueBank, ReadPureWrite<u32>>,
        /// 0x24 `queue_desc`, high half.
        0x24 => pub queue_desc_hi: Banked<PciQueueBank, ReadPureWrite<u32>>,
        /// 0x28 `queue_driver`, low half.
        0x28 => pub queue_driver_lo: Banked<PciQueueBank, ReadPureWrite<u32>>,
        /// 0x2c `queue_driver`, high half.
        0x2c => pub queue_driver_hi: Banked<PciQueueBank, ReadPureWrite<u32>>,
        /// 0x30 `queue_device`, low half.
        0x30 => pub queue_device_lo: Banked<PciQueueBank, ReadPureWrite<u32>>,
        /// 0x34 `queue_device`, high half.
        0x34 => pub queue_device_hi: Banked<PciQueueBank, ReadPureWrite<u32>>,
        /// 0x38 `queue_notify_data`.
        0x38 => pub queue_notify_data: Banked<PciQueueBank, ReadPure<u16>>,
        /// 0x3a `queue_reset`.
        0x3a => pub queue_reset: Banked<PciQueueBank, ReadPureWrite<u16>>,
        0x3c => @end,
    }
}

bank!(
    /// Queue registers, selected by `queue_select`.
    pub PciQueueBank: CommonCfg.queue_select as u16
);

bank!(
    /// `device_feature`, selected by `device_feature_select`.
    pub PciDeviceFeaturesBank: CommonCfg.device_feature_select as u32
);

bank!(
    /// `driver_feature`, selected by `driver_feature_select`.
    pub PciDriverFeaturesBank: CommonCfg.driver_feature_select as u32
);

register_block! {
    /// The notification structure's page: 16-bit queue notify registers,
    /// at `queue_notify_off * notify_off_multiplier`.
    pub struct NotifyCfg in PAGE {
        0x000 => pub notify: [WriteOnly<u16>; 2048],
        0x1000 => @end,
    }
}

register_block! {
    /// The ISR status structure's page: one byte whose read returns the
    /// interrupt causes and clears them (and de-asserts INTx).
    pub struct IsrCfg in PAGE {
        0x000 => pub isr: ReadOnly<u8>,
        0x001 => @end,
    }
}

register_block! {
    /// The page of the device-specific configuration; typed by the
    /// device's own block ([`BlkConfig`], [`NetConfig`]) placed at 0.
    pub struct DeviceCfgPage in PAGE {
        0x000 => _reserved,
        0x1000 => @end,
    }
}

place!(BlkConfig in 0x1000);
place!(NetConfig in 0x1000);

/// Queues whose notification offset is remembered.
const NOTIFY_CACHE: usize = 8;

/// A modern virtio-pci device through its four structures.
pub struct VirtioPci {
    common: MmioWindow<CommonCfg, PAGE>,
    notify: MmioWindow<NotifyCfg, PAGE>,
    isr: MmioWindow<IsrCfg, PAGE>,
    device: MmioWindow<DeviceCfgPage, PAGE>,
    layout: PciLayout,
    device_id: u32,
    /// Byte offset of each queue's notify register, as checked.
    notify_at: [Option<usize>; NOTIFY_CACHE],
}

impl core::fmt::Debug for VirtioPci {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VirtioPci")
            .field("device_id", &self.device_id)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

/// The four windows of a device, each over its structure's page.
#[derive(Debug)]
pub struct PciWindows {
    /// Common configuration.
    pub common: MmioWindow<CommonCfg, PAGE>,
    /// Notification structure.
    pub notify: MmioWindow<NotifyCfg, PAGE>,
    /// ISR status.
    pub isr: MmioWindow<IsrCfg, PAGE>,
    /// Device-specific configuration.
    pub device: MmioWindow<DeviceCfgPage, PAGE>,
}

impl VirtioPci {
    /// The device with virtio DeviceID `device_id` (from its PCI Device
    /// ID, [`crate::pci_layout::device_id`]) whose structures `layout`
    /// describes, through `windows` over those structures.
    pub fn new(windows: PciWindows, layout: PciLayout, device_id: u32) -> VirtioPci {
        VirtioPci {
            common: windows.common,
            notify: windows.notify,
            isr: windows.isr,
            device: windows.device,
            layout,
            device_id,
            notify_at: [None; NOTIFY_CACHE],
        }
    }

    /// The windows back (to unmap them).
    pub fn into_windows(self) -> PciWindows {
        PciWindows {
            common: self.common,
            notify: self.notify,
            isr: self.isr,
            device: self.device,
        }
    }

    fn queue(&mut self, queue: u16) -> Selected<'_, PciQueueBank> {
        Selected::new(self.common.regs(), queue)
    }

    /// The checked notify offset of `queue`, read from `queue_notify_off`.
    fn notify_offset(&mut self, queue: u16) -> Option<usize> {
        let cached = self.notify_at.get(usize::from(queue)).copied().flatten();
        if cached.is_some() {
            return cached;
        }
        let q = self.queue(queue);
        let off = banked_shared!(q, queue_notify_off).read();
        let at = self.layout.notify_offset(off)?;
        if let Some(slot) = self.notify_at.get_mut(usize::from(queue)) {
            *slot = Some(at);
        }
        Some(at)
    }

    /// Reads `C` at the start of the device configuration between two
    /// equal reads of `config_generation` (virtio 1.2, section 2.5.1).
    fn read_device<C: mmio_types::FitsAt<0, PAGE>, T>(
        &self,
        mut read: impl FnMut(SharedMmioPointer<'_, C>) -> T,
    ) -> T {
        loop {
            let before = self.config_generation();
            let value = read(self.device.sub_shared::<C, 0>());
            if self.config_generation() == before {
                return value;
            }
        }
    }
}

impl Transport for VirtioPci {
    /// A virtio-pci device has no `MagicValue`: the transport was built
    /// only after the function was identified as a modern virtio device
    /// (vendor 0x1af4, Device ID 0x1040 on, every structure in place), so
    /// it reports the value of a virtio transport.
    fn magic(&self) -> u32 {
        MAGIC
    }

    /// The modern transport (no legacy virtio-pci is driven).
    fn version(&self) -> u32 {
        VERSION_MODERN
    }

    fn device_id(&self) -> u32 {
        self.device_id
    }

    fn device_features(&mut self, word: u32) -> u32 {
        let sel = Selected::<PciDeviceFeaturesBank>::new(self.common.regs(), word);
        banked_shared!(sel, device_feature).read()
    }

    fn set_driver_features(&mut self, word: u32, bits: u32) {
        let mut sel = Selected::<PciDriverFeaturesBank>::new(self.common.regs(), word);
        banked!(sel, driver_feature).write(bits);
    }

    fn status(&self) -> DeviceStatus {
        let regs = self.common.regs_shared();
        DeviceStatus::from_bits_retain(u32::from(field_shared!(regs, device_status).read()))
    }

    fn set_status(&mut self, status: DeviceStatus) {
        let mut regs = self.common.regs();
        // The status bits all lie in the low byte.
        field!(regs, device_status).write(status.bits() as u8);
    }

    /// `queue_size` of the queue (its maximum until the driver writes
    /// it); 0 if the queue does not exist or its notify register lies
    /// outside the notification structure.
    fn queue_num_max(&mut self, queue: u16) -> u32 {
        let q = self.queue(queue);
        let size = banked_shared!(q, queue_size).read();
        if size == 0 || self.notify_offset(queue).is_none() {
            return 0;
        }
        u32::from(size)
    }

    fn queue_ready(&mut self, queue: u16) -> bool {
        let q = self.queue(queue);
        banked_shared!(q, queue_enable).read() & 1 != 0
    }

    fn activate_queue(&mut self, queue: u16, size: u16, areas: QueueAreas) {
        let mut q = self.queue(queue);
        banked!(q, queue_size).write(size);
        banked!(q, queue_desc_lo).write(areas.desc as u32);
        banked!(q, queue_desc_hi).write((areas.desc >> 32) as u32);
        banked!(q, queue_driver_lo).write(areas.driver as u32);
        banked!(q, queue_driver_hi).write((areas.driver >> 32) as u32);
        banked!(q, queue_device_lo).write(areas.device as u32);
        banked!(q, queue_device_hi).write((areas.device >> 32) as u32);
        banked!(q, queue_enable).write(1);
    }

    /// Writes the queue's index to its notify register; a queue whose
    /// register lies outside the notification structure (refused by
    /// [`queue_num_max`](Self::queue_num_max) already) is not notified.
    fn notify(&mut self, queue: u16) {
        let Some(at) = self.notify_offset(queue) else {
            return;
        };
        let mut regs = self.notify.regs();
        if let Some(mut reg) = field!(regs, notify).get(at / 2) {
            reg.write(queue);
        }
    }

    fn config_generation(&self) -> u32 {
        let regs = self.common.regs_shared();
        u32::from(field_shared!(regs, config_generation).read())
    }

    /// virtio-pci has no side-effect-free interrupt status: reading the
    /// ISR status byte clears it, so only
    /// [`take_interrupt`](Transport::take_interrupt) reads it; this
    /// reports no cause.
    fn interrupt_status(&self) -> InterruptStatus {
        InterruptStatus::empty()
    }

    /// Nothing to write: the ISR read acknowledges on virtio-pci.
    fn ack_interrupt(&mut self, _bits: InterruptStatus) {}

    /// Reads the ISR status byte: the causes (bit 0 a used buffer, bit 1
    /// a configuration change, as virtio-mmio's `InterruptStatus`), which
    /// the read clears, de-asserting INTx.
    fn take_interrupt(&mut self) -> InterruptStatus {
        let mut regs = self.isr.regs();
        InterruptStatus::from_bits_retain(u32::from(field!(regs, isr).read()))
    }
}

impl BlkTransport for VirtioPci {
    fn blk_capacity(&self) -> u64 {
        self.read_device(|cfg: SharedMmioPointer<'_, BlkConfig>| {
            let low = field_shared!(cfg, capacity_low).read();
            let high = field_shared!(cfg, capacity_high).read();
            u64::from(high) << 32 | u64::from(low)
        })
    }
}

impl NetTransport for VirtioPci {
    fn net_mac(&self) -> [u8; 6] {
        self.read_device(|cfg: SharedMmioPointer<'_, NetConfig>| {
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
}

/// Bytes of device configuration the blk driver reads (`capacity`).
pub const BLK_DEVICE_MIN: usize = 8;
/// Bytes of device configuration the net driver reads (`mac`, `status`).
pub const NET_DEVICE_MIN: usize = 8;

/// Why [`map`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PciError {
    /// A system call failed: the step, and the kernel's error.
    Sys(&'static str, nexus_abi::SysError),
    /// The function or its capabilities cannot be used.
    Layout(LayoutError),
    /// A mapped structure window does not have a page's length.
    WindowLength(usize),
}

impl core::fmt::Display for PciError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PciError::Sys(step, e) => write!(f, "{step}: {e}"),
            PciError::Layout(e) => write!(f, "{e}"),
            PciError::WindowLength(len) => {
                write!(f, "a structure's window is {len:#x} bytes, not a page")
            }
        }
    }
}

/// Builds the transport of the virtio-pci function whose BAR the window
/// capability in `slot` is (it needs `MAP` and `DERIVE`): reads the
/// function's identity and vendor capabilities (`pci_info`, `pci_cap`),
/// checks them ([`PciLayout::parse`], the device configuration at least
/// `device_min` bytes), then derives and maps one page-sized window per
/// structure.
#[cfg(target_arch = "riscv64")]
pub fn map(slot: usize, device_min: usize) -> Result<VirtioPci, PciError> {
    use nexus_abi::{CapRights, MapProt, sys};

    use crate::pci_layout::device_id;

    let sys_err = |step| move |e| PciError::Sys(step, e);
    let info = sys::pci_info(slot).map_err(sys_err("pci_info"))?;
    let id = device_id(info.vendor, info.device).map_err(PciError::Layout)?;
    let bar_len = sys::cap_info(slot).map_err(sys_err("cap_info"))?.len;
    let mut caps = [[0u8; 24]; 8];
    let n = usize::from(info.vendor_caps).min(caps.len());
    for (i, cap) in caps[..n].iter_mut().enumerate() {
        *cap = sys::pci_cap(slot, i).map_err(sys_err("pci_cap"))?;
    }
    let layout =
        PciLayout::parse(info.bar, bar_len, device_min, &caps[..n]).map_err(PciError::Layout)?;
    let rights = CapRights::READ | CapRights::WRITE | CapRights::MAP;
    let token = |offset: usize| {
        let derived = sys::cap_derive(slot, offset, PAGE, rights)
            .map_err(sys_err("deriving a structure's window"))?;
        sys::mmio_map(derived, MapProt::RW).map_err(sys_err("mapping a structure's window"))
    };
    let windows = PciWindows {
        common: MmioWindow::from_token(token(layout.common.offset)?)
            .map_err(|e| PciError::WindowLength(e.actual()))?,
        notify: MmioWindow::from_token(token(layout.notify.offset)?)
            .map_err(|e| PciError::WindowLength(e.actual()))?,
        isr: MmioWindow::from_token(token(layout.isr.offset)?)
            .map_err(|e| PciError::WindowLength(e.actual()))?,
        device: MmioWindow::from_token(token(layout.device.offset)?)
            .map_err(|e| PciError::WindowLength(e.actual()))?,
    };
    Ok(VirtioPci::new(windows, layout, id))
}
