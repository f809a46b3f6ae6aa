//! `blkd`: the userspace virtio-blk driver task. Granted the blk window
//! alone, it reads known sectors and writes a scratch sector, printing each
//! marker only after the data was checked.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::{MapProt, println, sys};
use nexus_virtio::disk_pattern::{SCRATCH_SECTOR, scratch_pattern, sector_pattern};
use nexus_virtio::{SECTOR_SIZE, VirtioBlk, VirtioMmioWindow};

nexus_abi::entry!(main);

/// Where system.toml puts the virtio-blk window.
const BLK_SLOT: usize = 1;

type Blk = VirtioBlk<VirtioMmioWindow>;

fn main() -> i32 {
    match run() {
        Ok(()) => 0,
        Err(why) => {
            println!("blkd: FAIL {why}");
            1
        }
    }
}

fn run() -> Result<(), &'static str> {
    let token =
        sys::mmio_map(BLK_SLOT, MapProt::RW).map_err(|_| "mmio_map of the blk window failed")?;
    let window = VirtioMmioWindow::from_token(token).map_err(|_| "the blk window is not 4 KiB")?;
    let queue = DmaRegion::new(sys::dma_alloc(2).map_err(|_| "dma_alloc for the queue failed")?);
    let mut blk = VirtioBlk::new(window, queue).map_err(|_| "virtio-blk initialisation failed")?;
    let mut buf = DmaRegion::new(sys::dma_alloc(1).map_err(|_| "dma_alloc for data failed")?);
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
    sys::mmio_unmap(window.unmap()).map_err(|_| "mmio_unmap failed")?;
    for region in [queue, buf] {
        sys::dma_free(region.into_token()).map_err(|_| "dma_free failed")?;
    }
    Ok(())
}

/// Sector 0 and the last sector hold their own numbers.
fn check_reads(blk: &mut Blk, buf: &mut DmaRegion) -> Result<(), &'static str> {
    let last = blk.capacity().checked_sub(1).ok_or("the disk is empty")?;
    for (sector, offset) in [(0, 0), (last, SECTOR_SIZE)] {
        blk.read(sector, buf, offset, SECTOR_SIZE)
            .map_err(|_| "reading a sector failed")?;
        if !holds(buf, offset, &sector_pattern(sector))? {
            return Err("a sector does not hold its own number");
        }
    }
    Ok(())
}

/// A fresh pattern written to the scratch sector, flushed, reads back.
fn check_write(blk: &mut Blk, buf: &mut DmaRegion) -> Result<(), &'static str> {
    let pattern = scratch_pattern();
    buf.write_bytes(0, &pattern)
        .map_err(|_| "buffer too small")?;
    blk.write(SCRATCH_SECTOR, buf, 0, SECTOR_SIZE)
        .map_err(|_| "writing the scratch sector failed")?;
    blk.flush().map_err(|_| "flush failed")?;
    // Read back into a different, cleared part of the buffer.
    buf.fill(SECTOR_SIZE, SECTOR_SIZE, 0)
        .map_err(|_| "buffer too small")?;
    blk.read(SCRATCH_SECTOR, buf, SECTOR_SIZE, SECTOR_SIZE)
        .map_err(|_| "reading the scratch sector back failed")?;
    if !holds(buf, SECTOR_SIZE, &pattern)? {
        return Err("the scratch sector did not read back as written");
    }
    Ok(())
}

fn holds(buf: &DmaRegion, offset: usize, want: &[u8; SECTOR_SIZE]) -> Result<bool, &'static str> {
    let mut got = [0u8; SECTOR_SIZE];
    buf.read_bytes(offset, &mut got)
        .map_err(|_| "buffer too small")?;
    Ok(&got == want)
}
