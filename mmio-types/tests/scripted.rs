//! Scripted fake devices: register sequences checked in order, read side effects, the log.

use mmio_types::{
    Access, FakeDevice, MmioWindow, Op, ReadOnly, ReadPure, ReadPureWrite, ReadWrite,
    ScriptedDevice, Selected, Selector, WriteOnly, banks, field, field_shared, register_block,
};

register_block! {
    struct Port in 0x1000 {
        0x0 => slot: Overlay,
        0x1 => status: ReadOnly<u8>,
        0x2 => ctrl: Selector<ReadPureWrite<u8>, 0x80>,
        0x3 => _reserved,
        0x4 => count: ReadWrite<u32>,
        0x8 => id: ReadPure<u16>,
        0xa => _reserved1,
        0xc => @end,
    }
}
register_block! { struct Data { 0x0 => data: WriteOnly<u8>, 0x1 => @end } }
register_block! { struct Latch { 0x0 => latch: ReadPureWrite<u8>, 0x1 => @end } }
banks! { Overlay: Port.slot by ctrl { DataBank = 0 => Data, LatchBank = 0x80 => Latch } }

type PortWindow = MmioWindow<Port, 0x1000>;

fn device() -> (ScriptedDevice, PortWindow) {
    let (dev, token) = ScriptedDevice::new(0x1000);
    dev.name(0x0, "DATA").name(0x1, "STATUS").name(0x2, "CTRL");
    (dev, PortWindow::from_token(token).unwrap())
}

/// The driver under test: waits for STATUS bit 0, then sends `byte`.
fn send(window: &mut PortWindow, byte: u8) {
    let mut regs = window.regs();
    while field!(regs, status).read() & 1 == 0 {}
    let mut data = Selected::<DataBank>::new(regs, ());
    let mut bank = data.bank();
    field!(bank, data).write(byte);
}

#[test]
fn a_driver_sequence_that_follows_the_script_passes() {
    let (dev, mut window) = device();
    dev.expect([
        Access::read(0x1, 0u8),
        Access::read(0x1, 1u8),
        // Selecting the data bank: the selector bit is already clear, so
        // the crate reads CTRL and does not write it.
        Access::read(0x2, 0x03u8),
        Access::write(0x0, b'A'),
    ]);
    send(&mut window, b'A');
    dev.finish();
    assert_eq!(dev.log().len(), 4);
    assert_eq!(dev.writes_to(0x0), [u64::from(b'A')]);
}

#[test]
fn selecting_another_bank_is_a_read_and_a_write_of_the_selector() {
    let (dev, mut window) = device();
    dev.expect([
        Access::read(0x2, 0x03u8),
        Access::write(0x2, 0x83u8),
        Access::write(0x0, 0x0cu8),
        // A configuration write keeps the selector bit.
        Access::read(0x2, 0x83u8),
        Access::write(0x2, 0x87u8),
    ]);
    let mut latch = Selected::<LatchBank>::new(window.regs(), ());
    let mut bank = latch.bank();
    field!(bank, latch).write(0x0c);
    let mut regs = latch.regs();
    field!(regs, ctrl).write(0x07);
}

#[test]
#[should_panic(
    expected = "scripted device: access #2 was a write of 0x42 to u8 at 0x0 (DATA), but the script expected a write of 0x41 to u8 at 0x0 (DATA)"
)]
fn a_wrong_value_names_the_access() {
    let (dev, mut window) = device();
    dev.expect([Access::read(0x2, 0u8), Access::write(0x0, b'A')]);
    let mut data = Selected::<DataBank>::new(window.regs(), ());
    let mut bank = data.bank();
    field!(bank, data).write(b'B');
}

#[test]
#[should_panic(
    expected = "scripted device: access #1 was a read of u8 at 0x2 (CTRL), but the script expected a read of u8 at 0x1 (STATUS) (returning 0x1)"
)]
fn an_access_out_of_order_names_both() {
    let (dev, mut window) = device();
    dev.expect([Access::read(0x1, 1u8), Access::read(0x2, 0u8)]);
    let _ = Selected::<DataBank>::new(window.regs(), ());
}

