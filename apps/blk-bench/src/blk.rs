//! Sequential-read throughput and instructions per request of the userspace
//! virtio-blk driver, measured as the kernel-side baseline is measured.

use mmio_types::DmaRegion;
use nexus_abi::{MapProt, println, sys};
use nexus_virtio::{DmaRange, IrqDevice, KernelIrq, SECTOR_SIZE, VirtioBlk, VirtioMmioWindow};

use crate::stats::{SAMPLES, median};

/// Where the bench system description puts the virtio-blk window.
const BLK_SLOT: usize = 1;
/// Where it puts the window's irq capability, and the bit it raises.
const IRQ_SLOT: usize = 3;
const IRQ_BIT: u32 = 0;
/// `time` ticks per second on QEMU `virt` (its device tree's
/// `timebase-frequency`).
pub const TIMEBASE: u64 = 10_000_000;
/// Bytes read per throughput run.
pub const TOTAL: usize = 16 << 20;
/// Throughput runs per request size (the median is reported).
pub const RUNS: usize = 3;
/// Bound on polls for one request: a device that never answers is an
/// error, not a hang.
pub const MAX_POLLS: u64 = 1 << 32;

pub type Blk = VirtioBlk<IrqDevice<VirtioMmioWindow, KernelIrq>>;

pub fn run() -> Result<(), &'static str> {
    let token = sys::mmio_map(BLK_SLOT, MapProt::RW).map_err(|_| "mmio_map of blk failed")?;
    let window = VirtioMmioWindow::from_token(token).map_err(|_| "blk window is not 4 KiB")?;
    let window = IrqDevice::new(window, KernelIrq, IRQ_SLOT, IRQ_BIT).ok_or("bad irq bit")?;
    let queue = DmaRegion::new(sys::dma_alloc(2).map_err(|_| "dma_alloc (queue) failed")?);
    let mut blk = VirtioBlk::new(window, queue).map_err(|_| "virtio-blk initialisation failed")?;
    let mut buf = DmaRegion::new(sys::dma_alloc(16).map_err(|_| "dma_alloc (data) failed")?);
    if blk.capacity() < (TOTAL / SECTOR_SIZE) as u64 {
        return Err("the disk is smaller than 16 MiB");
    }

    verify(&mut blk, &mut buf)?;
    for (name, size) in [("blk_read_4k", 4096), ("blk_read_64k", 65536)] {
        let mut tenths = [0u64; RUNS];
        for t in &mut tenths {
            let start = sys::time();
            read_all(&mut blk, &mut buf, size)?;
            let ticks = (sys::time() - start).max(1);
            // MiB/s in tenths, in integers (tasks do not use the FPU).
            *t = (TOTAL as u64 >> 20) * 10 * TIMEBASE / ticks;
        }
        let m = median(&mut tenths);
        println!("BENCH: {name} {}.{} MiB/s", m / 10, m % 10);
    }
    instructions_per_request(&mut blk, &buf)?;
    crate::irq::run(&mut blk, &mut buf)?;

    let (window, queue) = blk.into_parts();
    let (window, KernelIrq) = window.into_parts();
    sys::mmio_unmap(window.unmap()).map_err(|_| "mmio_unmap failed")?;
    for region in [queue, buf] {
        sys::dma_free(region.into_token()).map_err(|_| "dma_free failed")?;
    }
    Ok(())
}

fn read_all(blk: &mut Blk, buf: &mut DmaRegion, size: usize) -> Result<(), &'static str> {
    let per = (size / SECTOR_SIZE) as u64;
    let mut sector = 0;
    while sector < (TOTAL / SECTOR_SIZE) as u64 {
        blk.read(sector, buf, 0, size).map_err(|_| "read failed")?;
        sector += per;
    }
    Ok(())
}

/// Every sector of the first 16 MiB holds its own number.
fn verify(blk: &mut Blk, buf: &mut DmaRegion) -> Result<(), &'static str> {
    let per = 65536 / SECTOR_SIZE;
    let mut sector = 0u64;
    while sector < (TOTAL / SECTOR_SIZE) as u64 {
        blk.read(sector, buf, 0, 65536).map_err(|_| "read failed")?;
        for i in 0..per {
            let got: u64 = buf.read(i * SECTOR_SIZE).map_err(|_| "buffer too small")?;
            if got != sector + i as u64 {
                println!("BENCH: FAIL data mismatch at sector {}", sector + i as u64);
                return Err("data mismatch");
            }
        }
        sector += per as u64;
    }
    Ok(())
}

/// Instructions of the submit path and of the completing poll of 4 KiB
/// reads, excluding the polls that found nothing (the wait for QEMU).
fn instructions_per_request(blk: &mut Blk, buf: &DmaRegion) -> Result<(), &'static str> {
    let range = DmaRange::new(buf, 0, 4096).map_err(|_| "buffer too small")?;
    let mut submit = [0u64; SAMPLES];
    let mut complete = [0u64; SAMPLES];
    for i in 0..SAMPLES {
        let a = sys::instret();
        let id = blk
            .submit_read((i * 8) as u64, range)
            .map_err(|_| "submit_read failed")?;
        let b = sys::instret();
        submit[i] = b - a;
        let mut polls = 0u64;
        loop {
            let c = sys::instret();
            if let Some((done, result)) = blk.poll() {
                let d = sys::instret();
                result.map_err(|_| "a read failed")?;
                if done != id {
                    return Err("a different request completed");
                }
                complete[i] = d - c;
                break;
            }
            polls += 1;
            if polls > MAX_POLLS {
                return Err("the device never completed a request");
            }
        }
    }
    let (s, c) = (median(&mut submit), median(&mut complete));
    println!("BENCH: blk_instr_submit {s} instructions");
    println!("BENCH: blk_instr_complete {c} instructions");
    println!("BENCH: blk_instr_per_req {} instructions", s + c);
    Ok(())
}
