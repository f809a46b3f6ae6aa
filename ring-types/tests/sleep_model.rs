//! The "signal only a sleeper" protocol cannot lose a wakeup.
//!
//! Part one is a model: every interleaving of the producer's and the
//! consumer's steps, over sequentially consistent memory (what the fences
//! of the ring give), is explored exhaustively. The property: the consumer
//! never ends up blocked with no signal pending while an entry it has not
//! consumed is published and the producer is done. The same search over
//! a protocol without the consumer's second look finds the lost wakeup,
//! so the search can fail.
//!
//! Part two runs the library's own calls in random interleavings with a
//! notification bit standing in for the kernel's.

mod common;

use std::collections::BTreeSet;

use proptest::prelude::*;
use ring_types::{Client, Desc, Layout, Server};

/// Shared memory and the notification bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct World {
    head: u8,
    sleeping: bool,
    bit: bool,
    /// Producer: items published so far, and its pc.
    produced: u8,
    ppc: u8,
    /// The producer's view of `sleeping` (read at ppc 1).
    seen: bool,
    /// Consumer: items consumed, its pc, blocked in `wait`.
    consumed: u8,
    cpc: u8,
    blocked: bool,
}

const ITEMS: u8 = 3;

/// One step of the producer: publish (head += 1), read the flag, signal if
/// set; repeated for each item.
fn producer(w: &World) -> Option<World> {
    let mut n = *w;
    match w.ppc {
        _ if w.produced == ITEMS => return None,
        0 => {
            n.head += 1;
            n.ppc = 1;
        }
        1 => {
            n.seen = w.sleeping;
            n.ppc = 2;
        }
        _ => {
            if w.seen {
                n.bit = true;
                if w.blocked {
                    n.blocked = false;
                    n.bit = false;
                }
            }
            n.produced += 1;
            n.ppc = 0;
        }
    }
    Some(n)
}

/// One step of the consumer. With `recheck`: consume what is there; else
/// set the flag, look again, then block (or clear the flag and go on);
/// after waking, clear the flag. Without `recheck`, it blocks right after
/// setting the flag.
fn consumer(w: &World, recheck: bool) -> Option<World> {
    if w.blocked || w.consumed == ITEMS {
        return None;
    }
    let mut n = *w;
    match w.cpc {
        0 => {
            if w.head > w.consumed {
                n.consumed += 1;
            } else {
                n.cpc = 1;
            }
        }
        1 => {
            n.sleeping = true;
            n.cpc = if recheck { 2 } else { 3 };
        }
        2 => {
            if w.head > w.consumed {
                n.sleeping = false;
                n.cpc = 0;
            } else {
                n.cpc = 3;
            }
        }
        3 => {
            // `wait`: a pending bit is taken at once; otherwise block
            // (the flag stays set while blocked).
            if w.bit {
                n.bit = false;
                n.sleeping = false;
                n.cpc = 0;
            } else {
                n.blocked = true;
                n.cpc = 4;
            }
        }
        _ => {
            // Woken: clear the flag, look again.
            n.sleeping = false;
            n.cpc = 0;
        }
    }
    Some(n)
}

/// Explores every interleaving; returns a stuck state if one is reachable.
fn search(recheck: bool) -> Option<World> {
    let start = World {
        head: 0,
        sleeping: false,
        bit: false,
        produced: 0,
        ppc: 0,
        seen: false,
        consumed: 0,
        cpc: 0,
        blocked: false,
    };
    let mut seen = BTreeSet::new();
    let mut todo = vec![start];
    while let Some(w) = todo.pop() {
        if !seen.insert(w) {
            continue;
        }
        let next: Vec<World> = [producer(&w), consumer(&w, recheck)]
            .into_iter()
            .flatten()
            .collect();
        if next.is_empty() && w.consumed < ITEMS {
            return Some(w);
        }
        todo.extend(next);
    }
    None
}

#[test]
fn no_interleaving_loses_a_wakeup() {
    assert_eq!(search(true), None);
}

#[test]
fn without_the_second_look_a_wakeup_is_lost() {
    let stuck = search(false).expect("the flawed protocol must get stuck");
    assert!(stuck.blocked && stuck.head > stuck.consumed);
}

#[derive(Clone, Debug)]
enum Step {
    /// The client submits one request and signals if the server sleeps.
    Submit,
    /// The server takes everything there is, answering each at once.
    Serve,
    /// The server gets ready to sleep and, if allowed, blocks.
    ServerSleep,
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 300 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random interleavings of the library's calls: every submitted request
    /// is served, and the server only ever blocks when a signal will wake
    /// it or nothing is pending.
    #[test]
    fn the_library_never_sleeps_through_a_request(steps in proptest::collection::vec(
        prop_oneof![Just(Step::Submit), Just(Step::Serve), Just(Step::ServerSleep)], 1..100)) {
        let (_fake, a, b) = common::channel(Layout::<16, 16, 512> {});
        let mut client = Client::<16, 16, 512>::new(a).unwrap();
        let mut server = Server::<16, 16, 512>::new(b).unwrap();
        let mut bit = false;
        let mut blocked = false;
        let (mut submitted, mut served) = (0u32, 0u32);
        let serve = |server: &mut Server<16, 16, 512>, served: &mut u32| {
            while let Some((desc, lease)) = server.take_request().unwrap() {
                server.complete(lease, desc).unwrap();
                *served += 1;
            }
        };
        for step in steps {
            match step {
                Step::Submit => {
                    while let Some((_, buf)) = client.poll().unwrap() {
                        client.release(buf).unwrap();
                    }
                    if let Some(buf) = client.alloc() {
                        client.submit(Desc::default(), buf).unwrap();
                        submitted += 1;
                        if client.server_sleeping() {
                            bit = true;
                        }
                    }
                }
                Step::Serve if !blocked => serve(&mut server, &mut served),
                Step::ServerSleep if !blocked && server.prepare_sleep().unwrap() => {
                    if bit {
                        bit = false;
                        server.woke().unwrap();
                    } else {
                        blocked = true;
                    }
                }
                _ => {}
            }
            if blocked && bit {
                // The kernel wakes the server.
                bit = false;
                blocked = false;
                server.woke().unwrap();
            }
            prop_assert!(!blocked || submitted == served, "asleep with requests pending");
        }
        if !blocked {
            serve(&mut server, &mut served);
        }
        prop_assert_eq!(submitted, served);
    }
}
