//! Window construction, register access and unmapping on a RAM-backed device.

use mmio_types::{
    Banked, FakeDevice, MmioWindow, ReadOnly, ReadPure, ReadPureWrite, ReadWrite, RegisterBlock,
    RegisterField, Selected, Selector, WriteOnly, bank, banked, banked_shared, field, field_shared,
    register_block,
};

register_block! {
    struct Dev in 0x1000 {
        0x00 => id: ReadPure<u32>,
        0x04 => fifo: ReadOnly<u32>,
        0x08 => ctrl: ReadWrite<u32>,
        0x0c => doorbell: WriteOnly<u32>,
        0x10 => sel: Selector<WriteOnly<u32>>,
        0x14 => bank_val: Banked<DevBank, ReadPureWrite<u32>>,
        0x18 => half: ReadPure<u16>,
        0x1a => byte: ReadPureWrite<u8>,
        0x1b => _reserved,
        0x20 => pair: [ReadWrite<u32>; 2],
        0x28 => _reserved1,
        0x2a => mac: [ReadPure<u8>; 6],
        0x30 => @end,
    }
}

bank!(DevBank: Dev.sel as u32);

register_block! {
    struct Cfg at 0x100 in 0x1000 {
        0x0 => a: ReadPure<u32>,
        0x4 => b: ReadPureWrite<u32>,
        0x8 => @end,
    }
}

// Offsets and sizes that are neither small nor powers of two just work.
register_block! {
    struct Far at 0xabc in 0x3000 {
        0x0 => x: ReadPureWrite<u32>,
        0x4 => @end,
    }
}
register_block! {
    struct Odd in 0x3000 {
        0x0 => id: ReadPure<u32>,
        0x4 => _gap,
        0x2ffc => last: ReadPure<u32>,
        0x3000 => @end,
    }
}

type DevWindow = MmioWindow<Dev, 0x1000>;

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
fn arrays_of_small_registers_are_elementwise_and_bounded() {
    let (dev, mut window) = device();
    for (i, b) in [1u8, 2, 3, 4, 5, 6].into_iter().enumerate() {
        dev.write_u8(0x2a + i, b);
    }
    let mut regs = window.regs();
    let mut pair = field!(regs, pair);
    pair.get(1).unwrap().write(9);
    assert!(pair.get(2).is_none());
    assert_eq!(dev.read_u32(0x24), 9);
    let shared = window.regs_shared();
    let mac = field_shared!(shared, mac);
    let bytes: Vec<u8> = (0..6).map(|i| mac.get(i).unwrap().read()).collect();
    assert_eq!(bytes, [1, 2, 3, 4, 5, 6]);
    assert!(mac.get(6).is_none());
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
    let mut cfg = window.sub::<Cfg, 0x100>();
    assert_eq!(field!(cfg, a).read(), 0xc0ff_ee00);
    field!(cfg, b).write(3);
    assert_eq!(dev.read_u32(0x104), 3);
    let shared = window.sub_shared::<Cfg, 0x100>();
    assert_eq!(field_shared!(shared, b).read(), 3);
}

#[test]
fn selecting_a_bank_writes_the_declared_selector_first() {
    let (dev, mut window) = device();
    let mut regs = window.regs();
    let mut bank = Selected::<DevBank>::new(regs.reborrow(), 3);
    assert_eq!(bank.index(), 3);
    assert_eq!(dev.read_u32(0x10), 3);
    banked!(bank, bank_val).write(0x55);
    assert_eq!(dev.read_u32(0x14), 0x55);
    dev.write_u32(0x14, 0x66);
    assert_eq!(banked_shared!(bank, bank_val).read(), 0x66);
    // Unbanked registers stay usable through the guard.
    let mut unbanked = bank.regs();
    field!(unbanked, ctrl).write(0x77);
    assert_eq!(dev.read_u32(0x08), 0x77);
    // The guard's last use ends its borrow; selecting again is then allowed.
    let _other = Selected::<DevBank>::new(regs, 4);
    assert_eq!(dev.read_u32(0x10), 4);
}

#[test]
fn any_offset_and_window_length_work() {
    let (dev, token) = FakeDevice::new(4096);
    // A 0x3000-byte window cannot come from one fake page; check the types
    // and offsets, then use the in-page part.
    assert_eq!(<Odd as RegisterBlock>::SIZE, 0x3000);
    assert_eq!(core::mem::offset_of!(Odd, last), 0x2ffc);
    assert_eq!(MmioWindow::<Odd, 0x3000>::LEN, 0x3000);
    let mut window = MmioWindow::<Dev, 0x1000>::from_token(token).unwrap();
    dev.write_u32(0x100, 1);
    let mut cfg = window.sub::<Cfg, 0x100>();
    assert_eq!(field!(cfg, a).read(), 1);
    let _ = core::mem::size_of::<Far>();
}

#[test]
fn layout_macro_records_size_alignment_and_access_width() {
    assert_eq!(<Dev as RegisterBlock>::SIZE, 0x30);
    assert_eq!(<Dev as RegisterBlock>::ALIGN, 4);
    assert_eq!(<Dev as RegisterField>::ACCESS, 4);
    assert_eq!(<Cfg as RegisterBlock>::SIZE, 8);
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
