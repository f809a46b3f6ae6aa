//! The one error type of the system-call boundary, with fixed codes.

use core::fmt;

/// Why a system call failed. Returned in `a0` as its code; 0 means success
/// and is never a code. Codes are fixed forever: a test pins every one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum SysError {
    /// The number in `a7` names no system call.
    BadSyscall = 1,
    /// A user pointer does not name memory the caller may access this way
    /// (unmapped, kernel, device or wrong-permission memory, or a range that
    /// wraps).
    BadAddress = 2,
    /// A capability slot index is beyond the end of the capability table.
    BadSlot = 3,
    /// The capability slot holds no capability.
    EmptySlot = 4,
    /// The capability is not of the kind the call needs (e.g. not a
    /// device-MMIO capability).
    WrongKind = 5,
    /// The request needs a right the capability does not carry, or asks a
    /// derived capability for rights its parent lacks.
    RightsExceeded = 6,
    /// Execute permission was requested for device memory, which is never
    /// executable.
    ExecNotAllowed = 7,
    /// A write-only mapping was requested: RISC-V reserves the W-without-R
    /// page-table encoding.
    WriteOnly = 8,
    /// An argument is malformed: unknown flag bits, an empty protection, a
    /// zero length, a length over a call's limit.
    InvalidArgument = 9,
    /// An offset, length or address is not page-aligned where it must be.
    Unaligned = 10,
    /// The requested range does not lie inside the capability's window.
    OutOfWindow = 11,
    /// `offset + len` overflows.
    Overflow = 12,
    /// The capability is already mapped in the caller's address space.
    AlreadyMapped = 13,
    /// The caller's device or DMA mapping region has no free range this big.
    NoVirtualSpace = 14,
    /// The address is not the start of a live mapping of the kind the call
    /// removes.
    NotMapped = 15,
    /// The capability table has no free slot for a new capability.
    NoSlot = 16,
    /// The kernel has no free physical memory for the request.
    OutOfMemory = 17,
    /// The request would exceed the caller's DMA quota (set in the system
    /// description; 0 for tasks without one).
    QuotaExceeded = 18,
    /// A `wait` reached its deadline with none of the awaited bits pending.
    TimedOut = 19,
    /// `irq_ack` named an interrupt line that has not fired since it was
    /// last acknowledged: there is nothing to acknowledge.
    NotPending = 20,
    /// The interrupt line is bound to another task's notification: only
    /// the task it signals may acknowledge it.
    NotOwner = 21,
    /// `task_kill` named a task that has already ended.
    TaskEnded = 22,
    /// The task at the other end of the channel has ended: nobody will
    /// read what is signalled.
    PeerEnded = 23,
    /// The caller's end of the channel belongs to a task that was
    /// restarted: it may not be mapped or signalled through until the
    /// peer calls `channel_reset`.
    ResetPending = 24,
    /// `channel_reset` named a channel whose peer still holds its end: only
    /// a restarted peer's channel is reset.
    NotRestarted = 25,
}

impl SysError {
    /// Every error, in code order.
    pub const ALL: [SysError; 25] = [
        SysError::BadSyscall,
        SysError::BadAddress,
        SysError::BadSlot,
        SysError::EmptySlot,
        SysError::WrongKind,
        SysError::RightsExceeded,
        SysError::ExecNotAllowed,
        SysError::WriteOnly,
        SysError::InvalidArgument,
        SysError::Unaligned,
        SysError::OutOfWindow,
        SysError::Overflow,
        SysError::AlreadyMapped,
        SysError::NoVirtualSpace,
        SysError::NotMapped,
        SysError::NoSlot,
        SysError::OutOfMemory,
        SysError::QuotaExceeded,
        SysError::TimedOut,
        SysError::NotPending,
        SysError::NotOwner,
        SysError::TaskEnded,
        SysError::PeerEnded,
        SysError::ResetPending,
        SysError::NotRestarted,
    ];

    /// The code returned in `a0`.
    pub const fn code(self) -> usize {
        self as usize
    }

    /// The error a status code names. 0 (success) and unknown codes are `None`.
    pub fn from_code(code: usize) -> Option<SysError> {
        SysError::ALL.iter().copied().find(|e| e.code() == code)
    }

