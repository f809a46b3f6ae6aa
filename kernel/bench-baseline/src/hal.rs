//! The virtio-drivers `Hal` for paging off: identity mapping, DMA from a static bump arena.

use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use virtio_drivers::{BufferDirection, Hal, PhysAddr};

const PAGE_SIZE: usize = 4096;
const ARENA_SIZE: usize = 2 << 20;

/// DMA memory: page-aligned, in .bss, never freed.
#[repr(C, align(4096))]
struct Arena(UnsafeCell<[u8; ARENA_SIZE]>);

// SAFETY: the arena is only reached through `alloc_pages`, which hands out
// each byte at most once.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; ARENA_SIZE]));
/// Offset of the first free byte of `ARENA`.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Allocates `pages` zeroed, page-aligned pages of the arena; panics when it is exhausted.
pub fn alloc_pages(pages: usize) -> NonNull<u8> {
    let len = pages * PAGE_SIZE;
    let offset = NEXT
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            n.checked_add(len).filter(|&end| end <= ARENA_SIZE)
        })
        .expect("DMA arena exhausted");
    // SAFETY: offset + len <= ARENA_SIZE, so the range lies inside the arena,
    // and the bump allocator gives it to nobody else.
    unsafe {
        let start = ARENA.0.get().cast::<u8>().add(offset);
        start.write_bytes(0, len);
        NonNull::new_unchecked(start)
    }
}

/// Allocates a zeroed, page-aligned buffer of `pages` pages that lives forever.
pub fn alloc_buffer(pages: usize) -> &'static mut [u8] {
    let start = alloc_pages(pages);
    // SAFETY: the pages are valid, zeroed (so initialised), and handed out once.
    unsafe { core::slice::from_raw_parts_mut(start.as_ptr(), pages * PAGE_SIZE) }
}

/// Paging is off: every address is physical.
pub struct IdentityHal;

// SAFETY: `dma_alloc` returns zeroed, page-aligned, unaliased memory; with
// paging off the device sees memory at the addresses the CPU uses.
unsafe impl Hal for IdentityHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let vaddr = alloc_pages(pages);
        (vaddr.as_ptr() as PhysAddr, vaddr)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as *mut u8).expect("MMIO at address 0")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.cast::<u8>().as_ptr() as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
