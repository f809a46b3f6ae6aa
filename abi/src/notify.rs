//! Notifications: the word of signal bits each task waits on.

/// The `deadline` of a `wait` that never times out.
pub const NO_DEADLINE: u64 = u64::MAX;

/// Signal bits in a task's notification word (bit numbers `0..NOTIFY_BITS`).
pub const NOTIFY_BITS: u32 = 64;

/// What a `wait` that succeeded returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wakeup {
    /// The pending bits of the mask, now taken (never 0).
    pub bits: u64,
    /// The `instret` value when the kernel took the interrupt that woke the
    /// task, or 0 if the wait returned without blocking (a bit was already
    /// pending) or was woken by something else. Latency figures subtract it
    /// from `instret` read after the wait.
    pub stamp: u64,
}
