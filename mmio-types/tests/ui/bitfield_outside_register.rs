use mmio_types::bitfields;

bitfields! {
    pub struct Ctrl: u8 {
        pub ENABLE: 8,
    }
}

fn main() {}
