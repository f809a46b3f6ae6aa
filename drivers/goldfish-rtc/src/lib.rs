//! The Goldfish real-time clock of QEMU `virt` (`google,goldfish-rtc`):
//! nanoseconds since the Unix epoch, read through a typed window.
//!
//! Reading `TIME_LOW` returns the low 32 bits of the current time and
//! latches the high 32 bits, which `TIME_HIGH` then returns; so `TIME_LOW`
//! is read first, and its read (a side effect) needs unique access to the
//! window. Likewise writing `ALARM_LOW` arms the alarm at the time whose
//! high half `ALARM_HIGH` holds, so `ALARM_HIGH` is written first. The tests
//! check these orders against a scripted device.
#![no_std]
#![forbid(unsafe_code)]

use mmio_types::{MmioWindow, ReadOnly, ReadPure, WriteOnly, bitfields, field, register_block};

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
        0x10 => pub irq_enabled: WriteOnly<IrqEnabled>,
        /// 0x14 `CLEAR_ALARM`.
        0x14 => pub clear_alarm: WriteOnly<u32>,
        /// 0x18 `ALARM_STATUS`: whether an alarm is armed.
        0x18 => pub alarm_status: ReadPure<AlarmStatus>,
        /// 0x1c `CLEAR_INTERRUPT`.
        0x1c => pub clear_interrupt: WriteOnly<u32>,
        0x20 => @end,
    }
}

bitfields! {
    /// `IRQ_ENABLED`.
    pub struct IrqEnabled: u32 {
        /// The alarm raises the interrupt.
        pub ENABLED: 0,
    }
    /// `ALARM_STATUS`.
    pub struct AlarmStatus: u32 {
        /// An alarm is armed and has not fired.
        pub ARMED: 0,
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

    /// Arms the alarm for `at_ns` (nanoseconds since the epoch) and
    /// enables its interrupt: `ALARM_HIGH`, then `ALARM_LOW` (which arms),
    /// then `IRQ_ENABLED`.
    pub fn set_alarm(&mut self, at_ns: u64) {
        let mut regs = self.window.regs();
        field!(regs, alarm_high).write((at_ns >> 32) as u32);
        field!(regs, alarm_low).write(at_ns as u32);
        field!(regs, irq_enabled).write(IrqEnabled::new().with(IrqEnabled::ENABLED, true));
    }

    /// Whether an alarm is armed (a pure read).
    pub fn alarm_armed(&self) -> bool {
        let regs = self.window.regs_shared();
        mmio_types::field_shared!(regs, alarm_status)
            .read()
            .is_set(AlarmStatus::ARMED)
    }

    /// Disarms the alarm, disables and clears its interrupt.
    pub fn cancel_alarm(&mut self) {
        let mut regs = self.window.regs();
        field!(regs, irq_enabled).write(IrqEnabled::new());
        field!(regs, clear_alarm).write(1);
        field!(regs, clear_interrupt).write(1);
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
    extern crate std;

    use mmio_types::{Access, ScriptedDevice};

    use super::*;

    const TIME_LOW: usize = 0x00;
    const TIME_HIGH: usize = 0x04;
    const ALARM_LOW: usize = 0x08;
    const ALARM_HIGH: usize = 0x0c;
    const IRQ_ENABLED: usize = 0x10;
    const CLEAR_ALARM: usize = 0x14;
    const ALARM_STATUS: usize = 0x18;
    const CLEAR_INTERRUPT: usize = 0x1c;

    fn rtc() -> (ScriptedDevice, GoldfishRtc) {
        let (device, token) = ScriptedDevice::new(WINDOW_LEN);
        device
            .name(TIME_LOW, "TIME_LOW")
            .name(TIME_HIGH, "TIME_HIGH")
            .name(ALARM_LOW, "ALARM_LOW")
            .name(ALARM_HIGH, "ALARM_HIGH")
            .name(IRQ_ENABLED, "IRQ_ENABLED")
            .name(CLEAR_ALARM, "CLEAR_ALARM")
            .name(ALARM_STATUS, "ALARM_STATUS")
            .name(CLEAR_INTERRUPT, "CLEAR_INTERRUPT");
        let window = GoldfishRtcWindow::from_token(token).expect("a 4 KiB window");
        (device, GoldfishRtc::new(window))
    }

    #[test]
    fn the_time_is_time_low_then_the_high_half_it_latched() {
        let (device, mut rtc) = rtc();
        // 2026-12-01T12:00:00Z in ns: 1_796_126_400 s.
        let ns: u64 = 1_796_126_400 * NANOS_PER_SECOND + 123;
        device.expect([
            Access::read(TIME_LOW, ns as u32),
            Access::read(TIME_HIGH, (ns >> 32) as u32),
            Access::read(TIME_LOW, u32::MAX),
            Access::read(TIME_HIGH, 0u32),
        ]);
        assert_eq!(rtc.now_ns(), ns);
        assert_eq!(rtc.now_ns(), u64::from(u32::MAX));
        device.finish();
    }

    #[test]
    fn the_time_latched_by_the_device_model() {
        // A model of the latch: reading TIME_LOW copies the high half of
        // the clock into TIME_HIGH, which then reads it.
        let (device, mut rtc) = rtc();
        let clock = std::rc::Rc::new(std::cell::Cell::new(0x1234_5678_9abc_def0_u64));
        let latched = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let (c, l) = (clock.clone(), latched.clone());
        device.on_read(TIME_LOW, move |_| {
            l.set(c.get() >> 32);
            c.get() & 0xffff_ffff
        });
        let l = latched.clone();
        device.on_read(TIME_HIGH, move |_| l.get());
        assert_eq!(rtc.now_ns(), 0x1234_5678_9abc_def0);
        clock.set(0x1234_5679_0000_0001);
        assert_eq!(rtc.now_ns(), 0x1234_5679_0000_0001);
        // Reading the time writes nothing.
        assert!(device.log().iter().all(|a| a.op == mmio_types::Op::Read));
    }

    #[test]
    fn an_alarm_is_armed_high_half_first() {
        let (device, mut rtc) = rtc();
        let at: u64 = 0x0000_0019_0000_0042;
        device.expect([
            Access::write(ALARM_HIGH, 0x19u32),
            Access::write(ALARM_LOW, 0x42u32),
            Access::write(IRQ_ENABLED, 1u32),
            Access::read(ALARM_STATUS, 1u32),
            Access::write(IRQ_ENABLED, 0u32),
            Access::write(CLEAR_ALARM, 1u32),
            Access::write(CLEAR_INTERRUPT, 1u32),
            Access::read(ALARM_STATUS, 0u32),
        ]);
        rtc.set_alarm(at);
        assert!(rtc.alarm_armed());
        rtc.cancel_alarm();
        assert!(!rtc.alarm_armed());
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