    /// A stable, human-readable name.
    pub const fn name(self) -> &'static str {
        match self {
            SysError::BadSyscall => "BadSyscall",
            SysError::BadAddress => "BadAddress",
            SysError::BadSlot => "BadSlot",
            SysError::EmptySlot => "EmptySlot",
            SysError::WrongKind => "WrongKind",
            SysError::RightsExceeded => "RightsExceeded",
            SysError::ExecNotAllowed => "ExecNotAllowed",
            SysError::WriteOnly => "WriteOnly",
            SysError::InvalidArgument => "InvalidArgument",
            SysError::Unaligned => "Unaligned",
            SysError::OutOfWindow => "OutOfWindow",
            SysError::Overflow => "Overflow",
            SysError::AlreadyMapped => "AlreadyMapped",
            SysError::NoVirtualSpace => "NoVirtualSpace",
            SysError::NotMapped => "NotMapped",
            SysError::NoSlot => "NoSlot",
            SysError::OutOfMemory => "OutOfMemory",
            SysError::QuotaExceeded => "QuotaExceeded",
            SysError::TimedOut => "TimedOut",
            SysError::NotPending => "NotPending",
            SysError::NotOwner => "NotOwner",
            SysError::TaskEnded => "TaskEnded",
            SysError::PeerEnded => "PeerEnded",
            SysError::ResetPending => "ResetPending",
            SysError::NotRestarted => "NotRestarted",
        }
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes are the ABI: this table must never change, only grow.
    const PINNED: [(SysError, usize, &str); 25] = [
        (SysError::BadSyscall, 1, "BadSyscall"),
        (SysError::BadAddress, 2, "BadAddress"),
        (SysError::BadSlot, 3, "BadSlot"),
        (SysError::EmptySlot, 4, "EmptySlot"),
        (SysError::WrongKind, 5, "WrongKind"),
        (SysError::RightsExceeded, 6, "RightsExceeded"),
        (SysError::ExecNotAllowed, 7, "ExecNotAllowed"),
        (SysError::WriteOnly, 8, "WriteOnly"),
        (SysError::InvalidArgument, 9, "InvalidArgument"),
        (SysError::Unaligned, 10, "Unaligned"),
        (SysError::OutOfWindow, 11, "OutOfWindow"),
        (SysError::Overflow, 12, "Overflow"),
        (SysError::AlreadyMapped, 13, "AlreadyMapped"),
        (SysError::NoVirtualSpace, 14, "NoVirtualSpace"),
        (SysError::NotMapped, 15, "NotMapped"),
        (SysError::NoSlot, 16, "NoSlot"),
        (SysError::OutOfMemory, 17, "OutOfMemory"),
        (SysError::QuotaExceeded, 18, "QuotaExceeded"),
        (SysError::TimedOut, 19, "TimedOut"),
        (SysError::NotPending, 20, "NotPending"),
        (SysError::NotOwner, 21, "NotOwner"),
        (SysError::TaskEnded, 22, "TaskEnded"),
        (SysError::PeerEnded, 23, "PeerEnded"),
        (SysError::ResetPending, 24, "ResetPending"),
        (SysError::NotRestarted, 25, "NotRestarted"),
    ];

    #[test]
    fn every_code_is_pinned() {
        assert_eq!(PINNED.len(), SysError::ALL.len());
        for (err, code, name) in PINNED {
            assert_eq!(err.code(), code, "{name}");
            assert_eq!(err.name(), name);
            assert_eq!(SysError::from_code(code), Some(err));
        }
    }

    #[test]
    fn zero_and_unknown_codes_are_not_errors() {
        assert_eq!(SysError::from_code(0), None);
        assert_eq!(SysError::from_code(26), None);
        assert_eq!(SysError::from_code(usize::MAX), None);
    }

    #[test]
    fn codes_are_distinct() {
        for (i, a) in SysError::ALL.iter().enumerate() {
            for b in &SysError::ALL[i + 1..] {
                assert_ne!(a.code(), b.code());
            }
        }
    }
}
