//! Relays: a UDP port of netd's whose datagrams a service task answers,
//! through a channel and the datagram protocol of `ring_types::dgram`.
//! netd is the server end: it parks the buffers the task lends for
//! receiving, fills them with datagrams for the port, and sends what the
//! task asks it to send.
//!
//! The task is untrusted: everything it writes into the ring is checked by
//! `ring_types` (indices, buffer ids, lengths) and here (operations,
//! endpoints, datagram lengths). A malformed request is answered
//! `ST_INVALID`; a ring the peer corrupted is a [`RingError`], after which
//! the caller drops the relay ([`Relay::drop_client`]) and goes on serving
//! everyone else.

use nexus_virtio::net::NetTransport;
use ring_types::dgram::{
    DgramServer, Endpoint, MAX_DATAGRAM, OP_RECV, OP_SEND, ST_DROPPED, ST_INVALID, ST_OK,
};
use ring_types::{Desc, Lease, RingError};

use crate::stack::Netd;

/// What one [`Relay::serve`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Requests answered or parked, and datagrams handed to the client.
    pub work: usize,
    /// Datagrams queued for sending (flush the stack to send them now).
    pub sent: usize,
    /// Whether the client needs to see its completions now (signal it if
    /// it sleeps): a datagram arrived in one of its buffers, a request was
    /// refused, or netd holds none of its buffers any more. A completed
    /// send alone can wait until the client next wakes: it only hands the
    /// buffer back.
    pub wake_client: bool,
}

/// Buffers a client can lend at once (the layout's buffer count).
const PARKED: usize = 16;

/// One relay: the channel's server end, and the receive buffers parked
/// until a datagram arrives.
pub struct Relay {
    server: DgramServer,
    /// Which of netd's relay ports (`stack::RELAY_PORTS`).
    port: usize,
    parked: [Option<(u16, Lease)>; PARKED],
    /// A datagram on its way between the channel and the stack: made once,
    /// so that a serve does not zero a buffer it may not use.
    scratch: [u8; MAX_DATAGRAM],
}

impl Relay {
    /// The server end over a mapped channel, for relay port `port`.
    pub fn new(mem: mmio_types::DmaRegion, port: usize) -> Result<Relay, RingError> {
        Ok(Relay {
            server: DgramServer::new(mem)?,
            port,
            parked: [const { None }; PARKED],
            scratch: [0; MAX_DATAGRAM],
        })
    }

    /// One round: takes the client's requests (parking receive buffers,
    /// sending datagrams), then hands parked buffers the datagrams that
    /// arrived. Says what it did; an error means the client corrupted the
    /// ring.
    pub fn serve<T: NetTransport>(&mut self, netd: &mut Netd<'_, T>) -> Result<Served, RingError> {
        let mut work = 0;
        let mut sent = 0;
        let mut urgent = false;
        let mut completed = false;
        while let Some((desc, lease)) = self.server.take_request()? {
            work += 1;
            match desc.code {
                OP_RECV => self.park(desc, lease)?,
                OP_SEND => {
                    let (code, len) = self.send(netd, &desc, &lease);
                    sent += usize::from(code == ST_OK);
                    urgent |= code != ST_OK;
                    completed = true;
                    self.server.complete(lease, Desc { code, len, ..desc })?;
                }
                _ => {
                    urgent = true;
                    self.server.complete(
                        lease,
                        Desc {
                            code: ST_INVALID,
                            len: 0,
                            ..desc
                        },
                    )?
                }
            }
        }
        while let Some(slot) = self.parked.iter().position(Option::is_some) {
            let Some((len, from)) = netd.relay_recv(self.port, &mut self.scratch) else {
                break;
            };
            let Some((tag, mut lease)) = self.parked[slot].take() else {
                break;
            };
            self.server.write(&mut lease, 0, &self.scratch[..len])?;
            self.server.complete(
                lease,
                Desc {
                    tag,
                    code: ST_OK,
                    len: len as u32,
                    arg: from.to_arg(),
                },
            )?;
            work += 1;
            urgent = true;
        }
        let wake_client = urgent || (completed && self.parked() == 0);
        Ok(Served {
            work,
            sent,
            wake_client,
        })
    }

    /// Parks a receive buffer. The server hands out at most one lease per
    /// buffer, so there is always a free slot; if not, the request is
    /// refused rather than a lease lost.
    fn park(&mut self, desc: Desc, lease: Lease) -> Result<(), RingError> {
        match self.parked.iter_mut().find(|p| p.is_none()) {
            Some(slot) => {
                *slot = Some((desc.tag, lease));
                Ok(())
            }
            // Unreachable while leases are one per buffer; answered all the
            // same, with a refusal.
            None => self.server.complete(
                lease,
                Desc {
                    code: ST_INVALID,
                    len: 0,
                    ..desc
                },
            ),
        }
    }

    /// Sends a client's datagram; the completion's status and length.
    fn send<T: NetTransport>(
        &mut self,
        netd: &mut Netd<'_, T>,
        desc: &Desc,
        lease: &Lease,
    ) -> (u8, u32) {
        let len = desc.len as usize;
        let Some(to) = Endpoint::from_arg(desc.arg) else {
            return (ST_INVALID, 0);
        };
        let Some(buf) = self.scratch.get_mut(..len) else {
            return (ST_INVALID, 0);
        };
        if self.server.read(lease, 0, buf).is_err() {
            return (ST_INVALID, 0);
        }
        if netd.relay_send(self.port, buf, to) {
            (ST_OK, desc.len)
        } else {
            (ST_DROPPED, 0)
        }
    }

    /// Whether the client said it may block (signal it after answering).
    pub fn client_sleeping(&self) -> bool {
        self.server.client_sleeping()
    }

    /// Before netd blocks: says it may sleep; false if requests arrived
    /// meanwhile (serve again instead).
    pub fn prepare_sleep(&mut self) -> Result<bool, RingError> {
        self.server.prepare_sleep()
    }

    /// After netd woke: no longer asleep.
    pub fn woke(&mut self) -> Result<(), RingError> {
        self.server.woke()
    }

    /// Buffers of the client held by netd (parked receives).
    pub fn parked(&self) -> usize {
        self.parked.iter().flatten().count()
    }

    /// Gives up the client (it corrupted the ring, or it ended): every
    /// parked buffer is reclaimed, and nothing of the channel is touched
    /// again.
    pub fn drop_client(mut self) {
        for (_, lease) in self.parked.iter_mut().filter_map(Option::take) {
            self.server.reclaim(lease);
        }
    }
}
