//! `blkd`: the userspace virtio-blk driver task. Granted the blk window
//! (a virtio-mmio slot, or the BAR of a virtio-pci function) and its
//! interrupt, it reads known sectors and writes a scratch sector,
//! then reads [`IRQ_READS`] sectors each completed by an interrupt, printing
//! each marker only after the data was checked. Without an irq capability
//! (a machine without a PLIC) it polls. Then it serves its clients through
//! channel rings ([`serve`]) until it is killed.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::fmt;

use mmio_types::DmaRegion;
use nexus_abi::{CapKind, MapProt, SysError, println, sys};
use nexus_virtio::disk_pattern::{SCRATCH_SECTOR, scratch_pattern, sector_pattern};
use nexus_virtio::pci::{self, PciError};
use nexus_virtio::{
    BlkError, BlkTransport, DmaRange, IrqDevice, KernelIrq, SECTOR_SIZE, VirtioBlk,
    VirtioMmioWindow,
};

mod serve;

nexus_abi::entry!(main);

/// Where system.toml puts the virtio-blk window.
const BLK_SLOT: usize = 1;
/// Where system.toml puts the window's irq capability.
const IRQ_SLOT: usize = 2;
/// The notification bit system.toml binds the interrupt to.
pub(crate) const IRQ_BIT: u32 = 0;
/// Reads completed by interrupt, each checked, before `SELFTEST: irq ok`.
const IRQ_READS: u64 = 1000;
/// How long a request may take before the device counts as dead: 1 s of
/// the 10 MHz timer.
pub(crate) const DEVICE_TIMEOUT: u64 = 10_000_000;

pub(crate) type Blk<T> = VirtioBlk<IrqDevice<T, KernelIrq>>;

fn main() -> i32 {
    match run() {
        Ok(()) => 0,
        Err(why) => {
            println!("blkd: FAIL {why}");
            1
        }
    }
}

