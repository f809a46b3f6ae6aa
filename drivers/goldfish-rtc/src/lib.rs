//! The Goldfish real-time clock of QEMU `virt` (`google,goldfish-rtc`):
//! nanoseconds since the Unix epoch, read through a typed window.
//!
//! Reading `TIME_LOW` returns the low 32 bits of the current time and
//! latches the high 32 bits, which `TIME_HIGH` then returns; so `TIME_LOW`
//! is read first, and its read (a side effect) needs unique access to the
//! window. The alarm and interrupt registers are declared with their access
//! rights; this driver does not use them.
#![no_std]
#![forbid(unsafe_code)]

use mmio_types::{MmioWindow, ReadOnly, ReadPure, WriteOnly, field, register_block};

/// The window the kernel grants: the page holding the registers.
pub const WINDOW_LEN: usize = 0x1000;

/// Nanoseconds per second.
pub const NANOS_PER_SECOND: u64 = 1_000_000_000;

register_block! {
    /// The Goldfish RTC registers (all 32 bits wide).
    pub struct GoldfishRtcRegs in WINDOW_LEN {
        /// 0x00 `TIME_LOW`: the low half of the time in ns; latches the high half.
        0x00 => pub time_low: ReadOnly<u32>,
        /// 0x04 `TIME_HIGH`: the high half latched by the last `TIME_LOW` read.
        0x04 => pub time_high: ReadPure<u32>,
        /// 0x08 `ALARM_LOW`: the low half of the alarm time; writing it arms the alarm.
        0x08 => pub alarm_low: WriteOnly<u32>,
        /// 0x0c `ALARM_HIGH`: the high half of the alarm time.
        0x0c => pub alarm_high: WriteOnly<u32>,
        /// 0x10 `IRQ_ENABLED`.
        0x10 => pub irq_enabled: WriteOnly<u32>,
        /// 0x14 `CLEAR_ALARM`.
        0x14 => pub clear_alarm: WriteOnly<u32>,
        /// 0x18 `ALARM_STATUS`: 1 while an alarm is armed.
        0x18 => pub alarm_status: ReadPure<u32>,
        /// 0x1c `CLEAR_INTERRUPT`.
        0x1c => pub clear_interrupt: WriteOnly<u32>,
        0x20 => @end,
    }
}

/// A 4 KiB window with the Goldfish RTC registers at its start.
pub type GoldfishRtcWindow = MmioWindow<GoldfishRtcRegs, WINDOW_LEN>;

/// The clock.
pub struct GoldfishRtc {
    window: GoldfishRtcWindow,
}

impl GoldfishRtc {
    /// Drives the RTC behind `window`.
    pub fn new(window: GoldfishRtcWindow) -> Self {
        GoldfishRtc { window }
    }

    /// Nanoseconds since the Unix epoch: `TIME_LOW`, then the `TIME_HIGH`
    /// that read latched.
    pub fn now_ns(&mut self) -> u64 {
        let mut regs = self.window.regs();
        let low = field!(regs, time_low).read();
        let high = field!(regs, time_high).read();
        u64::from(high) << 32 | u64::from(low)
    }

    /// Gives the window back (to unmap it).
    pub fn into_window(self) -> GoldfishRtcWindow {
        self.window
    }
}

/// How far apart two clocks are, in whole seconds (rounded down), given
/// the RTC's nanoseconds and another clock's seconds since the epoch.
pub fn seconds_apart(rtc_ns: u64, other_s: u64) -> u64 {
    (rtc_ns / NANOS_PER_SECOND).abs_diff(other_s)
}

#[cfg(test)]
mod tests {
    use mmio_types::FakeDevice;

    use super::*;

    fn rtc() -> (FakeDevice, GoldfishRtc) {
        let (device, token) = FakeDevice::new(WINDOW_LEN);
        let window = GoldfishRtcWindow::from_token(token).expect("a 4 KiB window");
        (device, GoldfishRtc::new(window))
    }

    #[test]
    fn time_is_high_then_low_half() {
        let (device, mut rtc) = rtc();
        // 2026-12-01T12:00:00Z in ns: 1_796_126_400 s.
        let ns: u64 = 1_796_126_400 * NANOS_PER_SECOND + 123;
        device.write_u32(0x00, ns as u32);
        device.write_u32(0x04, (ns >> 32) as u32);
        assert_eq!(rtc.now_ns(), ns);
        device.write_u32(0x00, u32::MAX);
        device.write_u32(0x04, 0);
        assert_eq!(rtc.now_ns(), u64::from(u32::MAX));
    }

    #[test]
    fn reading_the_time_writes_nothing() {
        let (device, mut rtc) = rtc();
        for offset in (0x08..0x20).step_by(4) {
            device.write_u32(offset, 0xa5a5_a5a5);
        }
        let _ = rtc.now_ns();
        for offset in (0x08..0x20).step_by(4) {
            assert_eq!(device.read_u32(offset), 0xa5a5_a5a5, "{offset:#x}");
        }
        let token = rtc.into_window().unmap();
        assert_eq!(token.len(), WINDOW_LEN);
    }

    #[test]
    fn clocks_apart_in_whole_seconds() {
        let s = 1_796_126_400;
        assert_eq!(seconds_apart(s * NANOS_PER_SECOND, s), 0);
        assert_eq!(seconds_apart(s * NANOS_PER_SECOND + 999_999_999, s), 0);
        assert_eq!(seconds_apart(s * NANOS_PER_SECOND, s + 3600), 3600);
        assert_eq!(seconds_apart((s + 3601) * NANOS_PER_SECOND, s), 3601);
        assert_eq!(seconds_apart(0, u64::MAX), u64::MAX);
    }
}
