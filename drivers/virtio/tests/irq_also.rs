//! Waiting for the device's interrupt and other event sources at once
//! (`wait_interrupt_also`): the line's token only when the line fired, the
//! other bits always.

mod common;

use common::FakeBlk;
use nexus_abi::SysError;
use nexus_abi::notify::Wakeup;
use nexus_virtio::{DmaRange, IrqDevice, IrqSys, VirtioBlk};

const SLOT: usize = 2;
const BIT: u32 = 0;
const CLIENTS: u64 = 0b1110;

/// A kernel whose wait returns the scripted bits, if the mask allows them.
struct Scripted {
    next: Vec<u64>,
    masks: Vec<u64>,
}

impl IrqSys for &mut Scripted {
    fn wait(&mut self, mask: u64, _deadline: u64) -> Result<Wakeup, SysError> {
        self.masks.push(mask);
        let bits = self.next.remove(0) & mask;
        if bits == 0 {
            return Err(SysError::TimedOut);
        }
        Ok(Wakeup { bits, stamp: 0 })
    }

    fn irq_ack(&mut self, _slot: usize) -> Result<(), SysError> {
        Ok(())
    }
}

#[test]
fn the_token_comes_only_with_the_line() {
    let fake = FakeBlk::new(8);
    let mut kernel = Scripted {
        next: vec![0b0100, 0b0101, 0b0001, 1 << 40],
        masks: Vec::new(),
    };
    let mem = fake.alloc(1);
    let dev = IrqDevice::new(fake.clone(), &mut kernel, SLOT, BIT).unwrap();
    let mut blk = VirtioBlk::new(dev, mem).expect("init");
    let buf = fake.alloc(1);
    blk.submit_read(0, DmaRange::new(&buf, 0, 512).unwrap())
        .unwrap();
    let (line, others) = blk.wait_interrupt_also(CLIENTS, u64::MAX).unwrap();
    assert!(line.is_none(), "a client bit alone");
    assert_eq!(others, 0b0100);
    let (line, others) = blk.wait_interrupt_also(CLIENTS, u64::MAX).unwrap();
    assert_eq!(others, 0b0100);
    line.expect("the line fired too")
        .acknowledge()
        .rearm()
        .unwrap();
    let (line, others) = blk.wait_interrupt_also(CLIENTS, u64::MAX).unwrap();
    assert_eq!(others, 0);
    line.expect("the line alone").acknowledge().rearm().unwrap();
    assert!(
        blk.wait_interrupt_also(CLIENTS, 5).is_err(),
        "bits outside the mask never end the wait"
    );
    drop(blk);
    assert_eq!(kernel.masks, vec![CLIENTS | 1; 4]);
}
