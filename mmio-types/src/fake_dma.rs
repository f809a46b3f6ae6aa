//! RAM standing in for DMA memory, so drivers and fake devices can be
//! tested on the host.
//!
//! [`FakeDma::new`] takes fresh page-aligned pages from a static pool and
//! returns the device side (a [`FakeDma`], which reads and writes by device
//! address, as a device does) and the driver side (a [`DmaToken`]). The
//! device address of a fake buffer is its host address. Pages are never
//! reused, so a token can never outlive its memory.

use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::dma::DmaToken;

const PAGE: usize = 4096;
/// Pages in the pool, for the whole process.
const PAGES: usize = 1024;

#[repr(C, align(4096))]
struct Pages(UnsafeCell<[[u8; PAGE]; PAGES]>);

// SAFETY: each page is handed out at most once (`NEXT` is a fetch-add
// counter); after that only the `FakeDma`/`DmaToken` pair that received it
// touches it, and `FakeDma` is not `Send`.
unsafe impl Sync for Pages {}

static POOL: Pages = Pages(UnsafeCell::new([[0; PAGE]; PAGES]));
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Why [`FakeDma::new`] gave no buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeDmaError {
    /// A buffer has at least one page.
    ZeroPages,
    /// The pool (1024 pages per process) has fewer pages left than asked for.
    PoolExhausted {
        /// Pages asked for.
        requested: usize,
        /// Pages left in the pool.
        available: usize,
    },
}

impl core::fmt::Display for FakeDmaError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FakeDmaError::ZeroPages => write!(f, "a fake DMA buffer has at least one page"),
            FakeDmaError::PoolExhausted {
                requested,
                available,
            } => write!(
                f,
                "fake DMA pool exhausted: {requested} pages asked for, {available} left"
            ),
        }
    }
}

/// The device side of a fake DMA buffer: access by device address.
#[derive(Debug)]
pub struct FakeDma {
    base: NonNull<u8>,
    len: usize,
    _not_send: core::marker::PhantomData<*mut u8>,
}

