// 3 entries: not a power of two.
ring_types::ring_layout!(pub Bad = 3 entries, 2 buffers of 512);

// 8 buffers but 4 entries: a completion might not fit.
ring_types::ring_layout!(pub AlsoBad = 4 entries, 8 buffers of 512);

// Buffers must hold whole sectors.
ring_types::ring_layout!(pub Odd = 4 entries, 4 buffers of 100);

fn main() {}
