//! The block protocol over a channel: what `blkd` and its clients agree on.
//!
//! A request's [`Desc`](crate::Desc) has `code` = an operation, `arg` =
//! the first sector, `len` = bytes (a multiple of 512, at most the buffer
//! size; 0 for a flush). The completion echoes `tag`, with `code` = a
//! status and `len` = the bytes transferred.

/// Read `len` bytes from sector `arg` into the buffer.
pub const OP_READ: u8 = 1;
/// Write the buffer's first `len` bytes to sector `arg` on.
pub const OP_WRITE: u8 = 2;
/// Flush the disk's write cache (the buffer is returned untouched).
pub const OP_FLUSH: u8 = 3;

/// Done.
pub const ST_OK: u8 = 0;
/// The disk failed the request.
pub const ST_IOERR: u8 = 1;
/// The request was malformed: unknown operation, length not a multiple of
/// 512, sectors past the end of the disk.
pub const ST_INVALID: u8 = 2;
/// The disk is read-only (a write) or cannot flush.
pub const ST_UNSUPPORTED: u8 = 3;

/// Sector size in bytes.
pub const SECTOR: usize = 512;

crate::ring_layout!(
    /// A channel to `blkd`: 16 requests in flight, 16 buffers of 64 KiB
    /// (258 pages).
    pub BlkLayout = 16 entries, 16 buffers of 65536
);
/// Client end of [`BlkLayout`].
pub type BlkClient = crate::Client<16, 16, 65536>;
/// Server end of [`BlkLayout`].
pub type BlkServer = crate::Server<16, 16, 65536>;
