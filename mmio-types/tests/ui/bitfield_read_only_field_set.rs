use mmio_types::bitfields;

bitfields! {
    pub struct Status: u32 {
        pub ENABLE: 0,
        pub BUSY: 1 ro,
    }
}

fn main() {
    // BUSY is read-only: `with` does not take it.
    let _ = Status::new().with(Status::ENABLE, true).with(Status::BUSY, false);
}
