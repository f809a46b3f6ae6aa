use mmio_types::bitfields;

bitfields! {
    pub struct Lcr: u8 {
        // Two bits have four values; a bare enumeration must name them all
        // (otherwise the field is declared `Option<Parity>`).
        pub PARITY: 3..=4 => Parity { None = 0, Odd = 1, Even = 3 },
    }
}

fn main() {}
