//! Window construction, register access and unmapping on a RAM-backed device.

use mmio_types::typenum::{U256, U4096, Unsigned};
use mmio_types::{
    Bank, Banked, FakeDevice, MmioWindow, ReadOnly, ReadPure, ReadPureWrite, ReadWrite,
    RegisterBlock, Selected, UniqueMmioPointer, WriteOnly, banked, banked_shared, field,
    field_shared, register_layout,
};

#[repr(C)]
struct Dev {
    id: ReadPure<u32>,                             // 0x00
    fifo: ReadOnly<u32>,                           // 0x04
    ctrl: ReadWrite<u32>,                          // 0x08
    doorbell: WriteOnly<u32>,                      // 0x0c
    sel: WriteOnly<u32>,                           // 0x10
    bank_val: Banked<DevBank, ReadPureWrite<u32>>, // 0x14
    half: ReadPure<u16>,                           // 0x18
    byte: ReadPureWrite<u8>,                       // 0x1a
    _reserved: [u8; 5],                            // 0x1b
}

register_layout! {
    Dev, size = 0x20;
    registers {
        id @ 0x00, fifo @ 0x04, ctrl @ 0x08, doorbell @ 0x0c, sel @ 0x10,
        bank_val @ 0x14, half @ 0x18, byte @ 0x1a,
    }
    reserved { _reserved @ 0x1b }
}

struct DevBank;

impl Bank for DevBank {
    type Block = Dev;
    fn select(block: &mut UniqueMmioPointer<'_, Dev>, index: u32) {
        field!(*block, sel).write(index);
    }
}

#[repr(C)]
struct Cfg {
    a: ReadPure<u32>,
    b: ReadPureWrite<u32>,
}

register_layout! {
    Cfg, size = 8;
    registers { a @ 0, b @ 4 }
}

type DevWindow = MmioWindow<Dev, U4096>;

fn device() -> (FakeDevice, DevWindow) {
    let (dev, token) = FakeDevice::new(4096);
    (dev, DevWindow::from_token(token).expect("token is 4 KiB"))
}

#[test]
fn from_token_checks_length_and_returns_the_token() {
    let (_dev, token) = FakeDevice::new(0x800);
    let base = token.base();
    let err = DevWindow::from_token(token).expect_err("0x800 is not 4096");
    assert_eq!(err.expected(), 4096);
    assert_eq!(err.actual(), 0x800);
    assert_eq!(
        format!("{err}"),
        "mapping is 0x800 bytes long, the window type needs 0x1000"
    );
    let token = err.into_token();
    assert_eq!((token.base(), token.len()), (base, 0x800));
}

#[test]
fn unmap_gives_back_the_same_token() {
    let (_dev, token) = FakeDevice::new(4096);
    let base = token.base();
    let window = DevWindow::from_token(token).unwrap();
    assert_eq!(window.base(), base);
    let token = window.unmap();
    assert_eq!((token.base(), token.len()), (base, 4096));
    let (ptr, len) = token.into_raw();
    assert_eq!((ptr.as_ptr() as usize, len), (base, 4096));
}

#[test]
fn reads_see_what_the_device_wrote() {
    let (dev, mut window) = device();
    dev.write_u32(0x00, 0x7472_6976);
    dev.write_u32(0x04, 42);
    dev.write_u16(0x18, 0xbeef);
    let mut regs = window.regs();
    assert_eq!(field!(regs, id).read(), 0x7472_6976);
    assert_eq!(field!(regs, fifo).read(), 42);
    assert_eq!(field!(regs, half).read(), 0xbeef);
}

#[test]
fn writes_reach_the_device() {
    let (dev, mut window) = device();
    let mut regs = window.regs();
    field!(regs, ctrl).write(0x1234_5678);
    field!(regs, doorbell).write(7);
    field!(regs, byte).write(0xa5);
    assert_eq!(dev.read_u32(0x08), 0x1234_5678);
    assert_eq!(dev.read_u32(0x0c), 7);
    assert_eq!(dev.read_u8(0x1a), 0xa5);
    // Writes of a byte register touch that byte only.
    assert_eq!(dev.read_u8(0x1b), 0);
    assert_eq!(dev.read_u16(0x18), 0);
}

#[test]
fn read_modify_write_keeps_other_bits() {
    let (dev, mut window) = device();
    dev.write_u32(0x08, 0b1001);
    let mut regs = window.regs();
    field!(regs, ctrl).modify(|v| v | 0b0110);
    assert_eq!(dev.read_u32(0x08), 0b1111);
}

#[test]
fn shared_pointers_allow_pure_reads_side_by_side() {
    let (dev, window) = device();
    dev.write_u32(0x00, 5);
    dev.write_u8(0x1a, 9);
    let first = window.regs_shared();
    let second = window.regs_shared();
    assert_eq!(field_shared!(first, id).read(), 5);
    assert_eq!(field_shared!(second, id).read(), 5);
    assert_eq!(field_shared!(second, byte).read(), 9);
}

#[test]
fn sub_window_is_placed_at_its_offset() {
    let (dev, mut window) = device();
    dev.write_u32(0x100, 0xc0ff_ee00);
    let mut cfg = window.sub::<Cfg, U256>();
    assert_eq!(field!(cfg, a).read(), 0xc0ff_ee00);
    field!(cfg, b).write(3);
    assert_eq!(dev.read_u32(0x104), 3);
    let shared = window.sub_shared::<Cfg, U256>();
    assert_eq!(field_shared!(shared, b).read(), 3);
}

#[test]
fn selecting_a_bank_writes_the_selector_first() {
    let (dev, mut window) = device();
    let mut regs = window.regs();
    let mut bank = Selected::<DevBank>::new(regs.reborrow(), 3);
    assert_eq!(bank.index(), 3);
    assert_eq!(dev.read_u32(0x10), 3);
    banked!(bank, bank_val).write(0x55);
    assert_eq!(dev.read_u32(0x14), 0x55);
    dev.write_u32(0x14, 0x66);
    assert_eq!(banked_shared!(bank, bank_val).read(), 0x66);
    // The guard's last use ends its borrow; selecting again is then allowed.
    let _other = Selected::<DevBank>::new(regs, 4);
    assert_eq!(dev.read_u32(0x10), 4);
}

#[test]
fn layout_macro_records_size_and_alignment() {
    assert_eq!(<Dev as RegisterBlock>::Size::USIZE, 0x20);
    assert_eq!(<Dev as RegisterBlock>::Align::USIZE, 4);
    assert_eq!(<Cfg as RegisterBlock>::Size::USIZE, 8);
    assert_eq!(DevWindow::LEN, 4096);
    assert_eq!(
        core::mem::size_of::<DevWindow>(),
        core::mem::size_of::<usize>()
    );
}

#[test]
fn debug_output_names_base_and_length() {
    let (_dev, window) = device();
    let text = format!("{window:?}");
    assert!(text.starts_with("MmioWindow { base: 0x"), "{text}");
    assert!(text.ends_with("len: 0x1000 }"), "{text}");
}
