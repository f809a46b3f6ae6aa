//! A fixed-size bitmap allocator of contiguous runs (physical frames, virtual pages).

/// Hands out runs of consecutive units (frames or pages) from `0..len`.
/// Freeing a unit that is not allocated is refused, so nothing can be handed
/// out twice. `WORDS * 64` is the capacity.
#[derive(Clone)]
pub struct RunAllocator<const WORDS: usize> {
    bits: [u64; WORDS],
    len: usize,
    free: usize,
}

/// A run passed to [`RunAllocator::free`] was not wholly allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotAllocated;

impl<const WORDS: usize> RunAllocator<WORDS> {
    /// The largest `len` this allocator can manage.
    pub const CAPACITY: usize = WORDS * 64;

    /// An allocator over `len` units, all free. `len` is clamped to the
    /// capacity.
    pub const fn new(len: usize) -> Self {
        let len = if len > Self::CAPACITY {
            Self::CAPACITY
        } else {
            len
        };
        RunAllocator {
            bits: [0; WORDS],
            len,
            free: len,
        }
    }

    /// Makes every unit of `0..len` free again, in place.
    pub fn reset(&mut self, len: usize) {
        self.len = len.min(Self::CAPACITY);
        self.free = self.len;
        self.bits.fill(0);
    }

    /// Units managed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the allocator manages no units at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Units currently free.
    pub fn free_count(&self) -> usize {
        self.free
    }

    /// Whether unit `i` is allocated (units beyond `len` count as allocated).
    pub fn is_allocated(&self, i: usize) -> bool {
        i >= self.len || self.bits[i / 64] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, i: usize, on: bool) {
        if on {
            self.bits[i / 64] |= 1 << (i % 64);
        } else {
            self.bits[i / 64] &= !(1 << (i % 64));
        }
    }

    /// Calls `f(word, mask)` for each word overlapping `[start, end)`, with
    /// the bits of the range in that word. `start < end <= len`.
    #[inline(always)]
    fn for_each_word(start: usize, end: usize, mut f: impl FnMut(usize, u64) -> bool) -> bool {
        let mut at = start;
        while at < end {
            let w = at / 64;
            let lo = at % 64;
            let hi = (end - w * 64).min(64);
            let mask = (u64::MAX >> (64 - (hi - lo))) << lo;
            if !f(w, mask) {
                return false;
            }
            at = w * 64 + hi;
        }
        true
    }

    /// The first free unit in `[from, len)`, if any.
    #[inline]
    fn next_free(&self, from: usize) -> Option<usize> {
        let mut w = from / 64;
        let mut free = !*self.bits.get(w)? & (u64::MAX << (from % 64));
        loop {
            if free != 0 {
                let i = w * 64 + free.trailing_zeros() as usize;
                return (i < self.len).then_some(i);
            }
            w += 1;
            if w * 64 >= self.len {
                return None;
            }
            free = !*self.bits.get(w)?;
        }
    }

    /// The first allocated unit in `[from, limit)`, or `limit` if there is
    /// none. `from < limit <= len`.
    #[inline]
    fn next_used(&self, from: usize, limit: usize) -> usize {
        let mut w = from / 64;
        let mut used = self
            .bits
            .get(w)
            .map_or(u64::MAX, |b| b & (u64::MAX << (from % 64)));
        loop {
            if used != 0 {
                return (w * 64 + used.trailing_zeros() as usize).min(limit);
            }
            w += 1;
            if w * 64 >= limit {
                return limit;
            }
            used = self.bits.get(w).copied().unwrap_or(u64::MAX);
        }
    }

    /// Marks `[start, start + n)` allocated whatever its state (used at
    /// boot to reserve the kernel image and firmware).
    pub fn reserve(&mut self, start: usize, n: usize) {
        let end = start.saturating_add(n).min(self.len);
        for i in start.min(end)..end {
            if !self.is_allocated(i) {
                self.set(i, true);
                self.free -= 1;
            }
        }
    }

    /// Allocates `n >= 1` consecutive units, first fit; returns the first.
    #[inline(always)]
    pub fn alloc(&mut self, n: usize) -> Option<usize> {
        // The common case without a call: the run from the lowest free
        // unit is free and inside one word.
        if n != 0 && n <= self.free {
            let start = self.next_free(0)?;
            let (w, lo) = (start / 64, start % 64);
            if lo + n <= 64 && start + n <= self.len {
                let mask = (u64::MAX >> (64 - n)) << lo;
                if let Some(word) = self.bits.get_mut(w)
                    && *word & mask == 0
                {
                    *word |= mask;
                    self.free -= n;
                    return Some(start);
                }
            }
        }
        self.alloc_search(n)
    }

    /// [`RunAllocator::alloc`] in general.
    #[cold]
    #[inline(never)]
    fn alloc_search(&mut self, n: usize) -> Option<usize> {
        if n == 0 || n > self.free {
            return None;
        }
        let mut start = 0;
        loop {
            // The lowest free unit from here; if the run from it meets an
            // allocated unit, no run starting at or before that unit fits.
            start = self.next_free(start)?;
            let end = start.checked_add(n).filter(|&e| e <= self.len)?;
            let used = self.next_used(start, end);
            if used == end {
                let bits = &mut self.bits;
                Self::for_each_word(start, end, |w, mask| {
                    if let Some(b) = bits.get_mut(w) {
                        *b |= mask;
                    }
                    true
                });
                self.free -= n;
                return Some(start);
            }
            start = used;
        }
    }

