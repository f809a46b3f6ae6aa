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
    pub fn alloc(&mut self, n: usize) -> Option<usize> {
        if n == 0 || n > self.free {
            return None;
        }
        let mut start = 0;
        while start + n <= self.len {
            // Whole words in use are skipped at once.
            if start % 64 == 0 && self.bits[start / 64] == u64::MAX {
                start += 64;
                continue;
            }
            match (start..start + n).find(|&i| self.is_allocated(i)) {
                Some(used) => start = used + 1,
                None => {
                    for i in start..start + n {
                        self.set(i, true);
                    }
                    self.free -= n;
                    return Some(start);
                }
            }
        }
        None
    }

    /// Frees `[start, start + n)`; refuses (changing nothing) unless every
    /// unit of it is allocated.
    pub fn free(&mut self, start: usize, n: usize) -> Result<(), NotAllocated> {
        let end = start.checked_add(n).ok_or(NotAllocated)?;
        if n == 0 || end > self.len || (start..end).any(|i| !self.is_allocated(i)) {
            return Err(NotAllocated);
        }
        for i in start..end {
            self.set(i, false);
        }
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
}
