//! The peer is untrusted: a third party scribbles over the whole shared
//! memory (indices, entries, flags, buffers) between the honest end's
//! calls. Whatever it writes, the honest end answers `Ok` or an error,
//! never panics or reaches outside the channel, and its buffer accounting
//! stays exact.

mod common;

use std::collections::BTreeSet;

use mmio_types::FakeDma;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use ring_types::{Client, Desc, Layout, RingError, Server};

const N: usize = 4;
const B: usize = 4;
const S: usize = 512;
type L = Layout<N, B, S>;

#[derive(Clone, Debug)]
enum Op {
    /// The hostile peer writes `value` at 32-bit word `word`.
    Scribble(usize, u32),
    /// The hostile peer publishes `k` entries by moving its index.
    Publish(u32),
    /// The honest end takes or gives.
    Take,
    /// The honest end answers (server) or submits (client).
    Give,
    /// The honest end gets ready to sleep, then wakes.
    Sleep,
}

fn op() -> impl Strategy<Value = Op> {
    let value = prop_oneof![
        Just(0u32),
        0u32..8,
        Just(u32::MAX),
        Just(0x8000_0000),
        any::<u32>()
    ];
    prop_oneof![
        4 => (0..L::TOTAL / 4, value).prop_map(|(w, v)| Op::Scribble(w, v)),
        2 => (0u32..6).prop_map(Op::Publish),
        3 => Just(Op::Take),
        3 => Just(Op::Give),
        1 => Just(Op::Sleep),
    ]
}

fn cases() -> u32 {
    if cfg!(miri) { 2 } else { 1000 }
}

/// An error the honest end may see: the peer's fault, or a full ring.
fn acceptable(e: RingError) -> bool {
    e.is_peer_fault() || e == RingError::Full
}

fn scribble(fake: &FakeDma, word: usize, value: u32) {
    fake.write_u32(fake.device_addr() + 4 * word as u64, value);
}

fn zero(fake: &FakeDma) {
    fake.write(fake.device_addr(), &vec![0; L::PAGES * 4096]);
}

#[test]
fn a_hostile_client_never_breaks_the_server() {
    let (fake, _, _) = common::channel(L {});
    let mut runner = TestRunner::new(Config::with_cases(cases()));
    runner
        .run(&proptest::collection::vec(op(), 1..60), |ops| {
            zero(&fake);
            let mut server = Server::<N, B, S>::new(mmio_types::DmaRegion::new(fake.peer_token()))
                .map_err(|e| TestCaseError::fail(format!("{e}")))?;
            let mut leases = Vec::new();
            let mut head = 0u32;
            for op in ops {
                match op {
                    Op::Scribble(w, v) => scribble(&fake, w, v),
                    Op::Publish(k) => {
                        head = head.wrapping_add(k);
                        scribble(&fake, L::REQUESTS / 4, head);
                    }
                    Op::Take => match server.take_request() {
                        Ok(Some((desc, lease))) => {
                            prop_assert!((desc.len as usize) <= S);
                            prop_assert!(lease.index() < B);
                            let off = server.offset(&lease);
                            prop_assert!(off >= L::BUFS_OFFSET && off + S <= L::TOTAL);
                            let mut byte = [0u8];
                            prop_assert!(server.read(&lease, S - 1, &mut byte).is_ok());
                            leases.push(lease);
                        }
                        Ok(None) => {}
                        Err(e) => prop_assert!(acceptable(e), "{e}"),
                    },
                    Op::Give => {
                        if !leases.is_empty() {
                            let lease = leases.remove(0);
                            if let Err(e) = server.complete(lease, Desc::default()) {
                                prop_assert!(acceptable(e), "{e}");
                            }
                        }
                    }
                    Op::Sleep => {
                        if let Err(e) = server.prepare_sleep() {
                            prop_assert!(acceptable(e), "{e}");
                        }
                        server
                            .woke()
                            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
                    }
                }
                // Every lease names a different buffer, and the server counts
                // exactly the leases out.
                let distinct: BTreeSet<usize> = leases.iter().map(|l| l.index()).collect();
                prop_assert_eq!(distinct.len(), leases.len());
                prop_assert_eq!(server.leased(), leases.len());
            }
            for lease in leases {
                server.reclaim(lease);
            }
            prop_assert_eq!(server.leased(), 0, "every lease came back");
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_hostile_server_never_breaks_the_client() {
    let (fake, _, _) = common::channel(L {});
    let mut runner = TestRunner::new(Config::with_cases(cases()));
    runner
        .run(&proptest::collection::vec(op(), 1..60), |ops| {
            zero(&fake);
            let mut client = Client::<N, B, S>::new(mmio_types::DmaRegion::new(fake.peer_token()))
                .map_err(|e| TestCaseError::fail(format!("{e}")))?;
            let mut lent: BTreeSet<usize> = BTreeSet::new();
            let mut held = Vec::new();
            let mut head = 0u32;
            for op in ops {
                match op {
                    Op::Scribble(w, v) => scribble(&fake, w, v),
                    Op::Publish(k) => {
                        head = head.wrapping_add(k);
                        scribble(&fake, L::COMPLETIONS / 4, head);
                    }
                    Op::Take => match client.poll() {
                        Ok(Some((desc, buf))) => {
                            prop_assert!((desc.len as usize) <= S);
                            prop_assert!(lent.remove(&buf.index()), "got back a buffer not lent");
                            held.push(buf);
                        }
                        Ok(None) => {}
                        Err(e) => prop_assert!(acceptable(e), "{e}"),
                    },
                    Op::Give => {
                        let buf = match held.pop() {
                            Some(b) => Some(b),
                            None => client.alloc(),
                        };
                        if let Some(mut buf) = buf {
                            prop_assert!(client.write(&mut buf, 0, &[7; S]).is_ok());
                            let index = buf.index();
                            match client.submit(
                                Desc {
                                    len: S as u32,
                                    ..Desc::default()
                                },
                                buf,
                            ) {
                                Ok(()) => {
                                    prop_assert!(lent.insert(index));
                                }
                                Err((e, buf)) => {
                                    prop_assert!(acceptable(e), "{e}");
                                    held.push(buf);
                                }
                            }
                        }
                    }
                    Op::Sleep => {
                        if let Err(e) = client.prepare_sleep() {
                            prop_assert!(acceptable(e), "{e}");
                        }
                        client
                            .woke()
                            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
                    }
                }
                prop_assert_eq!(client.in_flight(), lent.len());
                prop_assert!(lent.len() + held.len() <= B);
            }
            for buf in held {
                prop_assert!(client.release(buf).is_ok());
            }
            Ok(())
        })
        .unwrap();
}