impl FakeDma {
    /// Creates a zeroed buffer of `pages` pages and its token.
    ///
    /// Pages come from a pool of 1024 per process and are never reused.
    /// The pool only advances when the whole request fits, with checked
    /// arithmetic, so an impossible request (say `usize::MAX` pages) is an
    /// error and leaves the pool as it was.
    pub fn new(pages: usize) -> Result<(FakeDma, DmaToken), FakeDmaError> {
        if pages == 0 {
            return Err(FakeDmaError::ZeroPages);
        }
        let first = NEXT
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
                next.checked_add(pages).filter(|&end| end <= PAGES)
            })
            .map_err(|next| FakeDmaError::PoolExhausted {
                requested: pages,
                available: PAGES - next,
            })?;
        // `first + pages <= PAGES`, so neither product below overflows and
        // the buffer lies inside the pool.
        let len = pages * PAGE;
        // SAFETY: `first * PAGE + len <= PAGES * PAGE`: inside the static.
        let base = unsafe { POOL.0.get().cast::<u8>().add(first * PAGE) };
        let base = NonNull::new(base).expect("static is non-null");
        // SAFETY: 1. the pages are static memory, live for the process, and
        // readable and writable; 2. page-aligned, so 8-byte aligned; 3. they
        // were never handed out before, so only this pair touches them.
        let token = unsafe { DmaToken::new(base, len, base.as_ptr() as u64) };
        let dev = FakeDma {
            base,
            len,
            _not_send: core::marker::PhantomData,
        };
        Ok((dev, token))
    }

    /// A second token over the same pages, standing for another program
    /// that shares them (the other end of a channel): each side's accesses
    /// are volatile, bounds-checked and through raw pointers, exactly as
    /// with a device writing at any time.
    pub fn peer_token(&self) -> DmaToken {
        // SAFETY: 1. the pages are static memory, live for the process; 2.
        // page-aligned; 3. the only other users of the range are this
        // `FakeDma` and its first token, which also access it only through
        // volatile raw-pointer accesses, never references, so no access
        // assumes exclusivity (the same sharing as with a device).
        unsafe { DmaToken::new(self.base, self.len, self.device_addr()) }
    }

    /// The device address of the first byte.
    pub fn device_addr(&self) -> u64 {
        self.base.as_ptr() as u64
    }

    /// Whether `[addr, addr + len)` lies in this buffer.
    pub fn contains(&self, addr: u64, len: usize) -> bool {
        let start = self.device_addr();
        addr >= start && addr.saturating_add(len as u64) <= start + self.len as u64
    }

    fn at(&self, addr: u64, len: usize) -> *mut u8 {
        assert!(
            self.contains(addr, len),
            "device access {addr:#x}+{len} outside the DMA buffer"
        );
        self.base
            .as_ptr()
            .wrapping_add((addr - self.device_addr()) as usize)
    }

    /// Reads `buf.len()` bytes at device address `addr`.
    ///
    /// # Panics
    ///
    /// If the range is not inside the buffer.
    pub fn read(&self, addr: u64, buf: &mut [u8]) {
        let p = self.at(addr, buf.len());
        for (i, b) in buf.iter_mut().enumerate() {
            // SAFETY: `at` checked that the range lies in the buffer.
            *b = unsafe { p.add(i).read_volatile() };
        }
    }

    /// Writes `data` at device address `addr`.
    ///
    /// # Panics
    ///
    /// If the range is not inside the buffer.
    pub fn write(&self, addr: u64, data: &[u8]) {
        let p = self.at(addr, data.len());
        for (i, b) in data.iter().enumerate() {
            // SAFETY: `at` checked that the range lies in the buffer.
            unsafe { p.add(i).write_volatile(*b) };
        }
    }

    /// Reads a little-endian u16 at `addr`.
    pub fn read_u16(&self, addr: u64) -> u16 {
        let mut b = [0; 2];
        self.read(addr, &mut b);
        u16::from_le_bytes(b)
    }

    /// Reads a little-endian u32 at `addr`.
    pub fn read_u32(&self, addr: u64) -> u32 {
        let mut b = [0; 4];
        self.read(addr, &mut b);
        u32::from_le_bytes(b)
    }

    /// Reads a little-endian u64 at `addr`.
    pub fn read_u64(&self, addr: u64) -> u64 {
        let mut b = [0; 8];
        self.read(addr, &mut b);
        u64::from_le_bytes(b)
    }

    /// Writes a little-endian u16 at `addr`.
    pub fn write_u16(&self, addr: u64, v: u16) {
        self.write(addr, &v.to_le_bytes());
    }

    /// Writes a little-endian u32 at `addr`.
    pub fn write_u32(&self, addr: u64, v: u32) {
        self.write(addr, &v.to_le_bytes());
    }

    /// Writes a little-endian u64 at `addr`.
    pub fn write_u64(&self, addr: u64, v: u64) {
        self.write(addr, &v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dma::{DmaError, DmaRegion};

    #[test]
    fn driver_and_device_see_the_same_bytes() {
        let (dev, token) = FakeDma::new(2).unwrap();
        let mut r = DmaRegion::new(token);
        assert_eq!(r.len(), 8192);
        r.write::<u32>(8, 0xdead_beef).unwrap();
        assert_eq!(dev.read_u32(dev.device_addr() + 8), 0xdead_beef);
        dev.write_u64(dev.device_addr() + 4096, 42);
        assert_eq!(r.read::<u64>(4096), Ok(42));
        let data: [u8; 37] = core::array::from_fn(|i| i as u8);
        r.write_bytes(3, &data).unwrap();
        let mut back = [0u8; 37];
        r.read_bytes(3, &mut back).unwrap();
        assert_eq!(back, data);
        let mut via_dev = [0u8; 37];
        dev.read(dev.device_addr() + 3, &mut via_dev);
        assert_eq!(via_dev, data);
        assert_eq!(r.device_addr(16), Ok(dev.device_addr() + 16));
    }

    #[test]
    fn accesses_are_bounded_and_aligned() {
        let (_dev, token) = FakeDma::new(1).unwrap();
        let mut r = DmaRegion::new(token);
        assert_eq!(r.read::<u32>(4096), Err(DmaError::OutOfBounds));
        assert_eq!(r.read::<u64>(4090), Err(DmaError::OutOfBounds));
        assert_eq!(r.write::<u16>(3, 1), Err(DmaError::Misaligned));
        assert_eq!(r.read_bytes(4000, &mut [0; 97]), Err(DmaError::OutOfBounds));
        assert_eq!(r.write_bytes(usize::MAX, &[1]), Err(DmaError::OutOfBounds));
        assert_eq!(r.fill(4095, 2, 0), Err(DmaError::OutOfBounds));
        assert_eq!(r.device_addr(4097), Err(DmaError::OutOfBounds));
        assert!(r.device_addr(4096).is_ok());
        r.fill(0, 4096, 0xaa).unwrap();
        assert_eq!(r.read::<u8>(4095), Ok(0xaa));
    }

    #[test]
    fn impossible_requests_are_errors_and_leave_the_pool_alone() {
        assert_eq!(FakeDma::new(0).unwrap_err(), FakeDmaError::ZeroPages);
        let before = NEXT.load(Ordering::Relaxed);
        for huge in [usize::MAX, usize::MAX / PAGE + 1, PAGES + 1] {
            match FakeDma::new(huge) {
                Err(FakeDmaError::PoolExhausted { requested, .. }) => assert_eq!(requested, huge),
                other => panic!("{huge} pages gave {other:?}"),
            }
        }
        assert!(
            NEXT.load(Ordering::Relaxed) >= before,
            "the pool never moves back"
        );
        // Buffers handed out after the refusals are fresh and disjoint.
        let (a, _ta) = FakeDma::new(1).unwrap();
        let (b, _tb) = FakeDma::new(1).unwrap();
        assert!(
            a.device_addr() + 4096 <= b.device_addr() || b.device_addr() + 4096 <= a.device_addr()
        );
        a.write_u64(a.device_addr(), 1);
        assert_eq!(b.read_u64(b.device_addr()), 0);
    }
}
