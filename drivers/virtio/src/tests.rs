//! Host tests of the virtio-mmio layer on a RAM-backed fake device.

use mmio_types::{FakeDevice, RegisterBlock, field_shared};

use crate::blk::{self, BlkConfig};
use crate::mmio::{MAGIC, VirtioMmioRegs, VirtioMmioWindow};
use crate::{DeviceStatus, Features, InterruptStatus, VirtioConfig, VirtioRegs, VirtioRegsRead};

fn device() -> (FakeDevice, VirtioMmioWindow) {
    let (dev, token) = FakeDevice::new(4096);
    (
        dev,
        VirtioMmioWindow::from_token(token).expect("4 KiB token"),
    )
}

#[test]
fn register_block_is_exactly_the_control_area() {
    assert_eq!(<VirtioMmioRegs as RegisterBlock>::SIZE, 0x100);
    assert_eq!(<BlkConfig as RegisterBlock>::SIZE, 0x48);
    assert_eq!(VirtioMmioWindow::LEN, 0x1000);
}

#[test]
fn identification_registers_read_at_spec_offsets() {
    let (dev, window) = device();
    dev.write_u32(0x000, MAGIC);
    dev.write_u32(0x004, 2);
    dev.write_u32(0x008, blk::DEVICE_ID);
    dev.write_u32(0x00c, 0x554d_4551);
    dev.write_u32(0x060, 0b11);
    dev.write_u32(0x0fc, 7);
    let regs = window.regs_shared();
    assert_eq!(regs.magic_value(), MAGIC);
    assert_eq!(regs.version(), 2);
    assert_eq!(regs.device_id(), blk::DEVICE_ID);
    assert_eq!(regs.vendor_id(), 0x554d_4551);
    assert_eq!(regs.interrupt_status(), InterruptStatus::all());
    assert_eq!(regs.config_generation(), 7);
}

#[test]
fn status_writes_and_read_modify_write() {
    let (dev, mut window) = device();
    let mut regs = window.regs();
    regs.set_status(DeviceStatus::ACKNOWLEDGE);
    regs.insert_status(DeviceStatus::DRIVER);
    assert_eq!(dev.read_u32(0x070), 0b11);
    assert_eq!(
        regs.as_shared().status(),
        DeviceStatus::ACKNOWLEDGE | DeviceStatus::DRIVER
    );
    regs.reset();
    assert_eq!(dev.read_u32(0x070), 0);
}

#[test]
fn interrupt_ack_and_notify_write_their_registers() {
    let (dev, mut window) = device();
    let mut regs = window.regs();
    regs.ack_interrupt(InterruptStatus::USED_BUFFER);
    regs.notify(3);
    assert_eq!(dev.read_u32(0x064), 1);
    assert_eq!(dev.read_u32(0x050), 3);
}

#[test]
fn queue_guard_selects_before_touching_queue_registers() {
    let (dev, mut window) = device();
    dev.write_u32(0x034, 256);
    dev.write_u32(0x044, 1);
    let mut regs = window.regs();
    let mut queue = regs.select_queue(2);
    assert_eq!(dev.read_u32(0x030), 2);
    assert_eq!(queue.index(), 2);
    assert_eq!(queue.num_max(), 256);
    assert!(queue.ready());
    queue.set_num(128);
    queue.set_desc_area(0x1_2345_6000);
    queue.set_driver_area(0x2_0000_1000);
    queue.set_device_area(0x3_0000_2000);
    queue.set_ready(false);
    queue.reset();
    assert_eq!(dev.read_u32(0x038), 128);
    assert_eq!((dev.read_u32(0x080), dev.read_u32(0x084)), (0x2345_6000, 1));
    assert_eq!((dev.read_u32(0x090), dev.read_u32(0x094)), (0x1000, 2));
    assert_eq!((dev.read_u32(0x0a0), dev.read_u32(0x0a4)), (0x2000, 3));
    assert_eq!(dev.read_u32(0x044), 0);
    assert_eq!(dev.read_u32(0x0c0), 1);
    assert!(queue.reset_pending());
}

#[test]
fn feature_words_go_through_their_selectors() {
    let (dev, mut window) = device();
    dev.write_u32(0x010, 0x8000_0001);
    let mut regs = window.regs();
    let word = regs.select_device_features(1);
    assert_eq!(word.index(), 1);
    assert_eq!(word.read(), 0x8000_0001);
    assert_eq!(dev.read_u32(0x014), 1);

    // RAM cannot bank: both words read the same 32 bits here.
    let offered = regs.device_features();
    assert_eq!(offered.bits(), 0x8000_0001_8000_0001);

    regs.set_driver_features(Features::VERSION_1 | Features::RING_EVENT_IDX);
    // The high word was written last, with its selector set to 1.
    assert_eq!(dev.read_u32(0x024), 1);
    assert_eq!(dev.read_u32(0x020), 1);
}

#[test]
fn shared_memory_region_reads_both_halves() {
    let (dev, mut window) = device();
    dev.write_u32(0x0b0, 0x1000);
    dev.write_u32(0x0b4, 0);
    dev.write_u32(0x0b8, 0x8000_0000);
    dev.write_u32(0x0bc, 0x1);
    let mut regs = window.regs();
    let shm = regs.select_shm(4);
    assert_eq!(dev.read_u32(0x0ac), 4);
    assert_eq!(shm.len(), 0x1000);
    assert!(!shm.is_empty());
    assert_eq!(shm.base(), 0x1_8000_0000);
}

#[test]
fn blk_capacity_combines_both_halves_from_config_space() {
    let (dev, window) = device();
    dev.write_u32(0x100, 0x0000_0800);
    dev.write_u32(0x104, 0x0000_0002);
    assert_eq!(blk::capacity(&window), 0x2_0000_0800);
}

#[test]
fn blk_config_fields_sit_at_spec_offsets() {
    let (dev, mut window) = device();
    dev.write_u32(0x100 + 0x14, 4096);
    dev.write_u16(0x100 + 0x22, 4);
    dev.write_u8(0x100 + 0x12, 16);
    let cfg = window.config_shared::<BlkConfig>();
    assert_eq!(field_shared!(cfg, blk_size).read(), 4096);
    assert_eq!(field_shared!(cfg, num_queues).read(), 4);
    assert_eq!(field_shared!(cfg, heads).read(), 16);
    let mut cfg = window.config::<BlkConfig>();
    mmio_types::field!(cfg, writeback).write(1);
    assert_eq!(dev.read_u8(0x100 + 0x20), 1);
    assert_eq!(dev.read_u8(0x100 + 0x21), 0);
}
