//! The status page of `GET /`: what this task knows (uptime, itself, its
//! own counters) and netd's status as netd wrote it into a buffer
//! (`OP_STATUS`: the address, the link, netd's services and capabilities).

use core::fmt::{self, Write};

use crate::services::{ECHO_PORT, HTTP_PORT, ServiceStats};

/// What the task can see of the system itself, for the status page: the
/// tasks it knows of, the hart's `instret`, its own capabilities.
pub trait TaskInfo {
    /// Writes it as lines of text.
    fn describe(&self, out: &mut dyn Write) -> fmt::Result;
}

/// Writes the page: the task's lines, then netd's status (`netd`, text
/// netd wrote; anything but UTF-8 text is left out and said so).
pub(crate) fn write(
    out: &mut dyn Write,
    now_ms: u64,
    stats: &ServiceStats,
    netd: &[u8],
    task: &dyn TaskInfo,
) -> fmt::Result {
    writeln!(out, "NEURON status (served by net-services, with netd's)")?;
    writeln!(out, "uptime: {}.{:03} s", now_ms / 1000, now_ms % 1000)?;
    task.describe(out)?;
    writeln!(
        out,
        "services of net-services: tcp echo :{ECHO_PORT} ({} connections, {} bytes), \
         http :{HTTP_PORT} ({} requests)",
        stats.echo_connections, stats.echo_bytes, stats.http_requests
    )?;
    match core::str::from_utf8(netd) {
        Ok(text) => out.write_str(text),
        Err(_) => writeln!(out, "netd's status: not text ({} bytes)", netd.len()),
    }
}