#[test]
#[should_panic(
    expected = "scripted device: access #1 was a read of u16 at 0x8, but the script expected a read of u32 at 0x8"
)]
fn a_wrong_width_is_a_mismatch() {
    let (dev, window) = device();
    dev.expect([Access::read(0x8, 7u32)]);
    let _ = field_shared!(window.regs_shared(), id).read();
}

#[test]
#[should_panic(
    expected = "scripted device: access #2 was a write of 0x5 to u32 at 0x4, but the script had ended"
)]
fn an_access_after_the_script_fails() {
    let (dev, mut window) = device();
    dev.expect([Access::read(0x4, 4u32)]);
    let mut regs = window.regs();
    field!(regs, count).modify(|c| c + 1);
}

#[test]
#[should_panic(
    expected = "scripted device: 1 expected access(es) never happened; the first: write of 0x41 to u8 at 0x0 (DATA)"
)]
fn an_access_that_never_happens_fails_at_finish() {
    let (dev, _window) = device();
    dev.expect([Access::write(0x0, b'A')]);
    dev.finish();
}

#[test]
#[should_panic(expected = "expected access(es) never happened")]
fn a_device_dropped_with_its_script_unfinished_fails() {
    let (dev, _window) = device();
    dev.expect([Access::read(0x1, 1u8)]);
    drop(dev);
}

#[test]
fn fifo_registers_pop_on_read() {
    let (dev, mut window) = device();
    dev.fifo(0x1, [1u8, 2, 3]).set(0x1, 0xeeu8);
    let mut regs = window.regs();
    let reads: Vec<u8> = (0..5).map(|_| field!(regs, status).read()).collect();
    assert_eq!(reads, [1, 2, 3, 0xee, 0xee]);
}

#[test]
fn clear_on_read_registers_clear_after_the_read() {
    let (dev, mut window) = device();
    dev.set(0x1, 0b1111_0001u8)
        .clear_on_read(0x1, 0b1111_0000u8);
    let mut regs = window.regs();
    assert_eq!(field!(regs, status).read(), 0b1111_0001);
    assert_eq!(field!(regs, status).read(), 0b0000_0001);
    assert_eq!(dev.get::<u8>(0x1), 1);
}

#[test]
fn computed_reads_and_the_write_log() {
    let (dev, mut window) = device();
    let mut ticks = 0;
    dev.on_read(0x4, move |_| {
        ticks += 10;
        ticks
    });
    let mut regs = window.regs();
    assert_eq!(field!(regs, count).read(), 10);
    field!(regs, count).write(99);
    assert_eq!(field!(regs, count).read(), 20);
    assert_eq!(dev.get::<u32>(0x4), 99);
    assert_eq!(
        dev.log(),
        [
            Access::read(0x4, 10u32),
            Access::write(0x4, 99u32),
            Access::read(0x4, 20u32)
        ]
    );
    assert_eq!(dev.log()[1].op, Op::Write);
    assert_eq!(
        Access::write(0x4, 99u32).to_string(),
        "write of 0x63 to u32 at 0x4"
    );
}

#[test]
fn scripted_registers_are_not_memory_and_plain_fakes_are_untouched() {
    let (dev, mut window) = device();
    let (plain, token) = FakeDevice::new(0x1000);
    let mut plain_window = PortWindow::from_token(token).unwrap();
    let mut regs = window.regs();
    field!(regs, count).write(5);
    let mut plain_regs = plain_window.regs();
    field!(plain_regs, count).write(6);
    assert_eq!(plain.read_u32(0x4), 6);
    assert_eq!(dev.get::<u32>(0x4), 5);
    assert_eq!(dev.log().len(), 1);
}

#[test]
fn a_scripted_device_is_per_thread() {
    let (dev, mut window) = device();
    std::thread::spawn(|| {
        // Another thread's device and window do not see this one's.
        let (other, mut other_window) = device();
        let mut regs = other_window.regs();
        field!(regs, count).write(1);
        assert_eq!(other.log().len(), 1);
    })
    .join()
    .unwrap();
    let mut regs = window.regs();
    field!(regs, count).write(2);
    assert_eq!(dev.log(), [Access::write(0x4, 2u32)]);
}
