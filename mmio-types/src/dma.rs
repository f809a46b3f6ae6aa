//! DMA memory: the token for a kernel-granted DMA buffer and a safe,
//! bounds-checked view of it shared with a device.
//!
//! Memory a device reads and writes by DMA can change under the program at
//! any time, so it is never exposed as a Rust reference: every access is a
//! volatile access through a raw pointer, checked against the buffer's
//! bounds and the value's alignment.

use core::fmt;
use core::ptr::NonNull;

/// Ownership of one DMA buffer `[base, base + len)`, mapped read-write in
/// this address space, that a device reaches at `device_addr`.
///
/// The `abi` crate's `dma_alloc` hands one out and `dma_free` consumes it.
/// Neither `Copy` nor `Clone`.
#[must_use = "dropping a DmaToken leaks the buffer: wrap it in a DmaRegion or free it"]
pub struct DmaToken {
    base: NonNull<u8>,
    len: usize,
    device_addr: u64,
}

impl DmaToken {
    /// Wraps a DMA buffer in a token.
    ///
    /// # Safety
    ///
    /// 1. `[base, base + len)` is mapped readable and writable in this
    ///    address space and stays so until the token is consumed;
    /// 2. `base` is 8-byte aligned;
    /// 3. nothing else in this program accesses the range while the token
    ///    (or a region built from it) lives; only devices given
    ///    `device_addr` may.
    pub unsafe fn new(base: NonNull<u8>, len: usize, device_addr: u64) -> DmaToken {
        DmaToken {
            base,
            len,
            device_addr,
        }
    }

    /// Virtual address of the buffer.
    pub fn base(&self) -> usize {
        self.base.as_ptr() as usize
    }

    /// Length in bytes.
    #[allow(clippy::len_without_is_empty, reason = "a DMA buffer is never empty")]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The address a device uses for the first byte.
    pub fn device_addr(&self) -> u64 {
        self.device_addr
    }

    /// Gives up the token, returning its parts.
    pub fn into_raw(self) -> (NonNull<u8>, usize, u64) {
        (self.base, self.len, self.device_addr)
    }
}

impl fmt::Debug for DmaToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmaToken")
            .field("base", &format_args!("{:#x}", self.base()))
            .field("len", &format_args!("{:#x}", self.len))
            .field("device_addr", &format_args!("{:#x}", self.device_addr))
            .finish()
    }
}

/// Why a DMA access was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaError {
    /// The access does not lie inside the buffer.
    OutOfBounds,
    /// The offset is not a multiple of the value's size.
    Misaligned,
}

mod sealed {
    pub trait Sealed {}
}

/// The plain integers that can be read and written in DMA memory.
pub trait DmaScalar: sealed::Sealed + Copy {}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl DmaScalar for $t {}
    )*};
}
scalar!(u8, u16, u32, u64);

/// A DMA buffer shared with a device.
#[derive(Debug)]
pub struct DmaRegion {
    token: DmaToken,
}

impl DmaRegion {
    /// Wraps a token.
    pub fn new(token: DmaToken) -> DmaRegion {
        DmaRegion { token }
    }

    /// Length in bytes.
    #[allow(clippy::len_without_is_empty, reason = "a DMA buffer is never empty")]
    pub fn len(&self) -> usize {
        self.token.len
    }

    /// The address of the first byte in this address space (an identity,
    /// e.g. to tell two buffers apart; never dereferenced by callers).
    pub fn addr(&self) -> usize {
        self.token.base()
    }

    /// The device address of byte `offset` (which may be `len`, one past
    /// the end).
    pub fn device_addr(&self, offset: usize) -> Result<u64, DmaError> {
        if offset > self.token.len {
            return Err(DmaError::OutOfBounds);
        }
        Ok(self.token.device_addr + offset as u64)
    }

    fn check<T>(&self, offset: usize, count: usize) -> Result<*mut u8, DmaError> {
        let size = core::mem::size_of::<T>();
        let bytes = count.checked_mul(size).ok_or(DmaError::OutOfBounds)?;
        let end = offset.checked_add(bytes).ok_or(DmaError::OutOfBounds)?;
        if end > self.token.len {
            return Err(DmaError::OutOfBounds);
        }
        if !offset.is_multiple_of(size) {
            return Err(DmaError::Misaligned);
        }
        // SAFETY: `offset <= len`, so the result stays inside (or one past)
        // the buffer described by the token.
        Ok(unsafe { self.token.base.as_ptr().add(offset) })
    }

