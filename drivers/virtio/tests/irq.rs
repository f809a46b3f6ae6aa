//! The interrupt-driven path of the blk driver against the fake device: a
//! fake kernel raises the line exactly when the fake device asserts its
//! interrupt, and masks it until `irq_ack`, as NEURON's kernel does.

mod common;

use common::FakeBlk;
use nexus_abi::SysError;
use nexus_abi::notify::{NO_DEADLINE, Wakeup};
use nexus_virtio::{DmaRange, InterruptStatus, IrqDevice, IrqError, IrqSys, VirtioBlk};

const SECTORS: usize = 64;
const SLOT: usize = 2;
const BIT: u32 = 5;

/// The kernel's side of one line: fires when the device asserts and the
/// line is unmasked; masked from then until `irq_ack`.
struct FakeKernel {
    device: FakeBlk,
    masked: bool,
    waits: usize,
    acks: usize,
    /// The stamp of the last wakeup (each one counts up).
    stamps: u64,
}

impl IrqSys for &mut FakeKernel {
    fn wait(&mut self, mask: u64, deadline: u64) -> Result<Wakeup, SysError> {
        assert_eq!(mask, 1 << BIT, "waits on its own bit");
        self.waits += 1;
        let asserted = self.device.state().isr != 0;
        if asserted && !self.masked {
            self.masked = true;
            self.stamps += 1;
            return Ok(Wakeup {
                bits: mask,
                stamp: self.stamps,
            });
        }
        // Nothing would ever wake it: only a deadline ends the wait.
        assert_ne!(deadline, NO_DEADLINE, "a wait that would hang for ever");
        Err(SysError::TimedOut)
    }

    fn irq_ack(&mut self, slot: usize) -> Result<(), SysError> {
        if slot != SLOT {
            return Err(SysError::EmptySlot);
        }
        if !self.masked {
            return Err(SysError::NotPending);
        }
        self.masked = false;
        self.acks += 1;
        Ok(())
    }
}

#[test]
fn each_completion_is_one_interrupt_acknowledged_in_order() {
    let fake = FakeBlk::new(SECTORS);
    let mut kernel = FakeKernel {
        device: fake.clone(),
        masked: false,
        waits: 0,
        acks: 0,
        stamps: 0,
    };
    let mem = fake.alloc(1);
    let dev = IrqDevice::new(fake.clone(), &mut kernel, SLOT, BIT).unwrap();
    let mut blk = VirtioBlk::new(dev, mem).expect("init");
    blk.set_interrupts(true).unwrap();
    let buf = fake.alloc(1);
    for sector in 0..40u64 {
        let id = blk
            .submit_read(
                sector % SECTORS as u64,
                DmaRange::new(&buf, 0, 512).unwrap(),
            )
            .unwrap();
        let pending = blk.wait_interrupt(NO_DEADLINE).unwrap();
        assert_eq!(pending.stamp(), sector + 1, "the wakeup's stamp");
        let acked = pending.acknowledge();
        assert_eq!(
            acked.status(),
            InterruptStatus::USED_BUFFER,
            "no spurious wakeup"
        );
        assert_eq!(
            fake.state().isr,
            0,
            "the device was acknowledged before re-arming"
        );
        acked.rearm().unwrap();
        let (done, result) = blk.poll().expect("the completion the interrupt announced");
        assert_eq!((done, result), (id, Ok(())));
    }
    drop(blk);
    assert_eq!((kernel.waits, kernel.acks), (40, 40));
    assert_eq!(
        fake.state().acks,
        vec![1; 40],
        "InterruptACK got the bits read"
    );
}

#[test]
fn no_interrupt_means_a_deadline_not_a_hang() {
    let fake = FakeBlk::new(SECTORS);
    let mut kernel = FakeKernel {
        device: fake.clone(),
        masked: false,
        waits: 0,
        acks: 0,
        stamps: 0,
    };
    let mem = fake.alloc(1);
    let dev = IrqDevice::new(fake.clone(), &mut kernel, SLOT, BIT).unwrap();
    let mut blk = VirtioBlk::new(dev, mem).expect("init");
    // Interrupts stay off (NO_INTERRUPT): a completion raises nothing.
    let buf = fake.alloc(1);
    blk.submit_read(0, DmaRange::new(&buf, 0, 512).unwrap())
        .unwrap();
    assert_eq!(blk.wait_interrupt(1000).err(), Some(IrqError::TimedOut));
    assert!(blk.poll().is_some(), "the request completed all the same");
}

#[test]
fn a_bit_beyond_the_notification_word_is_refused() {
    let fake = FakeBlk::new(SECTORS);
    let mut kernel = FakeKernel {
        device: fake.clone(),
        masked: false,
        waits: 0,
        acks: 0,
        stamps: 0,
    };
    assert!(IrqDevice::new(fake, &mut kernel, SLOT, 64).is_none());
}

#[test]
fn misuse_of_the_acknowledgement_does_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/compile_fail/*.rs");
}
