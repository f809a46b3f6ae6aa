use mmio_types::UniqueMmioPointer;

#[repr(C, packed)]
struct Packed {
    flag: u8,
    count: u32,
}

fn main() {
    // Register pointers come from windows only: not from references to RAM
    // or to packed fields.
    let mut value = 0u32;
    let _p: UniqueMmioPointer<'_, u32> = UniqueMmioPointer::from(&mut value);
    let mut packed = Packed { flag: 0, count: 0 };
    let _q = UniqueMmioPointer::from(&mut packed);
}
