use mmio_types::{DmaRegion, FakeDma};
use ring_types::{Client, Desc};

fn main() {
    let (_fake, token) = FakeDma::new(2).unwrap();
    let mut client = Client::<2, 2, 512>::new(DmaRegion::new(token)).unwrap();
    let buf = client.alloc().unwrap();
    let copy = buf.clone();
    client.submit(Desc::default(), buf).unwrap();
    drop(copy);
}
