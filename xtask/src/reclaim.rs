//! What blkd reports of the clients that ended while it served them: each
//! end with the requests it had at the disk, and the later line saying all
//! of them came back. Both the test run (the blk reclaim check) and the
//! bench (`blk_client_kill_leaks`) count from these lines.

/// Ends of blkd's clients, as blkd reported them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reclaims {
    /// Client ends blkd noticed.
    pub ends: usize,
    /// Requests those clients had at the disk when blkd noticed.
    pub at_disk: usize,
    /// Of those, the requests whose buffers blkd reported back.
    pub came_back: usize,
}

impl Reclaims {
    /// Buffers lent to blkd by clients that ended and never given back.
    pub fn leaked(&self) -> usize {
        self.at_disk - self.came_back
    }
}

/// Counts blkd's reports in a console: `blkd: <name> ended with <k>
/// request(s) at the disk`, then, for `k > 0`, `blkd: <name> ended with
/// <k> request(s) at the disk; all <k> buffer(s) came back`. A came-back
/// report counts only against an earlier end of the same client with the
/// same `k` not yet matched.
pub fn count(lines: &[String]) -> Reclaims {
    let mut r = Reclaims::default();
    // Ends with requests at the disk not yet matched: (name, k).
    let mut open: Vec<(String, usize)> = Vec::new();
    for line in lines {
        let Some(rest) = line.trim_end().strip_prefix("blkd: ") else {
            continue;
        };
        let Some((name, rest)) = rest.split_once(" ended with ") else {
            continue;
        };
        let Some((k, rest)) = rest.split_once(" request(s) at the disk") else {
            continue;
        };
        let Ok(k) = k.parse::<usize>() else { continue };
        if rest.is_empty() {
            r.ends += 1;
            r.at_disk += k;
            if k > 0 {
                open.push((name.to_string(), k));
            }
        } else if rest == format!("; all {k} buffer(s) came back")
            && let Some(i) = open.iter().position(|(n, m)| n == name && *m == k)
        {
            open.remove(i);
            r.came_back += k;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ends_and_returns_are_matched_per_client() {
        let r = count(&lines(&[
            "blkd: blk-victim ended with 3 request(s) at the disk",
            "noise",
            "blkd: blk-victim ended with 0 request(s) at the disk",
            "blkd: other ended with 2 request(s) at the disk",
            "blkd: blk-victim ended with 3 request(s) at the disk; all 3 buffer(s) came back",
        ]));
        assert_eq!(
            r,
            Reclaims {
                ends: 3,
                at_disk: 5,
                came_back: 3
            }
        );
        assert_eq!(r.leaked(), 2);
    }

    #[test]
    fn a_return_without_its_end_or_of_another_count_is_not_counted() {
        let r = count(&lines(&[
            "blkd: a ended with 4 request(s) at the disk; all 4 buffer(s) came back",
            "blkd: a ended with 2 request(s) at the disk",
            "blkd: a ended with 2 request(s) at the disk; all 3 buffer(s) came back",
            "blkd: b ended with 2 request(s) at the disk; all 2 buffer(s) came back",
        ]));
        assert_eq!(r.ends, 1);
        assert_eq!(r.leaked(), 2);
    }
}
