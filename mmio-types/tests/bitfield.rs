//! Typed bitfields: decoding, encoding, checked enumerations and one access per operation.

use mmio_types::{
    FakeDevice, Field, FieldValue, MmioWindow, ReadPure, ReadPureWrite, ReadWrite, Selector,
    bitfields, field, field_shared, register_block,
};

bitfields! {
    /// A 16550-like line control register.
    pub struct Lcr: u8 {
        pub WORD_LENGTH: 0..=1 => WordLength { Five = 0, Six = 1, Seven = 2, Eight = 3 },
        pub TWO_STOP_BITS: 2,
        pub PARITY: 3..=5 => Option<Parity> { None = 0, Odd = 1, Even = 3, Mark = 5, Space = 7 },
        pub BREAK: 6,
        pub DLAB: 7,
    }
    /// A 32-bit register with wide fields.
    pub struct Wide: u32 {
        pub LOW: 0..=15,
        pub MODE: 16..=17 => Mode { A = 0, B = 1, C = 2, D = 3 },
        pub BUSY: 30 ro,
        pub STATE: 24..=25 ro => Option<State> { Idle = 0, Running = 1 },
        pub TOP: 31,
    }
    /// A 64-bit register whose one field is all of it.
    pub struct Whole: u64 {
        pub ALL: 0..=63,
    }
}

register_block! {
    struct Regs in 0x1000 {
        0x0 => lcr: ReadWrite<Lcr>,
        0x1 => status: ReadPure<Lcr>,
        0x2 => sel: Selector<ReadPureWrite<Lcr>, 0x80>,
        0x3 => _reserved,
        0x4 => wide: ReadPureWrite<Wide>,
        0x8 => whole: ReadPureWrite<Whole>,
        0x10 => @end,
    }
}

#[test]
fn fields_decode_every_bit_pattern() {
    for bits in 0..=u8::MAX {
        let lcr = Lcr::from_bits(bits);
        let wl = lcr.get(Lcr::WORD_LENGTH);
        assert_eq!(wl as u8, bits & 3);
        assert_eq!(lcr.get(Lcr::TWO_STOP_BITS), bits & 4 != 0);
        assert_eq!(lcr.get(Lcr::BREAK), bits & 0x40 != 0);
        assert_eq!(lcr.get(Lcr::DLAB), bits & 0x80 != 0);
        let parity = (bits >> 3) & 7;
        let expected = match parity {
            0 => Some(Parity::None),
            1 => Some(Parity::Odd),
            3 => Some(Parity::Even),
            5 => Some(Parity::Mark),
            7 => Some(Parity::Space),
            _ => None,
        };
        assert_eq!(lcr.get(Lcr::PARITY), expected, "{bits:#x}");
        // Writing back what was read reproduces the bits.
        let mut rebuilt = Lcr::new()
            .with(Lcr::WORD_LENGTH, wl)
            .with(Lcr::TWO_STOP_BITS, lcr.get(Lcr::TWO_STOP_BITS))
            .with(Lcr::BREAK, lcr.get(Lcr::BREAK))
            .with(Lcr::DLAB, lcr.get(Lcr::DLAB));
        if let Some(p) = lcr.get(Lcr::PARITY) {
            rebuilt = rebuilt.with(Lcr::PARITY, p);
            assert_eq!(rebuilt, lcr);
        } else {
            assert_eq!(rebuilt.bits(), bits & !0x38);
        }
    }
}

#[test]
fn with_changes_only_its_field() {
    let all = Lcr::from_bits(0xff);
    assert_eq!(all.with(Lcr::WORD_LENGTH, WordLength::Five).bits(), 0xfc);
    assert_eq!(all.with(Lcr::PARITY, Parity::Odd).bits(), 0b1100_1111);
    assert_eq!(all.with(Lcr::DLAB, false).bits(), 0x7f);
    assert_eq!(Lcr::new().with(Lcr::BREAK, true).bits(), 0x40);
    // An integer wider than its field is truncated to the field.
    let wide = Wide::from_bits(0x8000_0000).with(Wide::LOW, 0x1_2345);
    assert_eq!(wide.bits(), 0x8000_2345);
    assert_eq!(wide.get(Wide::LOW), 0x2345);
    assert_eq!(wide.with(Wide::MODE, Mode::C).get(Wide::MODE), Mode::C);
    assert_eq!(wide.with(Wide::MODE, Mode::D).bits(), 0x8003_2345);
    let whole = Whole::new().with(Whole::ALL, u64::MAX);
    assert_eq!(whole.get(Whole::ALL), u64::MAX);
}

