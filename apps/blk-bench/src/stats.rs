//! Medians and the counters' measurement overhead.

use nexus_abi::sys;

/// Samples per instruction-count figure.
pub const SAMPLES: usize = 64;

/// The median of `v` (sorted in place).
pub fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// What two back-to-back counter reads count (median), to subtract from a
/// measured window.
pub fn counter_overhead() -> u64 {
    let mut empty = [0u64; SAMPLES];
    for e in &mut empty {
        let a = sys::instret();
        let b = sys::instret();
        *e = b - a;
    }
    median(&mut empty)
}

/// Instructions `f` retires, median over [`SAMPLES`] runs, minus what the
/// two counter reads themselves cost.
pub fn instructions(mut f: impl FnMut() -> Result<(), &'static str>) -> Result<u64, &'static str> {
    let overhead = counter_overhead();
    let mut samples = [0u64; SAMPLES];
    for s in &mut samples {
        let a = sys::instret();
        f()?;
        let b = sys::instret();
        *s = (b - a).saturating_sub(overhead);
    }
    Ok(median(&mut samples))
}
