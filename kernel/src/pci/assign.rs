//! BAR assignment: every memory BAR gets a naturally aligned range of its
//! own whole pages inside one of the bridge's memory windows, is
//! programmed and read back, and its function gets memory decoding and
//! bus mastering.

use core::fmt;

use super::bridge::{HostBridge, PciRange, Space};
use super::config::{BAR0, CMD_BUS_MASTER, CMD_MEMORY, COMMAND, ConfigSpace};
use super::enumerate::{BARS, BarError, BarKind, BarSlot, Functions, MAX_FUNCTIONS};
use crate::devtree::Window;

/// Page size: every BAR gets whole pages of its own.
const PAGE: u64 = 4096;

/// Why the bridge's windows cannot be used at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignError {
    /// The bridge has no memory window.
    NoMemoryWindow,
}

impl fmt::Display for AssignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssignError::NoMemoryWindow => write!(f, "the bridge has no memory window"),
        }
    }
}

/// A bump allocator over one window of PCI addresses.
#[derive(Clone, Copy, Debug)]
struct Pool {
    range: PciRange,
    next: u64,
}

impl Pool {
    fn new(range: PciRange) -> Pool {
        Pool {
            range,
            next: range.pci,
        }
    }

    /// `size` bytes (a power of two, at least a page) aligned to `size`:
    /// `(pci address, cpu address)`.
    fn take(&mut self, size: u64) -> Option<(u64, usize)> {
        let at = self.next.checked_next_multiple_of(size)?;
        let end = at.checked_add(size)?;
        let cpu = self.range.cpu_addr(at, size)?;
        // The CPU address must be as aligned as the PCI one, or a page
        // would hold parts of two BARs.
        if !(cpu as u64).is_multiple_of(PAGE) {
            return None;
        }
        self.next = end;
        Some((at, cpu))
    }
}

/// Assigns the memory BARs of `functions`: largest first (so aligned
/// sizes pack without holes), 64-bit BARs in the 64-bit window if there is
/// one (else the 32-bit one), 32-bit BARs in the 32-bit window below
/// 4 GiB. A window that overlaps `forbidden` (RAM, other devices) is not
/// used. Each BAR is written, read back, and refused if it did not keep
/// its address; functions with an assigned BAR get memory decoding and bus
/// mastering.
pub fn assign(
    cfg: &mut impl ConfigSpace,
    bridge: &HostBridge,
    functions: &mut Functions,
    forbidden: impl Fn(Window) -> bool,
) -> Result<(), AssignError> {
    let pick = |space: Space| {
        bridge
            .ranges()
            .filter(|r| r.space == space && !forbidden(r.window()))
            .filter(|r| {
                space != Space::Mem32
                    || r.pci
                        .checked_add(r.len as u64)
                        .is_some_and(|end| end <= 1 << 32)
            })
            .max_by_key(|r| r.len)
            .copied()
            .map(Pool::new)
    };
    let mut mem32 = pick(Space::Mem32);
    let mut mem64 = pick(Space::Mem64);
    if mem32.is_none() && mem64.is_none() {
        return Err(AssignError::NoMemoryWindow);
    }
    // Every memory BAR, largest first; ties in address order.
    let mut order = [(0usize, 0usize, 0u64); MAX_FUNCTIONS * BARS];
    let mut n = 0;
    for (fi, f) in functions.indexed() {
        for (bi, slot) in f.bars.iter().enumerate() {
            if let BarSlot::Bar(bar) = slot
                && bar.kind != BarKind::Io
                && n < order.len()
            {
                order[n] = (fi, bi, bar.span());
                n += 1;
            }
        }
    }
    order[..n].sort_unstable_by_key(|&(fi, bi, span)| (core::cmp::Reverse(span), fi, bi));
    for &(fi, bi, span) in &order[..n] {
        let Some(f) = functions.get_mut(fi) else {
            continue;
        };
        let BarSlot::Bar(bar) = f.bars[bi] else {
            continue;
        };
        let placed = match bar.kind {
            BarKind::Mem64 => mem64
                .as_mut()
                .and_then(|p| p.take(span))
                .or_else(|| mem32.as_mut().and_then(|p| p.take(span))),
            _ => mem32.as_mut().and_then(|p| p.take(span)),
        };
        let Some((pci, cpu)) = placed else {
            f.bars[bi] = BarSlot::Refused(BarError::NoRoom(bar.size));
            continue;
        };
        let off = BAR0 + 4 * bi as u16;
        cfg.write(f.bdf, off, pci as u32);
        let mut taken = cfg.read(f.bdf, off) & !0xf == pci as u32 & !0xf;
        if bar.kind == BarKind::Mem64 {
            cfg.write(f.bdf, off + 4, (pci >> 32) as u32);
            taken &= cfg.read(f.bdf, off + 4) == (pci >> 32) as u32;
        } else {
            taken &= pci >> 32 == 0;
        }
        f.bars[bi] = if taken {
            BarSlot::Bar(super::Bar {
                cpu: Some(cpu),
                ..bar
            })
        } else {
            BarSlot::Refused(BarError::NotTaken)
        };
    }
    for f in functions.iter_mut() {
        if f.assigned().next().is_some() {
            let command = cfg.read(f.bdf, COMMAND) & 0xffff;
            cfg.write(f.bdf, COMMAND, command | CMD_MEMORY | CMD_BUS_MASTER);
        }
    }
    Ok(())
}
