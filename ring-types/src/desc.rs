//! The ring entry: two 64-bit words, the same in both directions.

/// One ring entry as the application sees it. The buffer it travels with
/// is not a field: it is the [`Buf`](crate::Buf) or [`Lease`](crate::Lease)
/// token passed beside it, so it cannot be named without owning it.
///
/// In shared memory an entry is two little-endian 64-bit words:
///
/// | Bits | Word 0 | Word 1 |
/// |---|---|---|
/// | 0..16 | `tag` | `arg` |
/// | 16..24 | `code` | |
/// | 24..32 | buffer index | |
/// | 32..64 | `len` | |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Desc {
    /// The requester's name for the request, echoed in its completion.
    pub tag: u16,
    /// The operation (requests) or the status (completions).
    pub code: u8,
    /// Bytes of the buffer the entry concerns.
    pub len: u32,
    /// An operation argument (a sector, an offset).
    pub arg: u64,
}

impl Desc {
    /// The two words of the entry with buffer `buf`.
    pub(crate) fn encode(&self, buf: u8) -> [u64; 2] {
        let w0 = u64::from(self.tag)
            | u64::from(self.code) << 16
            | u64::from(buf) << 24
            | u64::from(self.len) << 32;
        [w0.to_le(), self.arg.to_le()]
    }

    /// The entry and its buffer index from two words; every bit pattern
    /// decodes (checking is the caller's job).
    pub(crate) fn decode(words: [u64; 2]) -> (Desc, u8) {
        let w0 = u64::from_le(words[0]);
        let desc = Desc {
            tag: w0 as u16,
            code: (w0 >> 16) as u8,
            len: (w0 >> 32) as u32,
            arg: u64::from_le(words[1]),
        };
        (desc, (w0 >> 24) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_any_bits_decode() {
        let d = Desc {
            tag: 0xbeef,
            code: 7,
            len: 0x1_0000,
            arg: u64::MAX - 3,
        };
        assert_eq!(Desc::decode(d.encode(42)), (d, 42));
        let (d, b) = Desc::decode([u64::MAX, 0]);
        assert_eq!(
            (d.tag, d.code, b, d.len, d.arg),
            (0xffff, 0xff, 0xff, u32::MAX, 0)
        );
    }
}
