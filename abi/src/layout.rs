//! The user address-space layout (Sv39), fixed by the ABI.
//!
//! The kernel keeps the low 4 GiB (the first four 1 GiB root entries) for its
//! identity map of devices and RAM, mapped supervisor-only in every address
//! space. Userspace owns everything from 4 GiB to the top of the lower half.

/// Page size in bytes.
pub const PAGE_SIZE: usize = 4096;

/// Lowest user virtual address.
pub const USER_BASE: usize = 0x1_0000_0000;
/// One past the highest user virtual address (end of the Sv39 lower half).
pub const USER_END: usize = 0x40_0000_0000;

/// Program images (every `PT_LOAD` segment) must lie in this range.
pub const IMAGE_BASE: usize = USER_BASE;
/// End of the program image range.
pub const IMAGE_END: usize = 0x2_0000_0000;

/// The kernel chooses device-mapping addresses (`mmio_map`, `channel_map`)
/// in this range.
///
/// The region bases are staggered so that the hottest pages of a driver
/// land in different sets of a TLB indexed by the low bits of the page
/// number (QEMU's software TLB is direct-mapped and so are many hardware
/// L1 TLBs): the image starts at page colour 0, the device region at 0x40,
/// the DMA region at 0x80 and the stack ends below colour 0x100 (colours
/// are page numbers modulo 256). With every base at a multiple of 2^20
/// pages, a driver's first code page, its first device window or channel
/// and its first DMA buffer all shared one set; under QEMU 7.2 that
/// collision grew the emulated TLB to millions of entries, which QEMU
/// clears on every address-space switch (see docs/benchmarks.md, Clients).
pub const DEVICE_REGION_BASE: usize = 0x20_0004_0000;
/// Size of the device-mapping region.
pub const DEVICE_REGION_SIZE: usize = 16 << 20;

/// The kernel chooses DMA-memory addresses (`dma_alloc`) in this range.
/// Page colour 0x80 (see [`DEVICE_REGION_BASE`]).
pub const DMA_REGION_BASE: usize = 0x30_0008_0000;
/// Size of the DMA region.
pub const DMA_REGION_SIZE: usize = 16 << 20;

/// The most pages one `dma_alloc` call may ask for (256 KiB).
pub const DMA_MAX_PAGES: usize = 64;

/// The largest channel in pages (2 MiB), as `system.toml` may declare it.
pub const CHANNEL_MAX_PAGES: usize = 512;

/// Top of the initial stack (the stack grows down from here).
pub const STACK_TOP: usize = 0x3f_0000_0000;
/// Size of the initial stack. The page below it is never mapped (a guard).
pub const STACK_SIZE: usize = 128 << 10;

/// The largest `debug_write` the kernel accepts in one call.
pub const DEBUG_WRITE_MAX: usize = 4096;

/// Whether `[addr, addr + len)` lies inside the user range without wrapping.
pub const fn is_user_range(addr: usize, len: usize) -> bool {
    match addr.checked_add(len) {
        Some(end) => addr >= USER_BASE && end <= USER_END,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_disjoint_and_inside_user_range() {
        let regions = [
            (IMAGE_BASE, IMAGE_END - IMAGE_BASE),
            (DEVICE_REGION_BASE, DEVICE_REGION_SIZE),
            (DMA_REGION_BASE, DMA_REGION_SIZE),
            (STACK_TOP - STACK_SIZE - PAGE_SIZE, STACK_SIZE + PAGE_SIZE),
        ];
        for (i, &(a, al)) in regions.iter().enumerate() {
            assert!(is_user_range(a, al));
            assert_eq!(a % PAGE_SIZE, 0);
            for &(b, bl) in &regions[i + 1..] {
                assert!(a + al <= b || b + bl <= a, "{a:#x} overlaps {b:#x}");
            }
        }
    }

    #[test]
    fn hot_regions_start_in_distinct_tlb_sets() {
        // Page colours modulo 256 pages: image, device region, DMA region,
        // and the stack's top page, pairwise distinct.
        let colour = |va: usize| (va / PAGE_SIZE) % 256;
        let starts = [
            colour(IMAGE_BASE),
            colour(DEVICE_REGION_BASE),
            colour(DMA_REGION_BASE),
            colour(STACK_TOP - PAGE_SIZE),
        ];
        for (i, a) in starts.iter().enumerate() {
            for b in &starts[i + 1..] {
                assert_ne!(a, b, "two regions start in TLB set {a:#x}");
            }
        }
        // The stack's pages stay clear of the device and DMA regions' first
        // colours.
        let stack_low = colour(STACK_TOP - STACK_SIZE);
        assert!(stack_low > colour(DMA_REGION_BASE));
    }

    #[test]
    fn user_range_check_rejects_kernel_and_wrapping() {
        assert!(!is_user_range(0x8020_0000, 4));
        assert!(!is_user_range(USER_END - 1, 2));
        assert!(!is_user_range(usize::MAX, 2));
        assert!(is_user_range(USER_BASE, PAGE_SIZE));
    }
}
