//! RAM standing in for a device, so drivers can be tested on the host.
//!
//! [`FakeDevice::new`] takes a fresh page-aligned page from a static pool and
//! returns the device side (a [`FakeDevice`], which peeks and pokes the
//! registers as the device would) and the driver side (a [`MapToken`], from
//! which a window is built). Both sides use volatile accesses through raw
//! pointers only, like a real device and driver sharing a register window.
//! Pages are never reused, so a token can never outlive its memory.

use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::token::MapToken;

/// Page size of the pool.
const PAGE: usize = 4096;
/// Number of pages in the pool (one per fake device, for the whole process).
const PAGES: usize = 256;

#[repr(C, align(4096))]
struct Page(UnsafeCell<[u8; PAGE]>);

struct Pool {
    pages: [Page; PAGES],
    next: AtomicUsize,
}

// SAFETY: each page is handed out at most once (`next` is a fetch-add
// counter), and after that only the one `FakeDevice`/`MapToken` pair that
// received it touches it, from one thread (neither type is `Send`).
unsafe impl Sync for Pool {}

static POOL: Pool = Pool {
    pages: [const { Page(UnsafeCell::new([0; PAGE])) }; PAGES],
    next: AtomicUsize::new(0),
};

/// A fresh page of the pool, and the token of its first `len` bytes.
///
/// # Panics
///
/// If the pool (256 pages per process) is exhausted.
pub(crate) fn take_page(len: usize) -> (NonNull<u8>, MapToken) {
    let index = POOL
        .next
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
            (next < PAGES).then_some(next + 1)
        })
        .expect("fake device pool exhausted (256 pages per process)");
    let base = NonNull::new(POOL.pages[index].0.get().cast::<u8>()).expect("static is non-null");
    // SAFETY: 1. the page is static memory, live for the whole process and
    // valid for volatile accesses; 2. it is 4096-aligned (`Page`'s repr);
    // 3. it was never handed out before, and the device side only touches it
    // through raw-pointer volatile accesses, as a device would.
    let token = unsafe { MapToken::new(base, len) };
    (base, token)
}

/// The device side of a RAM-backed register window.
#[derive(Debug)]
pub struct FakeDevice {
    base: NonNull<u8>,
    len: usize,
}

impl FakeDevice {
    /// Creates a zeroed fake device of `len` bytes (at most 4096) and the
    /// mapping token a driver builds its window from.
    ///
    /// # Panics
    ///
    /// If `len` is 0 or larger than a page, or the pool (256 pages per
    /// process) is exhausted.
    pub fn new(len: usize) -> (FakeDevice, MapToken) {
        assert!(len > 0 && len <= PAGE, "a fake device is 1..=4096 bytes");
        let (base, token) = take_page(len);
        (FakeDevice { base, len }, token)
    }

    fn at<T>(&self, offset: usize) -> *mut T {
        assert!(
            offset
                .checked_add(size_of::<T>())
                .is_some_and(|end| end <= self.len),
            "fake device access out of range"
        );
        assert!(
            offset.is_multiple_of(align_of::<T>()),
            "misaligned fake device access"
        );
        // SAFETY: `offset + size_of::<T>() <= len`, so the result stays inside the page.
        unsafe { self.base.as_ptr().add(offset).cast::<T>() }
    }

    /// Reads the 32-bit register at `offset`, as the device sees it.
    pub fn read_u32(&self, offset: usize) -> u32 {
        // SAFETY: `at` checked bounds and alignment; the page is live (static).
        unsafe { self.at::<u32>(offset).read_volatile() }
    }

    /// Sets the 32-bit register at `offset`, as the device would.
    pub fn write_u32(&self, offset: usize, value: u32) {
        // SAFETY: `at` checked bounds and alignment; the page is live (static).
        unsafe { self.at::<u32>(offset).write_volatile(value) }
    }

    /// Reads the 16-bit register at `offset`.
    pub fn read_u16(&self, offset: usize) -> u16 {
        // SAFETY: `at` checked bounds and alignment; the page is live (static).
        unsafe { self.at::<u16>(offset).read_volatile() }
    }

    /// Sets the 16-bit register at `offset`.
    pub fn write_u16(&self, offset: usize, value: u16) {
        // SAFETY: `at` checked bounds and alignment; the page is live (static).
        unsafe { self.at::<u16>(offset).write_volatile(value) }
    }

    /// Reads the byte at `offset`.
    pub fn read_u8(&self, offset: usize) -> u8 {
        // SAFETY: `at` checked bounds; the page is live (static).
        unsafe { self.at::<u8>(offset).read_volatile() }
    }

    /// Sets the byte at `offset`.
    pub fn write_u8(&self, offset: usize, value: u8) {
        // SAFETY: `at` checked bounds; the page is live (static).
        unsafe { self.at::<u8>(offset).write_volatile(value) }
    }
}
