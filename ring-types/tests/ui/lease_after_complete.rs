use mmio_types::{DmaRegion, FakeDma};
use ring_types::Server;

fn main() {
    let (_fake, token) = FakeDma::new(2).unwrap();
    let mut server = Server::<2, 2, 512>::new(DmaRegion::new(token)).unwrap();
    if let Some((desc, mut lease)) = server.take_request().unwrap() {
        server.complete(lease, desc).unwrap();
        // Answered: the buffer went back to the client.
        server.write(&mut lease, 0, &[1]).unwrap();
    }
}
