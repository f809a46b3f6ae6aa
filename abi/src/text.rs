//! A fixed-size text buffer that `write!` can fill without a heap: what a
//! program builds a status page or a report line in.

use core::fmt;

/// Up to `N` bytes of text; writes past the end fail and are not kept.
pub struct Text<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Text<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        Text {
            buf: [0; N],
            len: 0,
        }
    }

    /// The text written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for Text<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn keeps_what_fits_and_refuses_the_rest() {
        let mut t = Text::<8>::new();
        assert!(t.is_empty());
        write!(t, "abc{}", 12).unwrap();
        assert_eq!(t.as_bytes(), b"abc12");
        assert!(write!(t, "wxyz").is_err());
        assert_eq!(t.as_bytes(), b"abc12");
        write!(t, "xyz").unwrap();
        assert_eq!(t.len(), 8);
    }
}
