//! The stream protocol over a channel: what `netd` and a service task that
//! answers TCP ports of its own agree on.
//!
//! `netd` owns the TCP sockets of the task's ports (it listens, accepts,
//! and moves the bytes); the service task is the client. Every request
//! carries one of the task's buffers, and each completion hands it back.
//! A connection is named by a [`ConnId`] that netd gives out when it
//! reports the connection; the id is the task's until netd answers its
//! [`OP_CLOSE`], and netd checks it on every request: an id it never gave
//! out, or one already closed, is answered [`ST_INVALID`].
//!
//! | Request | `arg` | `len` | Completion |
//! |---|---|---|---|
//! | [`OP_RECV`], any connection | 0 | 0 | [`ST_ACCEPTED`]: a new connection; `arg` = [`accepted_arg`] (its id and local port) |
//! | [`OP_RECV`] on a connection | the id | 0 | [`ST_OK`]: `len` (at least 1) bytes of it at the buffer's start; [`ST_PEER_CLOSED`]: the peer will send nothing more; [`ST_GONE`]: the connection was reset or timed out |
//! | [`OP_SEND`] | [`send_arg`]: the id, an offset | bytes | [`ST_OK`]: `len` = the bytes queued, from the offset on (at least 1); [`ST_GONE`]: nothing was queued, the connection cannot send |
//! | [`OP_CLOSE`] | the id | 0 | [`ST_OK`]: closed (bytes queued before go out first); the id is void from now on |
//! | [`OP_STATUS`] | 0 | 0 | [`ST_OK`]: `len` bytes of text at the buffer's start, netd's own status lines |
//!
//! Anything else (an unknown operation, a void id, reserved bits set, a
//! send of 0 bytes or past the buffer's end) is answered [`ST_INVALID`]
//! with `len` 0, and the id named stays as it was.
//!
//! Receiving: the task lends buffers for accepts (`arg` 0) and, per
//! connection, for its bytes; several receives of one connection are
//! filled in the order they were submitted, so the bytes come in order.
//! netd reads a connection only into a buffer the task lent for it: a
//! connection the task lends nothing to is not read, and its peer's TCP
//! window closes (back-pressure, without dropping a byte). Once the peer
//! closed and its last byte was delivered, each receive of the connection
//! is answered [`ST_PEER_CLOSED`]; once the connection is reset or timed
//! out, [`ST_GONE`] (the id still needs its [`OP_CLOSE`]).
//!
//! Sending: netd queues as many of the bytes as its socket has room for.
//! With no room at all it holds the request until there is room (or the
//! connection is gone), so a send never completes with 0 bytes queued;
//! with some room it queues that much and completes with the count. A
//! partial send (`len` below what was asked) means the bytes after `len`
//! were not queued: the task sends them again (the same buffer, the offset
//! moved on). netd takes the sends of one connection in ring order, so a
//! task that wants its bytes in order keeps one send of a connection in
//! flight at a time.

use core::fmt;

/// Lend the buffer for the next event: with `arg` 0, the next new
/// connection; with a connection's id, its next bytes.
pub const OP_RECV: u8 = 1;
/// Send `len` bytes of the buffer, from the offset in `arg`, on the
/// connection in `arg` (see [`send_arg`]).
pub const OP_SEND: u8 = 2;
/// Close the connection in `arg`: its queued bytes go out, then a FIN.
pub const OP_CLOSE: u8 = 3;
/// Fill the buffer with netd's status, as lines of text.
pub const OP_STATUS: u8 = 4;

/// Done: bytes received or queued, a connection closed, the status written.
pub const ST_OK: u8 = 0;
/// A new connection (the completion of a receive with `arg` 0).
pub const ST_ACCEPTED: u8 = 1;
/// The request was malformed: unknown operation, a void connection id,
/// reserved bits set, a length of 0 or past the buffer.
pub const ST_INVALID: u8 = 2;
/// The peer closed its side: every byte it sent was delivered, and none
/// will follow. The connection can still send until the task closes it.
pub const ST_PEER_CLOSED: u8 = 3;
/// The connection is gone (reset by the peer, or timed out): nothing more
/// can be received or sent; the task closes the id.
pub const ST_GONE: u8 = 5;

/// A connection's name: given out by netd in [`ST_ACCEPTED`], never 0.
/// Its bits mean nothing to the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(u32);

impl ConnId {
    /// The id with these bits, if they name one (not 0).
    pub const fn new(bits: u32) -> Option<ConnId> {
        if bits == 0 { None } else { Some(ConnId(bits)) }
    }

    /// Its bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// The `arg` of a receive on the connection, or of its close.
    pub const fn to_arg(self) -> u64 {
        self.0 as u64
    }

