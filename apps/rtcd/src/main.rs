//! `rtcd`: maps the Goldfish RTC window (read-only), reads the time through
//! its typed registers and prints it as
//! `rtcd: the RTC reads <seconds>.<milliseconds> s since the epoch`.
//! `cargo xtask` compares that line with the host's clock.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use goldfish_rtc::{GoldfishRtc, GoldfishRtcWindow, NANOS_PER_SECOND};
use nexus_abi::{MapProt, println, sys};

nexus_abi::entry!(main);

/// Where system.toml puts the RTC window.
const RTC_SLOT: usize = 1;

fn main() -> i32 {
    match run() {
        Ok(()) => 0,
        Err(why) => {
            println!("rtcd: FAIL {why}");
            1
        }
    }
}

fn run() -> Result<(), &'static str> {
    let token = sys::mmio_map(RTC_SLOT, MapProt::READ).map_err(|_| "mmio_map of the RTC failed")?;
    let window = GoldfishRtcWindow::from_token(token).map_err(|_| "the RTC window is not 4 KiB")?;
    let mut rtc = GoldfishRtc::new(window);
    let now = rtc.now_ns();
    sys::mmio_unmap(rtc.into_window().unmap()).map_err(|_| "mmio_unmap failed")?;
    println!(
        "rtcd: the RTC reads {}.{:03} s since the epoch",
        now / NANOS_PER_SECOND,
        now % NANOS_PER_SECOND / 1_000_000
    );
    Ok(())
}
