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

    /// Zeroes `n` allocated frames starting at `pa`.
    fn zero_frames(&mut self, pa: usize, n: usize) {
        const ZEROS: [u8; 512] = [0; 512];
        for frame in 0..n {
            for chunk in 0..4096 / ZEROS.len() {
                self.write_bytes(pa + frame * 4096 + chunk * ZEROS.len(), &ZEROS);
            }
        }
    }
}

/// RAM regions seen so far: their total, and the one holding the kernel.
#[derive(Default)]
struct RamScan {
    total: usize,
    home: Option<(usize, usize)>,
}

impl RamScan {
    fn add(&mut self, kernel: usize, base: usize, len: usize) {
        self.total = self.total.saturating_add(len);
        if kernel >= base && kernel - base < len {
            self.home = Some((base, len));
        }
    }

    fn plan(self, limit: usize, max_len: usize) -> Option<RamPlan> {
        let (base, len) = self.home?;
        let end = base.saturating_add(len).min(limit);
        let len = end.checked_sub(base)?.min(max_len) & !0xfff;
        (len > 0).then_some(RamPlan {
            base,
            len,
            total: self.total,
        })
    }
}

/// Which RAM the frame allocator manages, out of what the device tree lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamPlan {
    /// Base of the managed range (the start of the RAM region holding the
    /// kernel).
    pub base: usize,
    /// Bytes managed.
    pub len: usize,
    /// Bytes of RAM in every region together.
    pub total: usize,
}

impl RamPlan {
    /// Manages the RAM region that holds `kernel`, cut at `limit` (the end
    /// of the kernel's identity map) and at `max_len` bytes (the frame
    /// allocator's capacity). `None` if no region holds `kernel` or the cut
    /// leaves nothing.
    pub fn new(
        regions: impl IntoIterator<Item = (usize, usize)>,
        kernel: usize,
        limit: usize,
        max_len: usize,
    ) -> Option<RamPlan> {
        let mut scan = RamScan::default();
        for (base, len) in regions {
            scan.add(kernel, base, len);
        }
        scan.plan(limit, max_len)
    }

    /// [`RamPlan::new`] over every RAM window of `tree`.
    pub fn from_tree(
        tree: &crate::devtree::DeviceTree<'_>,
        kernel: usize,
        limit: usize,
        max_len: usize,
    ) -> Option<RamPlan> {
        let mut scan = RamScan::default();
        tree.ram(|w| scan.add(kernel, w.base, w.len));
        scan.plan(limit, max_len)
    }

    /// Whether every byte of RAM is managed.
    pub fn is_all(&self) -> bool {
        self.len == self.total
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

#[cfg(test)]
mod ram_tests {
    use super::RamPlan;

    const GIB: usize = 1 << 30;
    const KERNEL: usize = 0x8020_0000;

    fn plan(regions: &[(usize, usize)]) -> Option<RamPlan> {
        RamPlan::new(regions.iter().copied(), KERNEL, 4 * GIB, 2 * GIB)
    }

    #[test]
    fn small_ram_is_managed_whole() {
        let p = plan(&[(0x8000_0000, 64 << 20)]).unwrap();
        assert_eq!((p.base, p.len, p.total), (0x8000_0000, 64 << 20, 64 << 20));
        assert!(p.is_all());
    }

    #[test]
    fn ram_past_the_identity_map_is_cut_and_counted() {
        // -m 3G: 0x8000_0000..0x1_4000_0000; the map ends at 4 GiB.
        let p = plan(&[(0x8000_0000, 3 * GIB)]).unwrap();
        assert_eq!((p.len, p.total), (2 * GIB, 3 * GIB));
        assert!(!p.is_all());
        // -m 8G.
        let p = plan(&[(0x8000_0000, 8 * GIB)]).unwrap();
        assert_eq!((p.len, p.total), (2 * GIB, 8 * GIB));
        // Two NUMA nodes: the one holding the kernel is managed.
        let p = plan(&[(0x8000_0000, 4 * GIB), (0x1_8000_0000, 4 * GIB)]).unwrap();
        assert_eq!((p.base, p.len, p.total), (0x8000_0000, 2 * GIB, 8 * GIB));
        let p = plan(&[(0x1_8000_0000, 4 * GIB), (0x8000_0000, GIB)]).unwrap();
        assert_eq!((p.base, p.len, p.total), (0x8000_0000, GIB, 5 * GIB));
    }

    #[test]
    fn plans_from_dumped_trees() {
        for (bytes, len, total) in [
            (
                &include_bytes!("../testdata/virt.dtb")[..],
                128 << 20,
                128 << 20,
            ),
            (&include_bytes!("../testdata/m8g.dtb")[..], 2 * GIB, 8 * GIB),
            (
                &include_bytes!("../testdata/numa.dtb")[..],
                2 * GIB,
                8 * GIB,
            ),
        ] {
            let tree = crate::devtree::DeviceTree::from_bytes(bytes).unwrap();
            let p = RamPlan::from_tree(&tree, KERNEL, 4 * GIB, 2 * GIB).unwrap();
            assert_eq!((p.base, p.len, p.total), (0x8000_0000, len, total));
        }
    }

    #[test]
    fn capacity_and_missing_regions() {
        let p = RamPlan::new([(0, 4 * GIB)], KERNEL, 4 * GIB, GIB).unwrap();
        assert_eq!((p.base, p.len), (0, GIB));
        assert_eq!(
            plan(&[(0x1_0000_0000, GIB)]),
            None,
            "no region holds the kernel"
        );
        assert_eq!(plan(&[]), None);
        assert_eq!(
            RamPlan::new([(0x8000_0000, GIB)], KERNEL, 0x8000_0000, GIB),
            None,
            "nothing below the limit"
        );
    }
}
