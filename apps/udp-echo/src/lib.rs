//! The echo service's logic, pure and host-tested: the client end of a
//! datagram channel to netd (`ring_types::dgram`) that sends every
//! datagram it receives back to its sender.
//!
//! Every buffer is lent to netd for receiving; a datagram that comes back
//! in one is lent again at once as a send of the same bytes to the sender,
//! and a completed send is lent again for receiving. No byte is copied by
//! the service: the datagram stays in the buffer it arrived in.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

use ring_types::dgram::{DgramClient, Endpoint, OP_RECV, OP_SEND, ST_OK};
use ring_types::{Buf, Desc, RingError};

/// What went wrong, for the task's report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EchoError {
    /// netd broke the ring protocol (or the ring is too small).
    Ring(RingError),
    /// netd answered a request with an unexpected completion.
    Protocol,
}

impl From<RingError> for EchoError {
    fn from(e: RingError) -> Self {
        EchoError::Ring(e)
    }
}

/// What the service has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EchoStats {
    /// Datagrams received.
    pub received: u64,
    /// Datagrams netd queued for sending.
    pub sent: u64,
    /// Sends netd refused (no room, or malformed).
    pub refused: u64,
}

/// The echo service on the client end of a datagram channel.
pub struct Echo {
    client: DgramClient,
    stats: EchoStats,
    /// Receive buffers lent to netd and not yet returned.
    receiving: usize,
    /// Whether netd must see the requests submitted since it was last
    /// signalled: a send, or a receive buffer when it held none.
    urgent: bool,
}

impl Echo {
    /// Lends every buffer to netd for receiving.
    pub fn new(client: DgramClient) -> Result<Echo, EchoError> {
        let mut echo = Echo {
            client,
            stats: EchoStats::default(),
            receiving: 0,
            urgent: false,
        };
        while let Some(buf) = echo.client.alloc() {
            echo.recv(buf)?;
        }
        Ok(echo)
    }

    /// Takes every completion and answers it (a received datagram is sent
    /// back, a completed send is lent for receiving again). Returns how
    /// many completions it took.
    pub fn step(&mut self) -> Result<usize, EchoError> {
        let mut n = 0;
        while let Some((desc, buf)) = self.client.poll()? {
            n += 1;
            self.answer(desc, buf)?;
        }
        Ok(n)
    }

    fn answer(&mut self, desc: Desc, buf: Buf) -> Result<(), EchoError> {
        // A completion echoes its request's tag: the tag says what it was.
        match (desc.tag, desc.code) {
            (TAG_RECV, ST_OK) => {
                let Some(to) = Endpoint::from_arg(desc.arg) else {
                    return Err(EchoError::Protocol);
                };
                self.receiving = self.receiving.saturating_sub(1);
                self.stats.received += 1;
                let send = Desc {
                    tag: TAG_SEND,
                    code: OP_SEND,
                    len: desc.len,
                    arg: to.to_arg(),
                };
                self.urgent = true;
                self.client
                    .submit(send, buf)
                    .map_err(|(e, _)| EchoError::Ring(e))
            }
            (TAG_SEND, code) => {
                if code == ST_OK {
                    self.stats.sent += 1;
                } else {
                    self.stats.refused += 1;
                }
                self.recv(buf)
            }
            _ => Err(EchoError::Protocol),
        }
    }

    /// Lends `buf` to netd for the next datagram. netd needs to hear of it
    /// at once only if it held no receive buffer of this task.
    fn recv(&mut self, buf: Buf) -> Result<(), EchoError> {
        let desc = Desc {
            tag: TAG_RECV,
            code: OP_RECV,
            len: 0,
            arg: 0,
        };
        self.urgent |= self.receiving == 0;
        self.receiving += 1;
        self.client
            .submit(desc, buf)
            .map_err(|(e, _)| EchoError::Ring(e))
    }

    /// Whether netd must be signalled now: a request it must see at once
    /// was submitted (a send, or a receive buffer when it held none) and
    /// it said it may be asleep. Other requests wait for its next wakeup.
    pub fn must_signal(&mut self) -> bool {
        let must = self.urgent && self.client.server_sleeping();
        self.urgent = false;
        must
    }

    /// Before blocking: `true` if nothing arrived and the task may wait.
    pub fn prepare_sleep(&mut self) -> Result<bool, EchoError> {
        Ok(self.client.prepare_sleep()?)
    }

    /// After the wait.
    pub fn woke(&mut self) -> Result<(), EchoError> {
        Ok(self.client.woke()?)
    }

    /// What it has done so far.
    pub fn stats(&self) -> EchoStats {
        self.stats
    }
}

/// The tag of receive requests.
const TAG_RECV: u16 = 1;
/// The tag of send requests.
const TAG_SEND: u16 = 2;