/// What failed: a check of blkd's own, or a step with the reason the
/// kernel or the driver gave.
enum Failure {
    Check(&'static str),
    Sys(&'static str, SysError),
    Blk(&'static str, BlkError),
    Pci(PciError),
}

impl From<&'static str> for Failure {
    fn from(what: &'static str) -> Self {
        Failure::Check(what)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Check(what) => write!(f, "{what}"),
            Failure::Sys(step, e) => write!(f, "{step}: {e}"),
            Failure::Blk(step, e) => write!(f, "{step}: {e}"),
            Failure::Pci(e) => write!(f, "the virtio-pci function: {e}"),
        }
    }
}

/// `map_err` helpers naming the step that failed.
fn sys_err(step: &'static str) -> impl FnOnce(SysError) -> Failure {
    move |e| Failure::Sys(step, e)
}

fn blk_err(step: &'static str) -> impl FnOnce(BlkError) -> Failure {
    move |e| Failure::Blk(step, e)
}

fn run() -> Result<(), Failure> {
    let interrupts = sys::cap_info(IRQ_SLOT).is_ok_and(|c| c.kind == CapKind::Irq);
    if sys::pci_info(BLK_SLOT).is_ok() {
        // A PCI BAR: the virtio-pci transport, its structures found
        // through the function's capabilities.
        let transport = pci::map(BLK_SLOT, pci::BLK_DEVICE_MIN).map_err(Failure::Pci)?;
        println!("blkd: virtio-blk is a virtio-pci function");
        let mut blk = drive(transport, interrupts)?;
        println!("SELFTEST: virtio-pci blk ok");
        return serve::serve(&mut blk, interrupts).map_err(Failure::Check);
    }
    let token = sys::mmio_map(BLK_SLOT, MapProt::RW).map_err(sys_err("mapping the blk window"))?;
    let window = VirtioMmioWindow::from_token(token).map_err(|_| "the blk window is not 4 KiB")?;
    let mut blk = drive(window, interrupts)?;
    serve::serve(&mut blk, interrupts).map_err(Failure::Check)
}

/// Initialises the device on `transport` (with its interrupt if
/// `interrupts`), checks reads, the scratch write and interrupt-driven
/// reads, each marker printed once its check passed; frees its data
/// buffer and gives the driver back, ready to serve.
fn drive<T: BlkTransport>(transport: T, interrupts: bool) -> Result<Blk<T>, Failure> {
    let transport = IrqDevice::new(transport, KernelIrq, IRQ_SLOT, IRQ_BIT).ok_or("bad irq bit")?;
    let queue = DmaRegion::new(sys::dma_alloc(2).map_err(sys_err("allocating the queue"))?);
    let mut blk = VirtioBlk::new(transport, queue)
        .map_err(|f| f.error)
        .map_err(blk_err("virtio-blk initialisation"))?;
    let mut buf = DmaRegion::new(sys::dma_alloc(1).map_err(sys_err("allocating the data buffer"))?);
    println!(
        "blkd: virtio-blk ready: {} sectors, queue of {}",
        blk.capacity(),
        blk.queue_size()
    );

    check_reads(&mut blk, &mut buf)?;
    println!("SELFTEST: virtio-blk read ok");
    check_write(&mut blk, &mut buf)?;
    println!("SELFTEST: virtio-blk write ok");
    if interrupts {
        let spurious = check_interrupt_reads(&mut blk, &mut buf)?;
        if spurious != 0 {
            println!("blkd: {spurious} wakeup(s) found InterruptStatus 0");
            return Err("spurious interrupt wakeups".into());
        }
        println!("blkd: {IRQ_READS} reads completed by interrupt, none spurious");
        println!("SELFTEST: irq ok");
        measure_own_reads(&mut blk)?;
    } else {
        println!("blkd: no irq capability: polling");
    }

    sys::dma_free(buf.into_token()).map_err(|(e, _)| Failure::Sys("freeing DMA memory", e))?;
    Ok(blk)
}

/// Reads measured for the instruction figures.
const MEASURED_READS: u64 = 256;

/// Guest instructions per 4 KiB read blkd makes for itself, interrupt
/// driven, with 16 and with 1 in flight (`BENCH:` lines: what `cargo xtask
/// bench` compares the client path through the rings with; exact under
/// `-icount`, where `instret` counts every instruction the hart retires).
fn measure_own_reads<T: BlkTransport>(blk: &mut Blk<T>) -> Result<(), Failure> {
    let region = DmaRegion::new(sys::dma_alloc(16).map_err(sys_err("allocating 16 buffers"))?);
    blk.set_interrupts(true)
        .map_err(|_| "cannot enable interrupts")?;
    for (name, busy_name, depth) in [
        ("blkd_instr_per_req_qd16", "blkd_busy_per_req_qd16", 16),
        ("blkd_instr_per_req_qd1", "blkd_busy_per_req_qd1", 1),
    ] {
        let (idle, _) = sys::idle_stats().map_err(sys_err("idle_stats"))?;
        let start = sys::instret();
        let (mut issued, mut done) = (0u64, 0u64);
        while done < MEASURED_READS {
            while issued < MEASURED_READS && issued - done < depth {
                let at = (issued % 16) as usize * 4096;
                let range = DmaRange::new(&region, at, 4096).map_err(|_| "buffer too small")?;
                blk.submit_read(issued * 8, range)
                    .map_err(blk_err("submitting a measured read"))?;
                issued += 1;
            }
            // Up to ten seconds for an interrupt (a second at a time).
            let mut tries = 0;
            loop {
                let deadline = sys::time().saturating_add(DEVICE_TIMEOUT);
                match blk.wait_interrupt(deadline) {
                    Ok(pending) => {
                        pending
                            .acknowledge()
                            .rearm()
                            .map_err(|_| "irq_ack failed")?;
                        break;
                    }
                    Err(_) if tries < 10 => tries += 1,
                    Err(_) => return Err("the device did not interrupt within 10 s".into()),
                }
            }
            while let Some((_, result)) = blk.poll() {
                result.map_err(blk_err("a measured read"))?;
                done += 1;
            }
        }
        let all = sys::instret() - start;
        let (idle_after, _) = sys::idle_stats().map_err(sys_err("idle_stats"))?;
        let busy = all.saturating_sub(idle_after.wrapping_sub(idle));
        println!("BENCH: {name} {} instructions", all / MEASURED_READS);
        println!("BENCH: {busy_name} {} instructions", busy / MEASURED_READS);
    }
    blk.set_interrupts(false)
        .map_err(|_| "cannot disable interrupts")?;
    sys::dma_free(region.into_token()).map_err(|(e, _)| Failure::Sys("freeing DMA memory", e))
}

/// Sector 0 and the last sector hold their own numbers.
fn check_reads<T: BlkTransport>(blk: &mut Blk<T>, buf: &mut DmaRegion) -> Result<(), Failure> {
    let last = blk.capacity().checked_sub(1).ok_or("the disk is empty")?;
    for (sector, offset) in [(0, 0), (last, SECTOR_SIZE)] {
        blk.read(sector, buf, offset, SECTOR_SIZE)
            .map_err(blk_err("reading sectors 0 and the last"))?;
        if !holds(buf, offset, &sector_pattern(sector))? {
            return Err("a sector does not hold its own number".into());
        }
    }
    Ok(())
}

/// A fresh pattern written to the scratch sector, flushed, reads back.
fn check_write<T: BlkTransport>(blk: &mut Blk<T>, buf: &mut DmaRegion) -> Result<(), Failure> {
    if blk.capacity() <= SCRATCH_SECTOR {
        println!(
            "blkd: the disk has {} sectors; the scratch sector is {SCRATCH_SECTOR}",
            blk.capacity()
        );
        return Err("writing the scratch sector: the disk is too small".into());
    }
    let pattern = scratch_pattern();
    buf.write_bytes(0, &pattern)
        .map_err(|_| "buffer too small")?;
    blk.write(SCRATCH_SECTOR, buf, 0, SECTOR_SIZE)
        .map_err(blk_err("writing the scratch sector"))?;
    blk.flush().map_err(blk_err("flushing"))?;
    // Read back into a different, cleared part of the buffer.
    buf.fill(SECTOR_SIZE, SECTOR_SIZE, 0)
        .map_err(|_| "buffer too small")?;
    blk.read(SCRATCH_SECTOR, buf, SECTOR_SIZE, SECTOR_SIZE)
        .map_err(blk_err("reading the scratch sector back"))?;
    if !holds(buf, SECTOR_SIZE, &pattern)? {
        return Err("the scratch sector did not read back as written".into());
    }
    Ok(())
}

/// Reads [`IRQ_READS`] sectors one at a time, each completed by an
/// interrupt: wait, acknowledge the device, re-arm the line, then take the
/// completion and check the data. Returns the wakeups that found no cause
/// in `InterruptStatus`.
fn check_interrupt_reads<T: BlkTransport>(
    blk: &mut Blk<T>,
    buf: &mut DmaRegion,
) -> Result<u64, &'static str> {
    blk.set_interrupts(true)
        .map_err(|_| "cannot enable interrupts")?;
    let capacity = blk.capacity();
    let mut spurious = 0;
    for k in 0..IRQ_READS {
        // Spread over the disk: sector numbers coprime-stepped modulo its size.
        let sector = (k * 7919) % capacity;
        buf.fill(0, SECTOR_SIZE, 0)
            .map_err(|_| "buffer too small")?;
        let range = DmaRange::new(buf, 0, SECTOR_SIZE).map_err(|_| "buffer too small")?;
        let id = blk
            .submit_read(sector, range)
            .map_err(|_| "submitting a read failed")?;
        let done = loop {
            let deadline = sys::time().saturating_add(DEVICE_TIMEOUT);
            let acked = blk
                .wait_interrupt(deadline)
                .map_err(|_| "the device did not interrupt within a second")?
                .acknowledge();
            if acked.status().is_empty() {
                spurious += 1;
            }
            acked.rearm().map_err(|_| "irq_ack failed")?;
            if let Some(done) = blk.poll() {
                break done;
            }
        };
        if done != (id, Ok(())) {
            return Err("an interrupt-driven read failed");
        }
        if !holds(buf, 0, &sector_pattern(sector))? {
            return Err("an interrupt-driven read returned the wrong data");
        }
    }
    blk.set_interrupts(false)
        .map_err(|_| "cannot disable interrupts")?;
    Ok(spurious)
}

fn holds(buf: &DmaRegion, offset: usize, want: &[u8; SECTOR_SIZE]) -> Result<bool, &'static str> {
    let mut got = [0u8; SECTOR_SIZE];
    buf.read_bytes(offset, &mut got)
        .map_err(|_| "buffer too small")?;
    Ok(&got == want)
}
