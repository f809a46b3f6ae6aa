//! The datagram protocol over a channel: what `netd` and a service task
//! that answers a UDP port of its own agree on.
//!
//! `netd` owns the UDP socket of the channel's port; the service task is
//! the client. It lends buffers with [`OP_RECV`] ("fill this with the next
//! datagram to my port"), and `netd` completes each with a datagram: `len`
//! its bytes, `arg` the sender as an [`Endpoint`]. It sends with
//! [`OP_SEND`]: the buffer's first `len` bytes to the endpoint in `arg`;
//! the completion says whether `netd` queued it.

/// Lend the buffer for the next datagram received on the channel's port.
pub const OP_RECV: u8 = 1;
/// Send the buffer's first `len` bytes to the endpoint in `arg`.
pub const OP_SEND: u8 = 2;

/// Done: a datagram received (`len`, `arg`), or a datagram queued.
pub const ST_OK: u8 = 0;
/// The request was malformed: unknown operation, a length over the buffer
/// or a datagram's limit, an endpoint with port 0 or address 0.
pub const ST_INVALID: u8 = 2;
/// No room to send it now: the datagram was not sent.
pub const ST_DROPPED: u8 = 4;

/// The largest datagram payload (an Ethernet frame of 1514 bytes less the
/// IPv4 and UDP headers).
pub const MAX_DATAGRAM: usize = 1472;

/// An IPv4 address and UDP port, packed into a request's `arg`: the
/// address in bits 16..48 (most significant byte first), the port in bits
/// 0..16.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The IPv4 address.
    pub addr: [u8; 4],
    /// The UDP port.
    pub port: u16,
}

impl Endpoint {
    /// The `arg` word of a request or completion.
    pub const fn to_arg(self) -> u64 {
        (u32::from_be_bytes(self.addr) as u64) << 16 | self.port as u64
    }

    /// The endpoint an `arg` word names, if it is one: bits above 48 must
    /// be clear, and neither the address nor the port may be 0.
    pub const fn from_arg(arg: u64) -> Option<Endpoint> {
        if arg >> 48 != 0 {
            return None;
        }
        let addr = ((arg >> 16) as u32).to_be_bytes();
        let port = arg as u16;
        if port == 0 || u32::from_be_bytes(addr) == 0 {
            return None;
        }
        Some(Endpoint { addr, port })
    }
}

crate::ring_layout!(
    /// The channel of a datagram service: 16 requests in flight, 16 buffers
    /// of 2 KiB (a datagram each).
    pub DgramLayout = 16 entries, 16 buffers of 2048
);
/// Client end of [`DgramLayout`].
pub type DgramClient = crate::Client<16, 16, 2048>;
/// Server end of [`DgramLayout`].
pub type DgramServer = crate::Server<16, 16, 2048>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_round_trip_and_garbage_is_refused() {
        let e = Endpoint {
            addr: [10, 0, 2, 2],
            port: 41234,
        };
        assert_eq!(e.to_arg(), 0x0a00_0202_a112);
        assert_eq!(Endpoint::from_arg(e.to_arg()), Some(e));
        assert_eq!(Endpoint::from_arg(1 << 48 | e.to_arg()), None);
        assert_eq!(Endpoint::from_arg(0x0a00_0202_0000), None, "port 0");
        assert_eq!(Endpoint::from_arg(0x1234), None, "address 0");
        assert_eq!(Endpoint::from_arg(u64::MAX), None);
    }
}
