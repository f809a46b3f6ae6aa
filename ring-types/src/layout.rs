//! Where everything lives in a channel's shared memory, fixed at compile
//! time by three numbers both ends name through one type.

/// The layout of a channel with `N` entries per ring, `BUFS` buffers of
/// `BUF_SIZE` bytes each.
///
/// ```text
/// 0           request ring   (client -> server)
/// RING_BYTES  completion ring (server -> client)
/// BUFS_OFFSET buffer 0, buffer 1, ... (page-aligned)
/// ```
///
/// A ring is three indices on their own 64-byte lines and the entries:
///
/// | Offset | Field | Written by |
/// |---|---|---|
/// | 0x00 | `head`: entries produced (free-running `u32`) | producer |
/// | 0x40 | `tail`: entries consumed (free-running `u32`) | consumer |
/// | 0x80 | `sleeping`: 1 while the consumer may block in `wait` | consumer |
/// | 0xc0 | `N` entries of 16 bytes ([`Desc`](crate::Desc)) | producer |
///
/// Using the layout checks it at compile time: `N` a power of two up to
/// 256 and at least `BUFS` (so completions always fit), `BUFS` in
/// `1..=64`, `BUF_SIZE` a non-zero multiple of 512 (a disk sector).
#[derive(Clone, Copy, Debug)]
pub struct Layout<const N: usize, const BUFS: usize, const BUF_SIZE: usize>;

/// Names a channel layout both ends use, checked where it is defined:
/// `ring_layout!(pub BlkRing = 16 entries, 16 buffers of 4096);` is
/// `pub type BlkRing = Layout<16, 16, 4096>` plus a constant that evaluates
/// [`Layout::CHECK`], so a bad layout stops the build at the definition
/// (even under `cargo check`). [`Client`](crate::Client) and
/// [`Server`](crate::Server) evaluate it again when they are instantiated.
#[macro_export]
macro_rules! ring_layout {
    ($(#[$m:meta])* $vis:vis $name:ident = $n:literal entries, $bufs:literal buffers of $size:literal) => {
        $(#[$m])*
        $vis type $name = $crate::Layout<$n, $bufs, $size>;
        const _: () = <$crate::Layout<$n, $bufs, $size>>::CHECK;
    };
}

/// Offset of `head` in a ring.
pub(crate) const HEAD: usize = 0x00;
/// Offset of `tail` in a ring.
pub(crate) const TAIL: usize = 0x40;
/// Offset of `sleeping` in a ring.
pub(crate) const SLEEPING: usize = 0x80;
/// Offset of the entries in a ring.
pub(crate) const ENTRIES: usize = 0xc0;
/// Bytes per entry.
pub(crate) const ENTRY: usize = 16;

impl<const N: usize, const BUFS: usize, const BUF_SIZE: usize> Layout<N, BUFS, BUF_SIZE> {
    /// Evaluated wherever the layout is used: a bad layout does not compile.
    pub const CHECK: () = {
        assert!(
            N.is_power_of_two() && N <= 256,
            "N: a power of two up to 256"
        );
        assert!(BUFS >= 1 && BUFS <= 64, "BUFS: 1..=64");
        assert!(N >= BUFS, "N >= BUFS, so every completion fits");
        assert!(
            BUF_SIZE > 0 && BUF_SIZE.is_multiple_of(512),
            "BUF_SIZE: a non-zero multiple of 512"
        );
    };
    /// Bytes of one ring (a multiple of 64).
    pub const RING_BYTES: usize = (ENTRIES + N * ENTRY).next_multiple_of(64);
    /// Offset of the request ring.
    pub const REQUESTS: usize = 0;
    /// Offset of the completion ring.
    pub const COMPLETIONS: usize = Self::RING_BYTES;
    /// Offset of buffer 0 (page-aligned).
    pub const BUFS_OFFSET: usize = (2 * Self::RING_BYTES).next_multiple_of(4096);
    /// Bytes the channel needs.
    pub const TOTAL: usize = Self::BUFS_OFFSET + BUFS * BUF_SIZE;
    /// Pages the channel needs (what `system.toml` must give it at least).
    pub const PAGES: usize = Self::TOTAL.div_ceil(4096);
    /// Entries per ring.
    pub const ENTRIES: usize = N;
    /// Buffers.
    pub const BUFFERS: usize = BUFS;
    /// Bytes per buffer.
    pub const BUFFER_SIZE: usize = BUF_SIZE;

    /// Offset of buffer `index`'s first byte.
    pub const fn buffer(index: usize) -> usize {
        Self::BUFS_OFFSET + index * BUF_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_pinned() {
        type L = Layout<16, 16, 4096>;
        let () = L::CHECK;
        assert_eq!(L::RING_BYTES, 0xc0 + 16 * 16);
        assert_eq!(L::COMPLETIONS, 0x1c0);
        assert_eq!(L::BUFS_OFFSET, 4096);
        assert_eq!(L::buffer(3), 4096 * 4);
        assert_eq!(L::PAGES, 17);
        type Big = Layout<256, 64, 65536>;
        assert_eq!(Big::RING_BYTES, 0xc0 + 4096);
        assert_eq!(Big::BUFS_OFFSET, 3 * 4096);
    }
}
