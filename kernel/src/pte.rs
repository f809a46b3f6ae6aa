//! Sv39 page-table entries, and the one place their permissions are decided.

use nexus_abi::MapProt;

bitflags::bitflags! {
    /// The flag bits of an Sv39 PTE.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PteFlags: u64 {
        /// Valid.
        const V = 1 << 0;
        /// Readable.
        const R = 1 << 1;
        /// Writable.
        const W = 1 << 2;
        /// Executable.
        const X = 1 << 3;
        /// Accessible from U-mode.
        const U = 1 << 4;
        /// Global.
        const G = 1 << 5;
        /// Accessed.
        const A = 1 << 6;
        /// Dirty.
        const D = 1 << 7;
    }
}

/// Why a leaf PTE was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PteError {
    /// Writable and executable at once: W^X is enforced for every mapping.
    WriteAndExecute,
    /// Writable but not readable: a reserved encoding on RISC-V.
    WriteOnly,
    /// No access at all: that is an unmapped page, not a leaf.
    NoAccess,
    /// The physical address is not page-aligned or beyond Sv39's 56 bits.
    BadAddress,
}

/// Who may use a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The kernel only (U = 0).
    Kernel,
    /// The task (U = 1).
    User,
}

/// A page-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pte(pub u64);

impl Pte {
    /// The invalid (empty) entry.
    pub const EMPTY: Pte = Pte(0);

    /// The flag bits.
    pub fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0)
    }

    /// Whether the entry is valid.
    pub fn is_valid(self) -> bool {
        self.flags().contains(PteFlags::V)
    }

    /// Whether the entry is a leaf (valid with any of R, W, X).
    pub fn is_leaf(self) -> bool {
        self.is_valid()
            && self
                .flags()
                .intersects(PteFlags::R | PteFlags::W | PteFlags::X)
    }

    /// The physical address the entry points at.
    pub fn phys(self) -> usize {
        ((self.0 >> 10) << 12) as usize
    }

    /// A pointer to a next-level table: V only, as Sv39 requires.
    pub fn table(phys: usize) -> Pte {
        Pte(((phys as u64 >> 12) << 10) | PteFlags::V.bits())
    }

    /// A leaf entry: the only constructor of leaves. Refuses W+X, W-only and
    /// empty permissions whatever asked for them. A and D are preset (QEMU
    /// sets them itself; real hardware may fault instead).
    pub fn leaf(phys: usize, prot: MapProt, owner: Owner) -> Result<Pte, PteError> {
        if !phys.is_multiple_of(4096) || phys >> 56 != 0 {
            return Err(PteError::BadAddress);
        }
        let r = prot.contains(MapProt::READ);
        let w = prot.contains(MapProt::WRITE);
        let x = prot.contains(MapProt::EXEC);
        if w && x {
            return Err(PteError::WriteAndExecute);
        }
        if w && !r {
            return Err(PteError::WriteOnly);
        }
        if !(r || w || x) {
            return Err(PteError::NoAccess);
        }
        let mut flags = PteFlags::V | PteFlags::A | PteFlags::D;
        flags.set(PteFlags::R, r);
        flags.set(PteFlags::W, w);
        flags.set(PteFlags::X, x);
        flags.set(PteFlags::U, owner == Owner::User);
        Ok(Pte(((phys as u64 >> 12) << 10) | flags.bits()))
    }

    /// A user leaf for device memory: never executable, whatever `prot` says.
    /// `prot` must be READ or READ|WRITE; anything with EXEC is refused.
    pub fn device(phys: usize, prot: MapProt) -> Result<Pte, PteError> {
        if prot.contains(MapProt::EXEC) {
            return Err(PteError::WriteAndExecute);
        }
        Pte::leaf(phys, prot, Owner::User)
    }

    /// What a U-mode access to this leaf may do (empty for kernel leaves).
    pub fn user_prot(self) -> MapProt {
        let f = self.flags();
        let mut p = MapProt::empty();
        if !self.is_leaf() || !f.contains(PteFlags::U) {
            return p;
        }
        p.set(MapProt::READ, f.contains(PteFlags::R));
        p.set(MapProt::WRITE, f.contains(PteFlags::W));
        p.set(MapProt::EXEC, f.contains(PteFlags::X));
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_write_and_execute_for_any_owner() {
        for owner in [Owner::Kernel, Owner::User] {
            let all = MapProt::READ | MapProt::WRITE | MapProt::EXEC;
            assert_eq!(
                Pte::leaf(0x1000, all, owner),
                Err(PteError::WriteAndExecute)
            );
            assert_eq!(
                Pte::leaf(0x1000, MapProt::WRITE | MapProt::EXEC, owner),
                Err(PteError::WriteAndExecute)
            );
        }
    }

    #[test]
    fn refuses_write_only_and_empty() {
        assert_eq!(
            Pte::leaf(0x1000, MapProt::WRITE, Owner::User),
            Err(PteError::WriteOnly)
        );
        assert_eq!(
            Pte::leaf(0x1000, MapProt::empty(), Owner::User),
            Err(PteError::NoAccess)
        );
    }

    #[test]
    fn refuses_unaligned_or_huge_physical_addresses() {
        assert_eq!(
            Pte::leaf(0x1001, MapProt::READ, Owner::User),
            Err(PteError::BadAddress)
        );
        assert_eq!(
            Pte::leaf(1 << 56, MapProt::READ, Owner::User),
            Err(PteError::BadAddress)
        );
    }

    #[test]
    fn device_ptes_are_user_rw_accessed_dirty_never_x() {
        let pte = Pte::device(0x1000_8000, MapProt::RW).unwrap();
        let f = pte.flags();
        assert_eq!(
            f,
            PteFlags::V | PteFlags::R | PteFlags::W | PteFlags::U | PteFlags::A | PteFlags::D
        );
        assert_eq!(pte.phys(), 0x1000_8000);
        assert_eq!(pte.user_prot(), MapProt::RW);
        assert!(Pte::device(0x1000_8000, MapProt::READ | MapProt::EXEC).is_err());
        let ro = Pte::device(0x1000_8000, MapProt::READ).unwrap();
        assert!(!ro.flags().contains(PteFlags::W));
        assert!(!ro.flags().contains(PteFlags::X));
    }

    #[test]
    fn kernel_leaves_are_invisible_to_user() {
        let k = Pte::leaf(0x8020_0000, MapProt::READ | MapProt::EXEC, Owner::Kernel).unwrap();
        assert!(!k.flags().contains(PteFlags::U));
        assert_eq!(k.user_prot(), MapProt::empty());
    }

    #[test]
    fn table_entries_carry_only_v() {
        let t = Pte::table(0x8040_0000);
        assert_eq!(t.flags(), PteFlags::V);
        assert!(!t.is_leaf());
        assert_eq!(t.phys(), 0x8040_0000);
    }
}
