use mmio_types::{DmaRegion, FakeDma};
use ring_types::{Client, Desc};

fn main() {
    let (_fake, token) = FakeDma::new(2).unwrap();
    let mut client = Client::<2, 2, 512>::new(DmaRegion::new(token)).unwrap();
    let mut buf = client.alloc().unwrap();
    client.submit(Desc::default(), buf).unwrap();
    // The buffer is the server's now: writing it must not compile.
    client.write(&mut buf, 0, &[1]).unwrap();
}
