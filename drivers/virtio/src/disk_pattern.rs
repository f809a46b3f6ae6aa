//! The known contents of the system's test disk, shared by the image builder
//! (`xtask`) and the on-target checks (`blkd`), so both sides agree.

/// Bytes per sector.
pub const SECTOR_SIZE: usize = 512;

/// The sector `blkd` overwrites with [`scratch_pattern`]; `xtask` reads it
/// back from the image file after the run.
pub const SCRATCH_SECTOR: u64 = 4096;

/// A fresh image's sector `n`: its own number as a little-endian u64,
/// repeated.
pub fn sector_pattern(n: u64) -> [u8; SECTOR_SIZE] {
    let mut s = [0u8; SECTOR_SIZE];
    for chunk in s.chunks_exact_mut(8) {
        chunk.copy_from_slice(&n.to_le_bytes());
    }
    s
}

/// What `blkd` writes to [`SCRATCH_SECTOR`]: `b"NEURON blk write"` plus the
/// byte index's low bits, so no fresh image sector can look like it.
pub fn scratch_pattern() -> [u8; SECTOR_SIZE] {
    const TAG: &[u8; 16] = b"NEURON blk write";
    let mut s = [0u8; SECTOR_SIZE];
    for (i, b) in s.iter_mut().enumerate() {
        *b = if i % 32 < 16 { TAG[i % 16] } else { i as u8 };
    }
    s
}

/// The first sector `blk-client` writes through `blkd` (with
/// [`client_pattern`]); `xtask` reads them back from the image file.
pub const CLIENT_SECTOR: u64 = 8192;
/// How many: 16 requests of 8 sectors.
pub const CLIENT_SECTORS: u64 = 128;

/// What `blk-client` writes to sector `n`: `b"NEURON blk client"` and the
/// sector number, repeated, so no fresh sector and no scratch sector looks
/// like it.
pub fn client_pattern(n: u64) -> [u8; SECTOR_SIZE] {
    const TAG: &[u8; 16] = b"NEURON blk clnt ";
    let mut s = [0u8; SECTOR_SIZE];
    for chunk in s.chunks_exact_mut(32) {
        chunk[..16].copy_from_slice(TAG);
        chunk[16..24].copy_from_slice(&n.to_le_bytes());
        chunk[24..].copy_from_slice(&(!n).to_le_bytes());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sectors_hold_their_numbers() {
        let s = sector_pattern(0x0102_0304);
        assert_eq!(&s[..8], &0x0102_0304u64.to_le_bytes());
        assert_eq!(&s[504..], &0x0102_0304u64.to_le_bytes());
        assert_ne!(sector_pattern(1), sector_pattern(2));
    }

    #[test]
    fn client_sectors_are_neither_fresh_nor_scratch_nor_alike() {
        for n in CLIENT_SECTOR..CLIENT_SECTOR + CLIENT_SECTORS {
            let p = client_pattern(n);
            assert_ne!(p, sector_pattern(n));
            assert_ne!(p, scratch_pattern());
            assert_ne!(p, client_pattern(n + 1));
        }
    }

    #[test]
    fn the_scratch_pattern_is_no_fresh_sector() {
        let p = scratch_pattern();
        assert_eq!(&p[..16], b"NEURON blk write");
        assert_eq!(p[16], 16);
        for n in [
            0,
            SCRATCH_SECTOR,
            u64::from_le_bytes(p[..8].try_into().unwrap()),
        ] {
            assert_ne!(p, sector_pattern(n));
        }
    }
}
