//! The expected-marker list and the check of a console log against it.

/// One expected marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// The text a console line must start with (after trimming).
    pub text: String,
    /// Ordered markers must appear in file order; floating ones (`~ ` in the
    /// file) anywhere before the next ordered marker of the file.
    pub ordered: bool,
}

/// Parses the marker file: one marker per line, `#` comments, `~ ` prefix
/// for floating markers.
pub fn parse(text: &str) -> Vec<Marker> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix("~ ") {
            Some(rest) => Marker {
                text: rest.trim().to_string(),
                ordered: false,
            },
            None => Marker {
                text: l.to_string(),
                ordered: true,
            },
        })
        .collect()
}

/// For each marker, the console line index where it was found, if it was.
pub fn check(markers: &[Marker], lines: &[String]) -> Vec<Option<usize>> {
    let matches = |i: usize, m: &Marker| lines[i].trim().starts_with(m.text.as_str());
    let mut found = vec![None; markers.len()];
    let mut next = 0;
    for (k, m) in markers.iter().enumerate().filter(|(_, m)| m.ordered) {
        if let Some(i) = (next..lines.len()).find(|&i| matches(i, m)) {
            found[k] = Some(i);
            next = i + 1;
        } else {
            // Later ordered markers cannot count once one is missing.
            next = lines.len();
        }
    }
    for (k, m) in markers.iter().enumerate().filter(|(_, m)| !m.ordered) {
        // Bounded by the next ordered marker (if it was found at all).
        let bound = markers[k..]
            .iter()
            .position(|n| n.ordered)
            .map_or(Some(lines.len()), |d| found[k + d]);
        found[k] = bound.and_then(|b| (0..b).find(|&i| matches(i, m)));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_ordered_floating_and_comments() {
        let m = parse("# c\nA\n\n~ K killed\nB\n");
        assert_eq!(m.len(), 3);
        assert!(m[0].ordered && !m[1].ordered && m[2].ordered);
        assert_eq!(m[1].text, "K killed");
    }

    #[test]
    fn ordered_markers_must_keep_order() {
        let m = parse("A\nB\nC\n");
        assert_eq!(
            check(&m, &lines(&["x", "A", "C", "B"])),
            [Some(1), Some(3), None]
        );
        assert_eq!(
            check(&m, &lines(&["A", "B", "C"])),
            [Some(0), Some(1), Some(2)]
        );
    }

    #[test]
    fn a_missing_marker_hides_later_ones() {
        let m = parse("A\nB\nC\n");
        assert_eq!(check(&m, &lines(&["A", "C"])), [Some(0), None, None]);
    }

    #[test]
    fn floating_markers_must_precede_the_next_ordered_one() {
        let m = parse("A\n~ K\nDONE\n");
        assert_eq!(
            check(&m, &lines(&["A", "K x", "DONE"])),
            [Some(0), Some(1), Some(2)]
        );
        assert_eq!(
            check(&m, &lines(&["K", "A", "DONE"])),
            [Some(1), Some(0), Some(2)]
        );
        assert_eq!(
            check(&m, &lines(&["A", "DONE", "K"])),
            [Some(0), None, Some(1)]
        );
    }

    #[test]
    fn markers_match_line_starts_only() {
        let m = parse("SELFTEST: done\n");
        assert_eq!(check(&m, &lines(&["echo SELFTEST: done"])), [None]);
        assert_eq!(check(&m, &lines(&["  SELFTEST: done  "])), [Some(0)]);
    }
}
