use mmio_types::bitfields;

bitfields! {
    pub struct Ctrl: u8 {
        pub MODE: 0..=1 => Option<Mode> { Off = 0, On = 4 },
    }
}

fn main() {}