    /// The connection an `arg` word of a receive or a close names: the
    /// id in bits 0..32, nothing above. `None` for 0 (a receive of any
    /// connection) and for reserved bits set.
    pub const fn from_arg(arg: u64) -> Option<ConnId> {
        if arg >> 32 != 0 {
            return None;
        }
        ConnId::new(arg as u32)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:x}", self.0)
    }
}

/// The `arg` of a send: the id in bits 0..32, the offset of the first
/// byte in the buffer in bits 32..48; bits 48..64 are 0.
pub const fn send_arg(conn: ConnId, offset: u16) -> u64 {
    (offset as u64) << 32 | conn.0 as u64
}

/// The connection and offset a send's `arg` names, if it is one.
pub const fn parse_send_arg(arg: u64) -> Option<(ConnId, u16)> {
    if arg >> 48 != 0 {
        return None;
    }
    match ConnId::new(arg as u32) {
        Some(c) => Some((c, (arg >> 32) as u16)),
        None => None,
    }
}

/// The `arg` of an [`ST_ACCEPTED`] completion: the new connection's id in
/// bits 0..32, the local port it came in on in bits 32..48.
pub const fn accepted_arg(conn: ConnId, port: u16) -> u64 {
    (port as u64) << 32 | conn.0 as u64
}

/// The connection and port an [`ST_ACCEPTED`] completion names, if it is
/// one (bits 48..64 clear, id and port not 0).
pub const fn parse_accepted_arg(arg: u64) -> Option<(ConnId, u16)> {
    if arg >> 48 != 0 || (arg >> 32) as u16 == 0 {
        return None;
    }
    match ConnId::new(arg as u32) {
        Some(c) => Some((c, (arg >> 32) as u16)),
        None => None,
    }
}

crate::ring_layout!(
    /// The channel of a stream service: 64 requests in flight, 64 buffers
    /// of 4 KiB (65 pages): a receive for each of 50 and more connections,
    /// with room for accepts and sends besides.
    pub StreamLayout = 64 entries, 64 buffers of 4096
);
/// Client end of [`StreamLayout`].
pub type StreamClient = crate::Client<64, 64, 4096>;
/// Server end of [`StreamLayout`].
pub type StreamServer = crate::Server<64, 64, 4096>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_65_pages() {
        assert_eq!(StreamLayout::PAGES, 65);
        assert_eq!(StreamLayout::BUFFERS, 64);
    }

    #[test]
    fn ids_round_trip_and_garbage_is_refused() {
        let c = ConnId::new(0x0102_0304).unwrap();
        assert_eq!(ConnId::from_arg(c.to_arg()), Some(c));
        assert_eq!(ConnId::new(0), None);
        assert_eq!(ConnId::from_arg(0), None, "any connection");
        assert_eq!(ConnId::from_arg(1 << 32 | 5), None, "reserved bits");
        assert_eq!(ConnId::from_arg(u64::MAX), None);
    }

    #[test]
    fn send_args_round_trip_and_garbage_is_refused() {
        let c = ConnId::new(7).unwrap();
        assert_eq!(send_arg(c, 0x123), 0x0123_0000_0007);
        assert_eq!(parse_send_arg(send_arg(c, 0x123)), Some((c, 0x123)));
        assert_eq!(parse_send_arg(send_arg(c, u16::MAX)), Some((c, u16::MAX)));
        assert_eq!(parse_send_arg(0x0123_0000_0000), None, "id 0");
        assert_eq!(parse_send_arg(1 << 48 | 7), None, "reserved bits");
        assert_eq!(parse_send_arg(u64::MAX), None);
    }

    #[test]
    fn accepted_args_round_trip_and_garbage_is_refused() {
        let c = ConnId::new(0x1_00ff).unwrap();
        assert_eq!(parse_accepted_arg(accepted_arg(c, 80)), Some((c, 80)));
        assert_eq!(parse_accepted_arg(c.to_arg()), None, "port 0");
        assert_eq!(parse_accepted_arg(80 << 32), None, "id 0");
        assert_eq!(parse_accepted_arg(1 << 48 | accepted_arg(c, 7)), None);
        assert_eq!(parse_accepted_arg(u64::MAX), None);
    }

    #[test]
    fn every_arg_decodes_without_panicking() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for arg in [x, x & 0xffff_ffff, x & 0xffff_ffff_ffff] {
                if let Some((c, off)) = parse_send_arg(arg) {
                    assert_eq!(send_arg(c, off), arg);
                }
                if let Some((c, port)) = parse_accepted_arg(arg) {
                    assert_eq!(accepted_arg(c, port), arg);
                }
                if let Some(c) = ConnId::from_arg(arg) {
                    assert_eq!(c.to_arg(), arg);
                }
            }
        }
    }
}
