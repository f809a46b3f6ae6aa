//! Shared helpers: a channel's memory seen by both ends (and by a third
//! party standing for a hostile peer).

use mmio_types::{DmaRegion, FakeDma};
use ring_types::Layout;

/// Fresh zeroed memory for layout `L`: the fake "device" side (raw access
/// by address) and one region per end.
pub fn channel<const N: usize, const B: usize, const S: usize>(
    _: Layout<N, B, S>,
) -> (FakeDma, DmaRegion, DmaRegion) {
    let (fake, token) = FakeDma::new(Layout::<N, B, S>::PAGES).expect("fake pages");
    let peer = fake.peer_token();
    (fake, DmaRegion::new(token), DmaRegion::new(peer))
}
