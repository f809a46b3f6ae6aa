//! ELF program checks: what the loader refuses before a single page is mapped.

use core::fmt;

use nexus_abi::MapProt;
use nexus_abi::layout::{IMAGE_BASE, IMAGE_END, PAGE_SIZE};
use xmas_elf::ElfFile;
use xmas_elf::header::{Class, Machine, Type};
use xmas_elf::program::{ProgramHeader, Type as PhType};

/// The most `PT_LOAD` segments a program may have.
pub const MAX_SEGMENTS: usize = 8;

/// One `PT_LOAD` segment, as the loader maps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Virtual address (page-aligned).
    pub vaddr: usize,
    /// Bytes in memory (the tail past `filesz` is zero).
    pub memsz: usize,
    /// Offset of the initialised bytes in the file.
    pub offset: usize,
    /// Bytes present in the file.
    pub filesz: usize,
    /// Access the segment asks for.
    pub prot: MapProt,
}

impl Segment {
    /// End of the segment rounded up to a page (None if it wraps).
    fn page_end(&self) -> Option<usize> {
        self.vaddr
            .checked_add(self.memsz)?
            .checked_next_multiple_of(PAGE_SIZE)
    }
}

/// Why a program was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Not a well-formed ELF file.
    Malformed(&'static str),
    /// Not a 64-bit RISC-V executable.
    WrongTarget,
    /// No `PT_LOAD` segment, or more than [`MAX_SEGMENTS`].
    SegmentCount,
    /// A segment's address is not page-aligned.
    Unaligned { vaddr: usize },
    /// A segment lies (partly) outside the user image range.
    OutsideUserRange { vaddr: usize },
    /// A segment's file bytes are longer than its memory or outside the file.
    BadFileRange { vaddr: usize },
    /// A segment is both writable and executable.
    WriteAndExecute { vaddr: usize },
    /// Two segments share a page.
    Overlap { a: usize, b: usize },
    /// The entry point is not inside an executable segment.
    BadEntry { entry: usize },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LoadError::Malformed(why) => write!(f, "malformed ELF: {why}"),
            LoadError::WrongTarget => write!(f, "not a 64-bit RISC-V executable"),
            LoadError::SegmentCount => {
                write!(f, "needs 1 to {MAX_SEGMENTS} PT_LOAD segments")
            }
            LoadError::Unaligned { vaddr } => {
                write!(f, "segment at {vaddr:#x} is not page-aligned")
            }
            LoadError::OutsideUserRange { vaddr } => write!(
                f,
                "segment at {vaddr:#x} is outside the user image range \
                 {IMAGE_BASE:#x}..{IMAGE_END:#x}"
            ),
            LoadError::BadFileRange { vaddr } => {
                write!(f, "segment at {vaddr:#x} has a bad file range")
            }
            LoadError::WriteAndExecute { vaddr } => {
                write!(f, "segment at {vaddr:#x} is writable and executable (W^X)")
            }
            LoadError::Overlap { a, b } => {
                write!(f, "segments at {a:#x} and {b:#x} overlap")
            }
            LoadError::BadEntry { entry } => {
                write!(f, "entry point {entry:#x} is not in an executable segment")
            }
        }
    }
}

/// A checked program: its segments and entry point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// The `PT_LOAD` segments, checked.
    pub segments: [Option<Segment>; MAX_SEGMENTS],
    /// The entry point.
    pub entry: usize,
}

/// Checks a segment list against every loader rule. Pure: the whole policy.
pub fn check_segments(segs: &[Segment], file_len: usize, entry: usize) -> Result<(), LoadError> {
    if segs.is_empty() || segs.len() > MAX_SEGMENTS {
        return Err(LoadError::SegmentCount);
    }
    for s in segs {
        let vaddr = s.vaddr;
        if !vaddr.is_multiple_of(PAGE_SIZE) {
            return Err(LoadError::Unaligned { vaddr });
        }
        match s.page_end() {
            Some(end) if vaddr >= IMAGE_BASE && end <= IMAGE_END && s.memsz > 0 => {}
            _ => return Err(LoadError::OutsideUserRange { vaddr }),
        }
        let file_end = s.offset.checked_add(s.filesz);
        if s.filesz > s.memsz || file_end.is_none_or(|e| e > file_len) {
            return Err(LoadError::BadFileRange { vaddr });
        }
        if s.prot.contains(MapProt::WRITE | MapProt::EXEC) {
            return Err(LoadError::WriteAndExecute { vaddr });
        }
    }
    for (i, a) in segs.iter().enumerate() {
        for b in &segs[i + 1..] {
            // Both page_end()s were checked above.
            let (a_end, b_end) = (a.page_end().unwrap_or(0), b.page_end().unwrap_or(0));
            if a.vaddr < b_end && b.vaddr < a_end {
                return Err(LoadError::Overlap {
                    a: a.vaddr,
                    b: b.vaddr,
                });
            }
        }
    }
    let in_exec = segs
        .iter()
        .any(|s| s.prot.contains(MapProt::EXEC) && entry >= s.vaddr && entry < s.vaddr + s.memsz);
    if !in_exec {
        return Err(LoadError::BadEntry { entry });
    }
    Ok(())
}

