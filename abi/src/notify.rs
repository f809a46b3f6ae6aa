//! Notifications: the word of signal bits each task waits on.

/// The `deadline` of a `wait` that never times out.
pub const NO_DEADLINE: u64 = u64::MAX;

/// Signal bits in a task's notification word (bit numbers `0..NOTIFY_BITS`).
pub const NOTIFY_BITS: u32 = 64;