    /// Reads the value at `offset` (aligned to its size).
    pub fn read<T: DmaScalar>(&self, offset: usize) -> Result<T, DmaError> {
        let p = self.check::<T>(offset, 1)?;
        // SAFETY: `p` is inside the buffer, aligned for `T` (the base is
        // 8-byte aligned and the offset a multiple of `T`'s size), and the
        // token guarantees the memory is mapped; `T` is a plain integer, so
        // any bit pattern a device left is valid.
        Ok(unsafe { p.cast::<T>().read_volatile() })
    }

    /// Writes `value` at `offset` (aligned to its size).
    pub fn write<T: DmaScalar>(&mut self, offset: usize, value: T) -> Result<(), DmaError> {
        let p = self.check::<T>(offset, 1)?;
        // SAFETY: as in `read`; the token gives this region exclusive use
        // of the memory on the program's side.
        unsafe { p.cast::<T>().write_volatile(value) };
        Ok(())
    }

    /// Checks that `count` values of type `T` from the `index`th one (at
    /// byte `index * size_of::<T>()`) lie in the buffer; returns a pointer
    /// to the first. Such a pointer is always aligned, so this is a single
    /// comparison for one value.
    #[inline]
    fn check_elems<T: DmaScalar>(&self, index: usize, count: usize) -> Result<*mut T, DmaError> {
        let slots = self.token.len / core::mem::size_of::<T>();
        if index >= slots || slots - index < count {
            return Err(DmaError::OutOfBounds);
        }
        // SAFETY: `index < slots`, so `index * size_of::<T>() < len`: the
        // result stays inside the buffer described by the token.
        Ok(unsafe { self.token.base.as_ptr().cast::<T>().add(index) })
    }

    /// Reads the `index`th value of type `T`, at byte `index *
    /// size_of::<T>()` (aligned by construction).
    #[inline]
    pub fn read_elem<T: DmaScalar>(&self, index: usize) -> Result<T, DmaError> {
        let p = self.check_elems::<T>(index, 1)?;
        // SAFETY: `p` is inside the buffer and aligned for `T` (the base is
        // 8-byte aligned and `T` at most 8 bytes, so every multiple of its
        // size is aligned); the token guarantees the memory is mapped; `T`
        // is a plain integer, so any bit pattern a device left is valid.
        Ok(unsafe { p.read_volatile() })
    }

    /// Writes `value` as the `index`th value of type `T`, at byte `index *
    /// size_of::<T>()` (aligned by construction).
    #[inline]
    pub fn write_elem<T: DmaScalar>(&mut self, index: usize, value: T) -> Result<(), DmaError> {
        let p = self.check_elems::<T>(index, 1)?;
        // SAFETY: as in `read_elem`; the token gives this region exclusive
        // use of the memory on the program's side.
        unsafe { p.write_volatile(value) };
        Ok(())
    }

    /// Writes `values` as the values of type `T` from the `index`th on,
    /// with one bounds check for all of them; nothing is written if any
    /// falls outside the buffer.
    #[inline]
    pub fn write_elems<T: DmaScalar, const N: usize>(
        &mut self,
        index: usize,
        values: [T; N],
    ) -> Result<(), DmaError> {
        let p = self.check_elems::<T>(index, N)?;
        for (i, value) in values.into_iter().enumerate() {
            // SAFETY: `[index, index + N)` was checked to lie in the buffer
            // and `i < N`; aligned and exclusive as in `write_elem`.
            unsafe { p.add(i).write_volatile(value) };
        }
        Ok(())
    }

    /// Copies `buf.len()` bytes from `offset` into `buf`.
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<(), DmaError> {
        let p = self.check::<u8>(offset, buf.len())?;
        copy_volatile(p, buf.as_mut_ptr(), buf.len());
        Ok(())
    }

    /// Copies `data` to `offset`.
    pub fn write_bytes(&mut self, offset: usize, data: &[u8]) -> Result<(), DmaError> {
        let p = self.check::<u8>(offset, data.len())?;
        copy_volatile(data.as_ptr().cast_mut(), p, data.len());
        Ok(())
    }