fn prot_of(flags: xmas_elf::program::Flags) -> MapProt {
    let mut p = MapProt::empty();
    p.set(MapProt::READ, flags.is_read());
    p.set(MapProt::WRITE, flags.is_write());
    p.set(MapProt::EXEC, flags.is_execute());
    p
}

/// Parses an ELF file and checks it; the only way to get a [`Program`].
pub fn parse(bytes: &[u8]) -> Result<Program, LoadError> {
    let elf = ElfFile::new(bytes).map_err(LoadError::Malformed)?;
    let h = &elf.header;
    let machine = h.pt2.machine().as_machine();
    if h.pt1.class() != Class::SixtyFour
        || machine != Machine::RISC_V
        || h.pt2.type_().as_type() != Type::Executable
    {
        return Err(LoadError::WrongTarget);
    }
    let mut segments = [None; MAX_SEGMENTS];
    let mut n = 0;
    for ph in elf.program_iter() {
        let ProgramHeader::Ph64(ph) = ph else {
            return Err(LoadError::WrongTarget);
        };
        if ph.get_type() != Ok(PhType::Load) {
            continue;
        }
        if n == MAX_SEGMENTS {
            return Err(LoadError::SegmentCount);
        }
        segments[n] = Some(Segment {
            vaddr: ph.virtual_addr as usize,
            memsz: ph.mem_size as usize,
            offset: ph.offset as usize,
            filesz: ph.file_size as usize,
            prot: prot_of(ph.flags),
        });
        n += 1;
    }
    let entry = h.pt2.entry_point() as usize;
    let list: [Segment; MAX_SEGMENTS] = segments.map(|s| {
        s.unwrap_or(Segment {
            vaddr: 0,
            memsz: 0,
            offset: 0,
            filesz: 0,
            prot: MapProt::empty(),
        })
    });
    check_segments(&list[..n], bytes.len(), entry)?;
    Ok(Program { segments, entry })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RX: MapProt = MapProt::READ.union(MapProt::EXEC);

    fn seg(vaddr: usize, memsz: usize, prot: MapProt) -> Segment {
        Segment {
            vaddr,
            memsz,
            offset: 0,
            filesz: 0,
            prot,
        }
    }

    fn text() -> Segment {
        seg(IMAGE_BASE, 0x1800, RX)
    }

    #[test]
    fn accepts_text_rodata_data() {
        let segs = [
            text(),
            seg(IMAGE_BASE + 0x2000, 0x100, MapProt::READ),
            seg(IMAGE_BASE + 0x3000, 0x2000, MapProt::RW),
        ];
        assert_eq!(check_segments(&segs, 0, IMAGE_BASE), Ok(()));
    }

    #[test]
    fn refuses_writable_and_executable_segment() {
        let wx = MapProt::READ | MapProt::WRITE | MapProt::EXEC;
        let segs = [seg(IMAGE_BASE, 0x1000, wx)];
        assert_eq!(
            check_segments(&segs, 0, IMAGE_BASE),
            Err(LoadError::WriteAndExecute { vaddr: IMAGE_BASE })
        );
    }

    #[test]
    fn refuses_unaligned_segment() {
        let segs = [text(), seg(IMAGE_BASE + 0x2010, 0x10, MapProt::READ)];
        assert_eq!(
            check_segments(&segs, 0, IMAGE_BASE),
            Err(LoadError::Unaligned {
                vaddr: IMAGE_BASE + 0x2010
            })
        );
    }

    #[test]
    fn refuses_segments_outside_user_range() {
        for vaddr in [0x8020_0000, 0, IMAGE_END, IMAGE_BASE - PAGE_SIZE] {
            let segs = [seg(vaddr, 0x1000, RX)];
            assert_eq!(
                check_segments(&segs, 0, vaddr),
                Err(LoadError::OutsideUserRange { vaddr })
            );
        }
        // Straddling the end of the range.
        let segs = [seg(IMAGE_END - PAGE_SIZE, 2 * PAGE_SIZE, RX)];
        assert!(matches!(
            check_segments(&segs, 0, IMAGE_END - PAGE_SIZE),
            Err(LoadError::OutsideUserRange { .. })
        ));
        // Wrapping around the address space.
        let segs = [seg(IMAGE_BASE, usize::MAX - 0x10, RX)];
        assert!(matches!(
            check_segments(&segs, 0, IMAGE_BASE),
            Err(LoadError::OutsideUserRange { .. })
        ));
    }

    #[test]
    fn refuses_overlapping_segments_even_within_a_page() {
        let segs = [text(), seg(IMAGE_BASE + 0x1000, 0x100, MapProt::READ)];
        assert_eq!(
            check_segments(&segs, 0, IMAGE_BASE),
            Err(LoadError::Overlap {
                a: IMAGE_BASE,
                b: IMAGE_BASE + 0x1000
            })
        );
    }

    #[test]
    fn refuses_bad_file_ranges() {
        let mut s = text();
        s.filesz = 0x2000; // more than memsz
        assert!(matches!(
            check_segments(&[s], 0x10000, IMAGE_BASE),
            Err(LoadError::BadFileRange { .. })
        ));
        let mut s = text();
        s.offset = 0x1000;
        s.filesz = 0x100;
        assert!(matches!(
            check_segments(&[s], 0x1080, IMAGE_BASE),
            Err(LoadError::BadFileRange { .. })
        ));
        s.offset = usize::MAX;
        assert!(matches!(
            check_segments(&[s], 0x1080, IMAGE_BASE),
            Err(LoadError::BadFileRange { .. })
        ));
    }

    #[test]
    fn refuses_entry_outside_executable_code() {
        let segs = [text(), seg(IMAGE_BASE + 0x2000, 0x1000, MapProt::READ)];
        assert_eq!(
            check_segments(&segs, 0, IMAGE_BASE + 0x2000),
            Err(LoadError::BadEntry {
                entry: IMAGE_BASE + 0x2000
            })
        );
    }

    #[test]
    fn refuses_no_or_too_many_segments() {
        assert_eq!(check_segments(&[], 0, 0), Err(LoadError::SegmentCount));
        let many = [text(); MAX_SEGMENTS + 1];
        assert_eq!(
            check_segments(&many, 0, IMAGE_BASE),
            Err(LoadError::SegmentCount)
        );
    }

    #[test]
    fn parse_refuses_garbage_and_foreign_elves() {
        assert!(matches!(parse(b"not an elf"), Err(LoadError::Malformed(_))));
        // The host test binary itself is an x86-64 (or other host) ELF.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(parse(&me), Err(LoadError::WrongTarget));
    }

    /// A minimal RISC-V ELF64 executable with the given program headers.
    pub(crate) fn build_elf(entry: u64, phdrs: &[(u32, u64, u64, u64, u64)]) -> std::vec::Vec<u8> {
        let mut f = std::vec![0u8; 64 + 56 * phdrs.len()];
        f[0..4].copy_from_slice(b"\x7fELF");
        f[4] = 2; // 64-bit
        f[5] = 1; // little endian
        f[6] = 1; // version
        f[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f[18..20].copy_from_slice(&243u16.to_le_bytes()); // EM_RISCV
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&entry.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
        f[52..54].copy_from_slice(&64u16.to_le_bytes()); // ehsize
        f[54..56].copy_from_slice(&56u16.to_le_bytes()); // phentsize
        f[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, &(flags, offset, vaddr, filesz, memsz)) in phdrs.iter().enumerate() {
            let p = &mut f[64 + 56 * i..64 + 56 * (i + 1)];
            p[0..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
            p[4..8].copy_from_slice(&flags.to_le_bytes());
            p[8..16].copy_from_slice(&offset.to_le_bytes());
            p[16..24].copy_from_slice(&vaddr.to_le_bytes());
            p[24..32].copy_from_slice(&vaddr.to_le_bytes());
            p[32..40].copy_from_slice(&filesz.to_le_bytes());
            p[40..48].copy_from_slice(&memsz.to_le_bytes());
            p[48..56].copy_from_slice(&4096u64.to_le_bytes());
        }
        f
    }

    #[test]
    fn parse_refuses_a_writable_executable_elf() {
        let base = IMAGE_BASE as u64;
        let elf = build_elf(base, &[(7, 0, base, 0x40, 0x1000)]); // RWX
        assert_eq!(
            parse(&elf),
            Err(LoadError::WriteAndExecute { vaddr: IMAGE_BASE })
        );
    }

    #[test]
    fn parse_accepts_a_well_formed_elf() {
        let base = IMAGE_BASE as u64;
        let elf = build_elf(
            base,
            &[(5, 0, base, 0x40, 0x1000), (6, 0, base + 0x1000, 0, 0x1000)],
        );
        let p = parse(&elf).unwrap();
        assert_eq!(p.entry, IMAGE_BASE);
        let s0 = p.segments[0].unwrap();
        assert_eq!(s0.prot, RX);
        assert_eq!(p.segments[1].unwrap().prot, MapProt::RW);
        assert_eq!(p.segments[2], None);
    }
}
