use mmio_types::bitfields;

bitfields! {
    pub struct Ctrl: u8 {
        pub LOW: 0..=3,
        pub HIGH: 3..=7,
    }
}

fn main() {}