    /// Fills `len` bytes from `offset` with `byte`.
    pub fn fill(&mut self, offset: usize, len: usize, byte: u8) -> Result<(), DmaError> {
        let p = self.check::<u8>(offset, len)?;
        for i in 0..len {
            // SAFETY: `[p, p + len)` was checked to lie in the buffer.
            unsafe { p.add(i).write_volatile(byte) };
        }
        Ok(())
    }

    /// Gives the token back (to free the buffer).
    pub fn into_token(self) -> DmaToken {
        self.token
    }
}

/// Copies `len` bytes with volatile accesses, 8 bytes at a time where both
/// sides allow it.
fn copy_volatile(src: *mut u8, dst: *mut u8, len: usize) {
    let mut i = 0;
    if (src as usize) % 8 == (dst as usize) % 8 {
        while i < len && !(src as usize + i).is_multiple_of(8) {
            // SAFETY: `i < len`; both ranges are valid for `len` bytes (the
            // DMA side checked by the caller, the other a Rust slice).
            unsafe { dst.add(i).write_volatile(src.add(i).read_volatile()) };
            i += 1;
        }
        while i + 8 <= len {
            // SAFETY: as above, and both pointers are 8-byte aligned here.
            unsafe {
                let v = src.add(i).cast::<u64>().read_volatile();
                dst.add(i).cast::<u64>().write_volatile(v);
            }
            i += 8;
        }
    }
    while i < len {
        // SAFETY: `i < len`, as above.
        unsafe { dst.add(i).write_volatile(src.add(i).read_volatile()) };
        i += 1;
    }
}

#[cfg(all(test, feature = "fake-device"))]
mod tests {
    use super::*;
    use crate::fake_dma::FakeDma;

    #[test]
    fn elements_are_addressed_by_index_times_size() {
        let (dev, token) = FakeDma::new(1).unwrap();
        let mut r = DmaRegion::new(token);
        let base = dev.device_addr();
        r.write_elem::<u64>(511, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(dev.read_u64(base + 4088), 0x0102_0304_0506_0708);
        r.write_elem::<u16>(3, 0xbeef).unwrap();
        assert_eq!(r.read::<u16>(6), Ok(0xbeef));
        r.write_elem::<u8>(4095, 9).unwrap();
        assert_eq!(r.read_elem::<u8>(4095), Ok(9));
        dev.write_u32(base + 40, 77);
        assert_eq!(r.read_elem::<u32>(10), Ok(77));
        r.write_elems::<u64, 2>(510, [1, 2]).unwrap();
        assert_eq!(dev.read_u64(base + 4080), 1);
        assert_eq!(dev.read_u64(base + 4088), 2);
        r.write_elems::<u16, 3>(1, [7, 8, 9]).unwrap();
        assert_eq!(r.read::<u16>(2), Ok(7));
        assert_eq!(r.read::<u16>(4), Ok(8));
        assert_eq!(r.read::<u16>(6), Ok(9));
    }

    #[test]
    fn element_accesses_are_bounded() {
        let (dev, token) = FakeDma::new(1).unwrap();
        let mut r = DmaRegion::new(token);
        assert_eq!(r.read_elem::<u64>(512), Err(DmaError::OutOfBounds));
        assert_eq!(r.read_elem::<u8>(4096), Err(DmaError::OutOfBounds));
        assert_eq!(r.write_elem::<u32>(1024, 1), Err(DmaError::OutOfBounds));
        assert_eq!(
            r.write_elem::<u16>(usize::MAX, 1),
            Err(DmaError::OutOfBounds)
        );
        assert_eq!(r.read_elem::<u64>(usize::MAX), Err(DmaError::OutOfBounds));
        assert_eq!(
            r.write_elems::<u64, 2>(511, [5, 6]),
            Err(DmaError::OutOfBounds)
        );
        assert_eq!(dev.read_u64(dev.device_addr() + 4088), 0, "nothing written");
        assert_eq!(
            r.write_elems::<u32, 2>(usize::MAX, [1, 2]),
            Err(DmaError::OutOfBounds)
        );
        assert_eq!(r.write_elems::<u8, 0>(4096, []), Err(DmaError::OutOfBounds));
        assert_eq!(r.write_elems::<u8, 0>(0, []), Ok(()));
    }
}
