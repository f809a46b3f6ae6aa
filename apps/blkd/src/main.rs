//! `blkd`: the userspace virtio-blk driver task. Granted the blk window
//! alone, it reads known sectors and writes a scratch sector, printing each
//! marker only after the data was checked.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::fmt;

use mmio_types::DmaRegion;
use nexus_abi::{MapProt, SysError, println, sys};
use nexus_virtio::disk_pattern::{SCRATCH_SECTOR, scratch_pattern, sector_pattern};
use nexus_virtio::{BlkError, SECTOR_SIZE, VirtioBlk, VirtioMmioWindow};

nexus_abi::entry!(main);

/// Where system.toml puts the virtio-blk window.
const BLK_SLOT: usize = 1;

type Blk = VirtioBlk<VirtioMmioWindow>;

fn main() -> i32 {
    match run() {
        Ok(()) => 0,
        Err(failure) => {
            println!("blkd: FAIL {failure}");
            1
        }
    }
}

/// What failed, and the reason the kernel or the driver gave.
struct Failure {
    step: &'static str,
    why: Why,
}

enum Why {
    Sys(SysError),
    Blk(BlkError),
    Check(&'static str),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.why {
            Why::Sys(e) => write!(f, "{}: {e}", self.step),
            Why::Blk(e) => write!(f, "{}: {e}", self.step),
            Why::Check(what) => write!(f, "{}: {what}", self.step),
        }
    }
}

/// `map_err` helpers naming the step that failed.
fn sys(step: &'static str) -> impl FnOnce(SysError) -> Failure {
    move |e| Failure {
        step,
        why: Why::Sys(e),
    }
}

fn blk(step: &'static str) -> impl FnOnce(BlkError) -> Failure {
    move |e| Failure {
        step,
        why: Why::Blk(e),
    }
}

fn check(step: &'static str, what: &'static str) -> Failure {
    Failure {
        step,
        why: Why::Check(what),
    }
}

fn run() -> Result<(), Failure> {
    let token = sys::mmio_map(BLK_SLOT, MapProt::RW).map_err(sys("mapping the blk window"))?;
    let window = VirtioMmioWindow::from_token(token)
        .map_err(|_| check("mapping the blk window", "the window is not 4 KiB"))?;
    let queue = DmaRegion::new(sys::dma_alloc(2).map_err(sys("allocating the queue"))?);
    let mut blk = VirtioBlk::new(window, queue)
        .map_err(|f| f.error)
        .map_err(blk("virtio-blk initialisation"))?;
    let mut buf = DmaRegion::new(sys::dma_alloc(1).map_err(sys("allocating the data buffer"))?);
    println!(
        "blkd: virtio-blk ready: {} sectors, queue of {}",
        blk.capacity(),
        blk.queue_size()
    );

    check_reads(&mut blk, &mut buf)?;
    println!("SELFTEST: virtio-blk read ok");
    check_write(&mut blk, &mut buf)?;
    println!("SELFTEST: virtio-blk write ok");

    let (window, queue) = blk.into_parts();
    sys::mmio_unmap(window.unmap()).map_err(|(e, _)| sys("unmapping the blk window")(e))?;
    for region in [queue, buf] {
        sys::dma_free(region.into_token()).map_err(|(e, _)| sys("freeing DMA memory")(e))?;
    }
    Ok(())
}

/// Sector 0 and the last sector hold their own numbers.
fn check_reads(blk: &mut Blk, buf: &mut DmaRegion) -> Result<(), Failure> {
    const STEP: &str = "reading sectors 0 and the last";
    let last = blk
        .capacity()
        .checked_sub(1)
        .ok_or(check(STEP, "the disk is empty"))?;
    for (sector, offset) in [(0, 0), (last, SECTOR_SIZE)] {
        blk.read(sector, buf, offset, SECTOR_SIZE)
            .map_err(self::blk(STEP))?;
        if !holds(buf, offset, &sector_pattern(sector)) {
            return Err(check(STEP, "a sector does not hold its own number"));
        }
    }
    Ok(())
}

/// A fresh pattern written to the scratch sector, flushed, reads back.
fn check_write(blk: &mut Blk, buf: &mut DmaRegion) -> Result<(), Failure> {
    const STEP: &str = "writing the scratch sector";
    if blk.capacity() <= SCRATCH_SECTOR {
        println!(
            "blkd: the disk has {} sectors; the scratch sector is {SCRATCH_SECTOR}",
            blk.capacity()
        );
        return Err(check(STEP, "the disk is too small"));
    }
    let pattern = scratch_pattern();
    buf.write_bytes(0, &pattern)
        .map_err(|_| check(STEP, "the buffer is too small"))?;
    blk.write(SCRATCH_SECTOR, buf, 0, SECTOR_SIZE)
        .map_err(self::blk(STEP))?;
    blk.flush().map_err(self::blk("flushing"))?;
    // Read back into a different, cleared part of the buffer.
    buf.fill(SECTOR_SIZE, SECTOR_SIZE, 0)
        .map_err(|_| check(STEP, "the buffer is too small"))?;
    blk.read(SCRATCH_SECTOR, buf, SECTOR_SIZE, SECTOR_SIZE)
        .map_err(self::blk("reading the scratch sector back"))?;
    if !holds(buf, SECTOR_SIZE, &pattern) {
        return Err(check(STEP, "the sector did not read back as written"));
    }
    Ok(())
}

/// Whether the sector at `offset` of `buf` holds `want` (false if it lies
/// outside the buffer).
fn holds(buf: &DmaRegion, offset: usize, want: &[u8; SECTOR_SIZE]) -> bool {
    let mut got = [0u8; SECTOR_SIZE];
    buf.read_bytes(offset, &mut got).is_ok() && &got == want
}