    /// Frees `[start, start + n)`; refuses (changing nothing) unless every
    /// unit of it is allocated.
    #[inline(always)]
    pub fn free(&mut self, start: usize, n: usize) -> Result<(), NotAllocated> {
        // The common case without a call: a run inside one word.
        let (w, lo) = (start / 64, start % 64);
        if n != 0 && n <= 64 - lo && start < self.len && n <= self.len - start {
            let mask = (u64::MAX >> (64 - n)) << lo;
            let word = self.bits.get_mut(w).ok_or(NotAllocated)?;
            if *word & mask != mask {
                return Err(NotAllocated);
            }
            *word &= !mask;
            self.free += n;
            return Ok(());
        }
        self.free_runs(start, n)
    }

    /// [`RunAllocator::free`] in general.
    #[cold]
    #[inline(never)]
    fn free_runs(&mut self, start: usize, n: usize) -> Result<(), NotAllocated> {
        let end = start.checked_add(n).ok_or(NotAllocated)?;
        if n == 0 || end > self.len {
            return Err(NotAllocated);
        }
        let bits = &self.bits;
        let all_used = Self::for_each_word(start, end, |w, mask| {
            bits.get(w).is_some_and(|b| b & mask == mask)
        });
        if !all_used {
            return Err(NotAllocated);
        }
        let bits = &mut self.bits;
        Self::for_each_word(start, end, |w, mask| {
            if let Some(b) = bits.get_mut(w) {
                *b &= !mask;
            }
            true
        });
        self.free += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_first_fit_runs_and_frees() {
        let mut a = RunAllocator::<2>::new(100);
        assert_eq!(a.alloc(3), Some(0));
        assert_eq!(a.alloc(2), Some(3));
        assert_eq!(a.free_count(), 95);
        a.free(0, 3).unwrap();
        assert_eq!(a.alloc(4), Some(5), "a 4-run does not fit in the 3-hole");
        assert_eq!(a.alloc(3), Some(0));
    }

    #[test]
    fn never_hands_out_a_unit_twice() {
        let mut a = RunAllocator::<1>::new(10);
        let mut seen = [false; 10];
        while let Some(i) = a.alloc(1) {
            assert!(!seen[i]);
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(a.alloc(1), None);
    }

    #[test]
    fn refuses_double_free_and_foreign_ranges() {
        let mut a = RunAllocator::<1>::new(10);
        let s = a.alloc(2).unwrap();
        assert_eq!(a.free(s, 3), Err(NotAllocated), "partly free run");
        assert_eq!(a.free_count(), 8, "a refused free changes nothing");
        a.free(s, 2).unwrap();
        assert_eq!(a.free(s, 2), Err(NotAllocated));
        assert_eq!(a.free(usize::MAX, 2), Err(NotAllocated));
        assert_eq!(a.free(usize::MAX, 1), Err(NotAllocated));
        assert_eq!(a.free(usize::MAX - 63, 64), Err(NotAllocated));
        assert_eq!(a.free(9, 5), Err(NotAllocated));
        assert_eq!(a.free(0, 0), Err(NotAllocated));
    }

    #[test]
    fn skips_full_words_and_finds_runs_across_them() {
        let mut a = RunAllocator::<4>::new(256);
        a.reserve(0, 130);
        assert_eq!(a.alloc(1), Some(130));
        a.free(130, 1).unwrap();
        a.free(60, 10).unwrap();
        assert_eq!(a.alloc(8), Some(60), "a run straddling a word boundary");
        assert_eq!(a.alloc(3), Some(130), "the 2-hole at 68 is too small");
    }

    #[test]
    fn reserve_and_capacity() {
        let mut a = RunAllocator::<1>::new(1000);
        assert_eq!(a.len(), 64);
        a.reserve(0, 10);
        a.reserve(5, 10);
        assert_eq!(a.free_count(), 64 - 15);
        assert_eq!(a.alloc(1), Some(15));
        assert_eq!(a.alloc(0), None);
        assert_eq!(a.alloc(65), None);
    }

    /// A unit-by-unit model of first fit, to check the word-wise search
    /// against.
    struct Model {
        used: std::vec::Vec<bool>,
    }

    impl Model {
        fn alloc(&mut self, n: usize) -> Option<usize> {
            if n == 0 {
                return None;
            }
            let len = self.used.len();
            let start =
                (0..len.checked_sub(n)? + 1).find(|&s| self.used[s..s + n].iter().all(|u| !u))?;
            self.used[start..start + n].fill(true);
            Some(start)
        }

        fn free(&mut self, start: usize, n: usize) -> Result<(), NotAllocated> {
            let end = start.checked_add(n).ok_or(NotAllocated)?;
            if n == 0 || end > self.used.len() || !self.used[start..end].iter().all(|&u| u) {
                return Err(NotAllocated);
            }
            self.used[start..end].fill(false);
            Ok(())
        }
    }

    proptest::proptest! {
        #[test]
        fn word_wise_first_fit_matches_the_unit_model(
            len in 0usize..=256,
            reserved in proptest::collection::vec((0usize..260, 0usize..80), 0..4),
            ops in proptest::collection::vec((proptest::bool::ANY, 0usize..260, 0usize..140), 1..80),
        ) {
            let mut a = RunAllocator::<4>::new(len);
            let mut m = Model { used: std::vec![false; len] };
            for (start, n) in reserved {
                a.reserve(start, n);
                let end = start.saturating_add(n).min(len);
                if start < end {
                    m.used[start..end].fill(true);
                }
            }
            for (is_alloc, start, n) in ops {
                if is_alloc {
                    proptest::prop_assert_eq!(a.alloc(n), m.alloc(n));
                } else {
                    proptest::prop_assert_eq!(a.free(start, n), m.free(start, n));
                }
                let free = m.used.iter().filter(|&&u| !u).count();
                proptest::prop_assert_eq!(a.free_count(), free);
                for i in 0..len + 3 {
                    proptest::prop_assert_eq!(a.is_allocated(i), i >= len || m.used[i]);
                }
            }
        }
    }
}
