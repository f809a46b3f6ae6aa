//! Names of trap causes, for the one-line report of a killed task.

/// `scause` exception code of an environment call from U-mode.
pub const ECALL_FROM_U: usize = 8;

/// The RISC-V name of exception `code` (the interrupt bit cleared).
pub fn exception_name(code: usize) -> &'static str {
    match code {
        0 => "instruction address misaligned",
        1 => "instruction access fault",
        2 => "illegal instruction",
        3 => "breakpoint",
        4 => "load address misaligned",
        5 => "load access fault",
        6 => "store address misaligned",
        7 => "store access fault",
        8 => "environment call from U-mode",
        9 => "environment call from S-mode",
        12 => "instruction page fault",
        13 => "load page fault",
        15 => "store page fault",
        18 => "software check",
        19 => "hardware error",
        _ => "unknown exception",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_fault_names() {
        assert_eq!(exception_name(12), "instruction page fault");
        assert_eq!(exception_name(13), "load page fault");
        assert_eq!(exception_name(15), "store page fault");
        assert_eq!(exception_name(2), "illegal instruction");
        assert_eq!(exception_name(5), "load access fault");
        assert_eq!(exception_name(99), "unknown exception");
    }
}
