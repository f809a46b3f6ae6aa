use mmio_types::SharedMmioPointer;

fn main() {
    let value = 0u32;
    let _p: SharedMmioPointer<'_, u32> = SharedMmioPointer::from(&value);
}
