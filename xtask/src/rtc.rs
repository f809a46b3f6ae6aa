//! The RTC check: the time `rtcd` read from the Goldfish RTC against the
//! host's clock, which QEMU's RTC follows.

use std::time::{SystemTime, UNIX_EPOCH};

/// What `rtcd` prints before the time.
const PREFIX: &str = "rtcd: the RTC reads ";
/// How far the RTC may be from the host's clock.
pub const TOLERANCE_S: u64 = 3600;

/// Seconds since the epoch on the host.
pub fn host_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The whole seconds of the first `rtcd: the RTC reads <s>.<ms> s ...` line.
pub fn reading(lines: &[String]) -> Option<u64> {
    lines.iter().find_map(|l| {
        let rest = l.trim().strip_prefix(PREFIX)?;
        let (secs, _) = rest.split_once('.')?;
        secs.parse().ok()
    })
}

/// Checks the RTC's reading against the host's clock read just before QEMU
/// started (`before`) and just after it ended (`after`): it must lie within
/// [`TOLERANCE_S`] of that interval. Returns the report line.
pub fn check(lines: &[String], before: u64, after: u64) -> Result<String, String> {
    let rtc = reading(lines).ok_or("rtcd printed no time")?;
    let apart = if rtc < before {
        before - rtc
    } else {
        rtc.saturating_sub(after)
    };
    let report = format!("RTC {rtc} s, host {before}..{after} s: {apart} s apart");
    if apart <= TOLERANCE_S {
        Ok(report)
    } else {
        Err(format!("{report}, more than {TOLERANCE_S} s"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(time: &str) -> Vec<String> {
        vec![
            "neuron: booting on hart 0".into(),
            format!("rtcd: the RTC reads {time} s since the epoch"),
        ]
    }

    #[test]
    fn within_an_hour_of_the_run_passes() {
        let t = 1_796_126_400;
        assert_eq!(reading(&console("1796126400.123")), Some(t));
        assert!(check(&console("1796126400.123"), t - 1, t + 2).is_ok());
        assert!(check(&console("1796126400.000"), t + 3600, t + 3700).is_ok());
        assert!(check(&console("1796126400.000"), t - 3700, t - 3600).is_ok());
    }

    #[test]
    fn farther_or_missing_fails() {
        let t = 1_796_126_400;
        let e = check(&console("1796126400.000"), t + 3601, t + 3700).unwrap_err();
        assert!(e.contains("3601 s apart"), "{e}");
        assert!(check(&console("1796126400.000"), t - 4000, t - 3601).is_err());
        assert!(check(&console("0.000"), t, t).is_err());
        assert_eq!(
            check(&["rtcd: FAIL mmio_map of the RTC failed".into()], t, t),
            Err("rtcd printed no time".into())
        );
        assert_eq!(reading(&console("soon")), None);
    }
}