#[test]
fn read_only_fields_read_and_are_kept_by_modify() {
    let (dev, token) = FakeDevice::new(0x1000);
    let mut window = MmioWindow::<Regs, 0x1000>::from_token(token).unwrap();
    let mut regs = window.regs();
    dev.write_u32(4, 0x4100_0000);
    let wide = field_shared!(regs.as_shared(), wide).read();
    assert!(wide.get(Wide::BUSY) && wide.is_set(Wide::BUSY));
    assert_eq!(wide.get(Wide::STATE), Some(State::Running));
    assert!(wide.matches(Wide::STATE, State::Running));
    field!(regs, wide).modify(|w| w.with(Wide::LOW, 7));
    assert_eq!(dev.read_u32(4), 0x4100_0007);
    dev.write_u32(4, 0x0300_0000);
    assert_eq!(field!(regs, wide).read().get(Wide::STATE), None);
}

#[test]
fn is_set_and_matches() {
    let lcr = Lcr::from_bits(0b1001_1011);
    assert!(lcr.is_set(Lcr::DLAB));
    assert!(!lcr.is_set(Lcr::BREAK));
    assert!(lcr.is_set(Lcr::WORD_LENGTH));
    assert!(!Lcr::new().is_set(Lcr::WORD_LENGTH));
    assert!(lcr.matches(Lcr::WORD_LENGTH, WordLength::Eight));
    assert!(!lcr.matches(Lcr::WORD_LENGTH, WordLength::Seven));
    assert!(lcr.matches(Lcr::PARITY, Parity::Even));
    assert!(lcr.matches(Lcr::DLAB, true));
    // Bits 3..=5 are 0b010: no variant; it matches none.
    let odd = Lcr::from_bits(0b0001_0000);
    assert_eq!(odd.get(Lcr::PARITY), None);
    for p in [
        Parity::None,
        Parity::Odd,
        Parity::Even,
        Parity::Mark,
        Parity::Space,
    ] {
        assert!(!odd.matches(Lcr::PARITY, p));
    }
}

#[test]
fn fields_describe_their_bits() {
    let f: Field<Lcr, Option<Parity>> = Lcr::PARITY;
    assert_eq!((f.shift(), f.width(), f.mask()), (3, 3, 0x38));
    assert_eq!(Wide::TOP.mask(), 0x8000_0000);
    assert_eq!(Whole::ALL.width(), 64);
    assert_eq!(<Option<Parity> as FieldValue>::from_field(2), None);
    assert_eq!(<WordLength as FieldValue>::from_field(2), WordLength::Seven);
}

#[test]
fn debug_lists_the_fields() {
    let text = format!("{:?}", Lcr::from_bits(0x83));
    assert_eq!(
        text,
        "Lcr { WORD_LENGTH: Eight, TWO_STOP_BITS: false, PARITY: Some(None), BREAK: false, DLAB: true }"
    );
}

#[test]
fn registers_of_bitfield_type_read_and_write_whole_values() {
    let (dev, token) = FakeDevice::new(0x1000);
    let mut window = MmioWindow::<Regs, 0x1000>::from_token(token).unwrap();
    let mut regs = window.regs();
    field!(regs, lcr).write(Lcr::new().with(Lcr::WORD_LENGTH, WordLength::Eight));
    assert_eq!(dev.read_u8(0), 3);
    field!(regs, lcr).modify(|l| l.with(Lcr::PARITY, Parity::Even));
    assert_eq!(dev.read_u8(0), 0b0001_1011);
    dev.write_u8(1, 0x80);
    assert!(
        field_shared!(regs.as_shared(), status)
            .read()
            .is_set(Lcr::DLAB)
    );
    // A selector of bitfield type keeps its selector bits on writes.
    dev.write_u8(2, 0x80);
    field!(regs, sel).write(Lcr::new().with(Lcr::BREAK, true));
    assert_eq!(dev.read_u8(2), 0xc0);
    field!(regs, wide).modify(|w| w.with(Wide::MODE, Mode::B).with(Wide::TOP, true));
    assert_eq!(dev.read_u32(4), 0x8001_0000);
    field!(regs, whole).write(Whole::from_bits(0x0123_4567_89ab_cdef));
    assert_eq!(dev.read_u32(8), 0x89ab_cdef);
    assert_eq!(dev.read_u32(12), 0x0123_4567);
}
