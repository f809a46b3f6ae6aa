//! `irq-hog`: asks its virtio-rng for bytes, takes the interrupt that
//! announces them, and never acknowledges the device nor the line. The
//! device keeps asserting its interrupt; the kernel must keep that line
//! masked (this task's second wait must never return) while every other
//! task goes on, and must release the line when this task is killed while
//! waiting.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use mmio_types::DmaRegion;
use nexus_abi::notify::NO_DEADLINE;
use nexus_abi::{CapKind, MapProt, println, sys};
use nexus_virtio::queue::{DmaRange, QueueLayout, Segment, SplitQueue};
use nexus_virtio::{Features, Transport, VirtioMmioWindow, device};

nexus_abi::entry!(main);

/// Where system.toml puts the virtio-rng window.
const RNG_SLOT: usize = 1;
/// Where system.toml puts the window's irq capability.
const IRQ_SLOT: usize = 2;
/// The notification bit of the rng's interrupt.
const IRQ_BIT: u32 = 3;
/// virtio-rng's DeviceID.
const RNG_DEVICE_ID: u32 = 4;
/// Two seconds of the 10 MHz timer.
const TWO_SECONDS: u64 = 20_000_000;

fn main() -> i32 {
    match run() {
        Ok(()) => 0,
        Err(why) => {
            println!("irq-hog: FAIL {why}");
            1
        }
    }
}

fn run() -> Result<(), &'static str> {
    let mask = 1 << IRQ_BIT;
    if !sys::cap_info(IRQ_SLOT).is_ok_and(|c| c.kind == CapKind::Irq) {
        // A machine without a PLIC: no line to hog. Wait to be killed.
        println!("irq-hog: no irq capability; waiting to be killed");
        let _ = sys::wait(mask, NO_DEADLINE);
        return Err("a wait on a bit nothing raises returned");
    }
    let token = sys::mmio_map(RNG_SLOT, MapProt::RW).map_err(|_| "mmio_map failed")?;
    let mut rng = VirtioMmioWindow::from_token(token).map_err(|_| "the window is not 4 KiB")?;
    device::negotiate(&mut rng, RNG_DEVICE_ID, Features::VERSION_1)
        .map_err(|_| "virtio-rng initialisation failed")?;
    let num_max = device::queue_num_max(&mut rng, 0).map_err(|_| "no request queue")?;
    let mem = DmaRegion::new(sys::dma_alloc(1).map_err(|_| "dma_alloc failed")?);
    let layout = QueueLayout::fit(num_max, mem.len(), 0).ok_or("queue memory too small")?;
    let mut queue = SplitQueue::new(mem, layout, 1, true).map_err(|_| "queue setup failed")?;
    let areas = queue.areas().map_err(|_| "queue areas")?;
    rng.activate_queue(0, layout.size(), areas);
    device::driver_ok(&mut rng);
    let buf = DmaRegion::new(sys::dma_alloc(1).map_err(|_| "dma_alloc failed")?);
    let range = DmaRange::new(&buf, 0, 64).map_err(|_| "buffer")?;
    queue
        .add(&[Segment {
            range,
            device_writes: true,
        }])
        .map_err(|_| "queueing the buffer failed")?;
    rng.notify(0);

    sys::wait(mask, sys::time() + TWO_SECONDS).map_err(|_| "no interrupt from the rng")?;
    println!("irq-hog: interrupt received; never acknowledging it");
    // A second request makes the device raise its interrupt again while it
    // still asserts the first. A kernel that delivered the line again
    // without an acknowledgement would end this wait.
    let range = DmaRange::new(&buf, 64, 64).map_err(|_| "buffer")?;
    queue
        .add(&[Segment {
            range,
            device_writes: true,
        }])
        .map_err(|_| "queueing the second buffer failed")?;
    rng.notify(0);
    let _ = sys::wait(mask, NO_DEADLINE);
    Err("the masked line fired again without an acknowledgement")
}
