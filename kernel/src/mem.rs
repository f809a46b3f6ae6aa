//! The kernel's view of physical memory and the TLB, as a trait so the
//! page-table and capability logic run unchanged in host tests.

/// Physical frames, physical memory access and TLB maintenance.
///
/// On the target, physical memory is identity-mapped for the kernel; in host
/// tests it is a map of simulated frames.
pub trait Memory {
    /// Allocates `n` physically contiguous, zeroed frames; returns the
    /// physical address of the first.
    fn alloc_frames(&mut self, n: usize) -> Option<usize>;

    /// Returns `n` frames starting at `pa` to the allocator. The caller must
    /// have removed every mapping of them first.
    fn free_frames(&mut self, pa: usize, n: usize);

    /// Reads the 64-bit word at `pa` (8-byte aligned, in an allocated frame).
    fn read_u64(&self, pa: usize) -> u64;

    /// Writes the 64-bit word at `pa` (8-byte aligned, in an allocated frame).
    fn write_u64(&mut self, pa: usize, value: u64);

    /// Copies `buf.len()` bytes from physical memory at `pa` (within one frame).
    fn read_bytes(&self, pa: usize, buf: &mut [u8]);

    /// Copies `bytes` to physical memory at `pa` (within one frame).
    fn write_bytes(&mut self, pa: usize, bytes: &[u8]);

    /// Drops any cached translation of the user page at `va` in the current
    /// address space.
    fn flush_page(&mut self, va: usize);

    /// Allocates one zeroed frame.
    fn alloc_frame(&mut self) -> Option<usize> {
        self.alloc_frames(1)
    }
}

#[cfg(test)]
pub mod fake {
    //! A simulated physical memory for host tests.
    extern crate std;
    use std::collections::BTreeMap;
    use std::vec::Vec;

    use super::Memory;
    use crate::bitmap::RunAllocator;

    /// Base of the simulated RAM.
    pub const RAM_BASE: usize = 0x8000_0000;

    /// Frames as a sparse map; allocation through the real bitmap allocator.
    pub struct FakeMemory {
        frames: BTreeMap<usize, Vec<u8>>,
        alloc: RunAllocator<64>,
        /// Every page passed to `flush_page`, in order.
        pub flushed: Vec<usize>,
    }

    impl FakeMemory {
        /// `frames` frames of RAM (at most 4096).
        pub fn new(frames: usize) -> Self {
            FakeMemory {
                frames: BTreeMap::new(),
                alloc: RunAllocator::new(frames),
                flushed: Vec::new(),
            }
        }

        /// Frames currently allocated.
        pub fn used(&self) -> usize {
            self.alloc.len() - self.alloc.free_count()
        }

        fn frame(&self, pa: usize) -> &Vec<u8> {
            self.frames
                .get(&(pa & !0xfff))
                .unwrap_or_else(|| panic!("access to unallocated frame {pa:#x}"))
        }

        fn frame_mut(&mut self, pa: usize) -> &mut Vec<u8> {
            self.frames
                .get_mut(&(pa & !0xfff))
                .unwrap_or_else(|| panic!("access to unallocated frame {pa:#x}"))
        }
    }

    impl Memory for FakeMemory {
        fn alloc_frames(&mut self, n: usize) -> Option<usize> {
            let first = self.alloc.alloc(n)?;
            for i in first..first + n {
                self.frames.insert(RAM_BASE + i * 4096, std::vec![0; 4096]);
            }
            Some(RAM_BASE + first * 4096)
        }

        fn free_frames(&mut self, pa: usize, n: usize) {
            let first = (pa - RAM_BASE) / 4096;
            self.alloc
                .free(first, n)
                .unwrap_or_else(|_| panic!("double free of {pa:#x}+{n}"));
            for i in first..first + n {
                self.frames.remove(&(RAM_BASE + i * 4096));
            }
        }

        fn read_u64(&self, pa: usize) -> u64 {
            let f = self.frame(pa);
            let o = pa & 0xfff;
            u64::from_le_bytes(f[o..o + 8].try_into().unwrap())
        }

        fn write_u64(&mut self, pa: usize, value: u64) {
            let o = pa & 0xfff;
            self.frame_mut(pa)[o..o + 8].copy_from_slice(&value.to_le_bytes());
        }

        fn read_bytes(&self, pa: usize, buf: &mut [u8]) {
            let o = pa & 0xfff;
            buf.copy_from_slice(&self.frame(pa)[o..o + buf.len()]);
        }

        fn write_bytes(&mut self, pa: usize, bytes: &[u8]) {
            let o = pa & 0xfff;
            self.frame_mut(pa)[o..o + bytes.len()].copy_from_slice(bytes);
        }

        fn flush_page(&mut self, va: usize) {
            self.flushed.push(va);
        }
    }
}
