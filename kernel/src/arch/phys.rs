//! Physical memory on the target: the frame allocator over RAM, reached
//! through the kernel's identity map.

use crate::bitmap::RunAllocator;
use crate::mem::Memory;

use super::cpu;

/// Frames the allocator can manage: 2 GiB of RAM, all the RAM of QEMU
/// `virt` (from 0x8000_0000) that the kernel's identity map reaches.
const MAX_FRAMES: usize = (2 << 30) / 4096;

/// Bytes of RAM the allocator can manage.
pub const MAX_RAM: usize = MAX_FRAMES * 4096;

/// RAM frames and the identity map over them.
pub struct PhysMemory {
    ram_base: usize,
    frames: RunAllocator<{ MAX_FRAMES / 64 }>,
}

impl PhysMemory {
    /// Manages `[ram_base, ram_base + ram_len)`, all free.
    pub const fn new(ram_base: usize, ram_len: usize) -> Self {
        PhysMemory {
            ram_base,
            frames: RunAllocator::new(ram_len / 4096),
        }
    }

    /// Re-initialises in place (the allocator is too big for the stack).
    pub fn init(&mut self, ram_base: usize, ram_len: usize) {
        self.ram_base = ram_base;
        self.frames.reset(ram_len / 4096);
    }

    /// Marks `[start, end)` in use forever (firmware, kernel image, DTB).
    pub fn reserve(&mut self, start: usize, end: usize) {
        let first = start.saturating_sub(self.ram_base) / 4096;
        let last = end.saturating_sub(self.ram_base).div_ceil(4096);
        self.frames.reserve(first, last.saturating_sub(first));
    }

    /// End of RAM.
    pub fn ram_end(&self) -> usize {
        self.ram_base + self.frames.len() * 4096
    }

    /// Frames free.
    pub fn free_frames_count(&self) -> usize {
        self.frames.free_count()
    }
}

impl Memory for PhysMemory {
    fn alloc_frames(&mut self, n: usize) -> Option<usize> {
        let pa = self.ram_base + self.frames.alloc(n)? * 4096;
        // SAFETY: the frames were free, so nothing references them; RAM is
        // identity-mapped read-write for the kernel (before paging, physical
        // addresses are used directly).
        unsafe { core::ptr::write_bytes(pa as *mut u8, 0, n * 4096) };
        Some(pa)
    }

    fn zero_frames(&mut self, pa: usize, n: usize) {
        // SAFETY: callers pass frames they hold (a channel's), identity-mapped
        // read-write for the kernel; the holders' mappings see zeroes next.
        unsafe { core::ptr::write_bytes(pa as *mut u8, 0, n * 4096) };
    }

    fn free_frames(&mut self, pa: usize, n: usize) {
        let first = (pa - self.ram_base) / 4096;
        if self.frames.free(first, n).is_err() {
            // A kernel bug, never a user action: stop rather than corrupt.
            panic!("freeing frames {pa:#x}+{n} that are not allocated");
        }
    }

    fn read_u64(&self, pa: usize) -> u64 {
        // SAFETY: callers pass 8-byte-aligned addresses inside allocated
        // frames (page tables), identity-mapped for the kernel.
        unsafe { (pa as *const u64).read_volatile() }
    }

    fn write_u64(&mut self, pa: usize, value: u64) {
        // SAFETY: as in `read_u64`; the frame is a page table owned by the
        // kernel.
        unsafe { (pa as *mut u64).write_volatile(value) }
    }

    fn read_bytes(&self, pa: usize, buf: &mut [u8]) {
        // SAFETY: `[pa, pa + len)` lies in one frame mapped to the task that
        // asked, checked by the caller; the kernel is not holding any
        // reference into it.
        unsafe { core::ptr::copy_nonoverlapping(pa as *const u8, buf.as_mut_ptr(), buf.len()) }
    }

    fn write_bytes(&mut self, pa: usize, bytes: &[u8]) {
        // SAFETY: `[pa, pa + len)` lies in one frame the caller just
        // allocated, identity-mapped for the kernel.
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), pa as *mut u8, bytes.len()) }
    }

    fn flush_page(&mut self, va: usize) {
        cpu::flush_page(va);
    }
}
