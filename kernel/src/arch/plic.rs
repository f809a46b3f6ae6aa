//! The platform-level interrupt controller (RISC-V PLIC): priorities, the
//! enables and threshold of the boot hart's S-mode context, claim and
//! complete.

use super::dt::PlicNode;

/// Offsets in the PLIC's register window (RISC-V PLIC specification 1.0.0).
const PRIORITY: usize = 0x0;
const ENABLE: usize = 0x2000;
const ENABLE_STRIDE: usize = 0x80;
const CONTEXT: usize = 0x20_0000;
const CONTEXT_STRIDE: usize = 0x1000;
/// Within a context's page: the priority threshold, then claim/complete.
const THRESHOLD: usize = 0x0;
const CLAIM: usize = 0x4;

/// One context of a PLIC: the boot hart's supervisor external interrupt.
#[derive(Clone, Copy, Debug)]
pub struct Plic {
    base: usize,
    ndev: u32,
    context: usize,
    phandle: u32,
}

impl Plic {
    /// The controller the device tree describes, if its context's registers
    /// lie inside its window.
    pub fn new(node: PlicNode) -> Option<Plic> {
        let plic = Plic {
            base: node.base,
            ndev: node.ndev.min(1023),
            context: node.context,
            phandle: node.phandle,
        };
        let end = plic.context_page().checked_add(CONTEXT_STRIDE)?;
        (end <= node.base.checked_add(node.len)?).then_some(plic)
    }

    /// Its device-tree phandle, which device interrupts name.
    pub fn phandle(&self) -> u32 {
        self.phandle
    }

    /// The pages the kernel must map to drive this context: priorities,
    /// this context's enables and its threshold/claim page.
    pub fn pages(&self) -> [usize; 3] {
        [
            self.base + PRIORITY,
            (self.enable_word(0)) & !0xfff,
            self.context_page(),
        ]
    }

    /// Whether `source` is one of this controller's sources (1..=ndev).
    pub fn has(&self, source: u32) -> bool {
        source != 0 && source <= self.ndev
    }

    fn context_page(&self) -> usize {
        self.base + CONTEXT + CONTEXT_STRIDE * self.context
    }

    fn enable_word(&self, source: u32) -> usize {
        self.base + ENABLE + ENABLE_STRIDE * self.context + 4 * (source as usize / 32)
    }

    fn read(addr: usize) -> u32 {
        // SAFETY: every address passed is a 32-bit register of this PLIC
        // context (its priority array, enable words or context page), which
        // `pages` lists and boot identity-maps supervisor-only.
        unsafe { (addr as *const u32).read_volatile() }
    }

    fn write(addr: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { (addr as *mut u32).write_volatile(value) }
    }

    /// Every source disabled and at priority 0, threshold 0: nothing is
    /// delivered until a line is set up with [`Plic::arm`].
    pub fn reset(&self) {
        for source in 1..=self.ndev {
            Self::write(self.base + PRIORITY + 4 * source as usize, 0);
        }
        for word in 0..=(self.ndev as usize / 32) {
            Self::write(self.enable_word(0) + 4 * word, 0);
        }
        Self::write(self.context_page() + THRESHOLD, 0);
    }

    /// Gives `source` priority 1 and enables it.
    pub fn arm(&self, source: u32) {
        if self.has(source) {
            Self::write(self.base + PRIORITY + 4 * source as usize, 1);
            self.enable(source);
        }
    }

    /// Enables delivery of `source` to this context.
    pub fn enable(&self, source: u32) {
        if self.has(source) {
            let w = self.enable_word(source);
            Self::write(w, Self::read(w) | 1 << (source % 32));
        }
    }

    /// Disables delivery of `source` (it stays pending at the PLIC).
    pub fn disable(&self, source: u32) {
        if self.has(source) {
            let w = self.enable_word(source);
            Self::write(w, Self::read(w) & !(1 << (source % 32)));
        }
    }

    /// Claims the highest-priority pending source (0: none).
    pub fn claim(&self) -> u32 {
        Self::read(self.context_page() + CLAIM)
    }

    /// Completes a claimed source: the PLIC may deliver it again.
    pub fn complete(&self, source: u32) {
        Self::write(self.context_page() + CLAIM, source);
    }
}
