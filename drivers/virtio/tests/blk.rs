//! The virtio-blk driver against a fake block device in RAM.

mod common;

use common::{FakeBlk, Seen, T_FLUSH, T_IN, T_OUT};
use nexus_virtio::blk::BlkFeatures;
use nexus_virtio::{BlkError, DeviceStatus, DmaRange, Features, InitError, VirtioBlk};

const SECTORS: usize = 64;

fn driver(fake: &FakeBlk, pages: usize) -> VirtioBlk<FakeBlk> {
    let mem = fake.alloc(pages);
    VirtioBlk::new(fake.clone(), mem).expect("init")
}

fn init_error(fake: &FakeBlk) -> BlkError {
    let mem = fake.alloc(1);
    VirtioBlk::new(fake.clone(), mem)
        .expect_err("init must fail")
        .error
}

fn status(fake: &FakeBlk) -> DeviceStatus {
    fake.state().status
}

#[test]
fn init_follows_the_status_sequence_and_reads_capacity() {
    let fake = FakeBlk::new(SECTORS);
    let blk = driver(&fake, 1);
    let s = fake.state();
    assert_eq!(s.status_writes, common::INIT_SEQUENCE);
    assert_eq!(blk.capacity(), SECTORS as u64);
    // Only what both sides want: VERSION_1 and FLUSH, not BLK_SIZE.
    assert_eq!(
        blk.features().bits(),
        Features::VERSION_1.bits() | BlkFeatures::FLUSH.bits()
    );
    assert!(blk.can_flush() && !blk.read_only());
    assert_eq!(blk.queue_size(), 64, "one page holds a 64-entry queue");
    assert_eq!(s.queue.unwrap().size, 64);
    assert_eq!(blk.bounce_len(), 1024);
}

#[test]
fn queue_size_is_bounded_by_memory_num_max_and_the_driver() {
    let fake = FakeBlk::new(SECTORS);
    assert_eq!(driver(&fake, 2).queue_size(), 128);
    assert_eq!(driver(&fake, 4).queue_size(), 128);
    let small = FakeBlk::with(SECTORS, |b| b.num_max = 100);
    assert_eq!(
        driver(&small, 2).queue_size(),
        64,
        "a power of two below QueueNumMax"
    );
    let tiny = FakeBlk::with(SECTORS, |b| b.num_max = 4);
    assert_eq!(driver(&tiny, 1).queue_size(), 4);
}

#[test]
fn write_then_read_round_trips_through_caller_buffers() {
    let fake = FakeBlk::new(SECTORS);
    let mut blk = driver(&fake, 1);
    let mut out = fake.alloc(2);
    let data: Vec<u8> = (0..3 * 512).map(|i| (i % 251) as u8).collect();
    out.write_bytes(100, &data).unwrap();
    blk.write(5, &out, 100, 3 * 512).unwrap();
    assert_eq!(&fake.state().disk[5 * 512..8 * 512], &data[..]);

    let mut back = fake.alloc(1);
    blk.read(5, &mut back, 512, 3 * 512).unwrap();
    let mut got = vec![0; 3 * 512];
    back.read_bytes(512, &mut got).unwrap();
    assert_eq!(got, data);
    assert_eq!(
        fake.state().seen,
        [
            Seen {
                kind: T_OUT,
                sector: 5,
                data_len: 1536,
                descriptors: 3
            },
            Seen {
                kind: T_IN,
                sector: 5,
                data_len: 1536,
                descriptors: 3
            },
        ]
    );
    assert_eq!(fake.state().notifies, 2);
    assert_eq!(blk.in_flight(), 0);
}

#[test]
fn reads_the_last_sector_and_refuses_beyond_capacity_before_submitting() {
    let fake = FakeBlk::new(SECTORS);
    let mut blk = driver(&fake, 1);
    let mut buf = fake.alloc(1);
    blk.read(SECTORS as u64 - 1, &mut buf, 0, 512).unwrap();
    assert_eq!(
        blk.read(SECTORS as u64 - 1, &mut buf, 0, 1024),
        Err(BlkError::OutOfRange)
    );
    assert_eq!(
        blk.read(SECTORS as u64, &mut buf, 0, 512),
        Err(BlkError::OutOfRange)
    );
    assert_eq!(blk.write(u64::MAX, &buf, 0, 512), Err(BlkError::OutOfRange));
    let range = DmaRange::new(&buf, 0, 512).unwrap();
    assert_eq!(
        blk.submit_read(u64::MAX - 1, range),
        Err(BlkError::OutOfRange)
    );
    assert_eq!(
        fake.state().seen.len(),
        1,
        "refused requests never reach the device"
    );
}

#[test]
fn lengths_must_be_whole_sectors_inside_the_buffer() {
    let fake = FakeBlk::new(SECTORS);
    let mut blk = driver(&fake, 1);
    let mut buf = fake.alloc(1);
    assert_eq!(blk.read(0, &mut buf, 0, 100), Err(BlkError::BadLength));
    assert_eq!(blk.read(0, &mut buf, 0, 0), Err(BlkError::BadLength));
    assert!(matches!(
        blk.read(0, &mut buf, 3584, 1024),
        Err(BlkError::Dma(_))
    ));
    assert!(fake.state().seen.is_empty());
}

#[test]
fn slices_go_through_the_bounce_buffer_in_chunks() {
    let fake = FakeBlk::new(SECTORS);
    let mut blk = driver(&fake, 1);
    let data: Vec<u8> = (0..5 * 512).map(|i| (i % 13) as u8).collect();
    blk.write_from_slice(10, &data).unwrap();
    let mut back = vec![0; 5 * 512];
    blk.read_to_slice(10, &mut back).unwrap();
    assert_eq!(back, data);
    // 1 KiB of bounce buffer: 3 requests each way.
    assert_eq!(fake.state().seen.len(), 6);
    assert_eq!(
        blk.read_to_slice(0, &mut [0; 100]),
        Err(BlkError::BadLength)
    );
}

#[test]
fn flush_when_negotiated() {
    let fake = FakeBlk::new(SECTORS);
    let mut blk = driver(&fake, 1);
    blk.flush().unwrap();
    assert_eq!(
        fake.state().seen,
        [Seen {
            kind: T_FLUSH,
            sector: 0,
            data_len: 0,
            descriptors: 2
        }]
    );
}

#[test]
fn flush_refused_without_the_feature() {
    let fake = FakeBlk::with(SECTORS, |b| b.offered = Features::VERSION_1.bits());
    let mut blk = driver(&fake, 1);
    assert!(!blk.can_flush());
    assert_eq!(blk.flush(), Err(BlkError::FlushNotNegotiated));
    assert!(fake.state().seen.is_empty());
}

#[test]
fn read_only_device_refuses_writes() {
    let fake = FakeBlk::with(SECTORS, |b| b.offered |= BlkFeatures::RO.bits());
    let mut blk = driver(&fake, 1);
    assert!(blk.read_only());
    let buf = fake.alloc(1);
    assert_eq!(blk.write(0, &buf, 0, 512), Err(BlkError::ReadOnly));
    assert_eq!(blk.write_from_slice(0, &[0; 512]), Err(BlkError::ReadOnly));
}

#[test]
fn io_error_status_is_reported_and_the_queue_stays_usable() {
    let fake = FakeBlk::with(SECTORS, |b| b.status_override = Some(1));
    let mut blk = driver(&fake, 1);
    let mut buf = fake.alloc(1);
    assert_eq!(blk.read(0, &mut buf, 0, 512), Err(BlkError::IoError));
    fake.state().behaviour.status_override = None;
    blk.read(0, &mut buf, 0, 512).unwrap();
}

#[test]
fn unsupported_status_is_reported() {
    let fake = FakeBlk::with(SECTORS, |b| b.status_override = Some(2));
    let mut blk = driver(&fake, 1);
    assert_eq!(blk.flush(), Err(BlkError::Unsupported));
}

#[test]
fn bogus_or_missing_status_byte_is_an_error() {
    let fake = FakeBlk::with(SECTORS, |b| b.status_override = Some(7));
    let mut blk = driver(&fake, 1);
    let mut buf = fake.alloc(1);
    assert_eq!(blk.read(0, &mut buf, 0, 512), Err(BlkError::BadStatus(7)));
    {
        let mut s = fake.state();
        s.behaviour.status_override = None;
        s.behaviour.skip_status = true;
    }
    assert_eq!(
        blk.read(0, &mut buf, 0, 512),
        Err(BlkError::BadStatus(0xff))
    );
}

#[test]
fn device_refusing_features_ok_is_marked_failed() {
    let fake = FakeBlk::with(SECTORS, |b| b.refuse_features_ok = true);
    let mem = fake.alloc(1);
    let failure = VirtioBlk::new(fake.clone(), mem).unwrap_err();
    assert_eq!(failure.error, BlkError::Init(InitError::FeaturesRejected));
    assert!(status(&fake).contains(DeviceStatus::FAILED));
    assert!(fake.state().queue.is_none());
    assert_eq!(failure.queue_mem.len(), 4096, "the queue memory comes back");
}

#[test]
fn legacy_version_wrong_device_and_bad_magic_are_refused_untouched() {
    let legacy = FakeBlk::with(SECTORS, |b| b.version = 1);
    assert_eq!(
        init_error(&legacy),
        BlkError::Init(InitError::UnsupportedVersion(1))
    );
    let net = FakeBlk::with(SECTORS, |b| b.device_id = 1);
    assert_eq!(init_error(&net), BlkError::Init(InitError::WrongDevice(1)));
    let empty = FakeBlk::with(SECTORS, |b| b.device_id = 0);
    assert_eq!(
        init_error(&empty),
        BlkError::Init(InitError::WrongDevice(0))
    );
    let junk = FakeBlk::with(SECTORS, |b| b.magic = 0xdead_beef);
    assert_eq!(
        init_error(&junk),
        BlkError::Init(InitError::BadMagic(0xdead_beef))
    );
    for fake in [legacy, net, empty, junk] {
        assert!(
            fake.state().status_writes.is_empty(),
            "no status write before identification"
        );
    }
}

#[test]
fn errors_say_their_cause() {
    let legacy = FakeBlk::with(SECTORS, |b| b.version = 1);
    let text = init_error(&legacy).to_string();
    assert!(text.contains("legacy transport (Version 1)"), "{text}");
    let empty = FakeBlk::with(SECTORS, |b| b.device_id = 0);
    assert!(init_error(&empty).to_string().contains("DeviceID 0"));
    let ro = FakeBlk::with(SECTORS, |b| b.offered |= BlkFeatures::RO.bits());
    let mut blk = driver(&ro, 1);
    let mut buf = ro.alloc(1);
    let text = blk.write(0, &buf, 0, 512).unwrap_err().to_string();
    assert_eq!(text, "the disk is read-only (VIRTIO_BLK_F_RO)");
    let small = FakeBlk::new(4);
    let mut blk = driver(&small, 1);
    let text = blk.read(4, &mut buf, 0, 512).unwrap_err().to_string();
    assert_eq!(text, "the sectors lie past the end of the disk");
}

#[test]
fn device_without_version_1_is_marked_failed() {
    let fake = FakeBlk::with(SECTORS, |b| b.offered = BlkFeatures::FLUSH.bits());
    assert_eq!(init_error(&fake), BlkError::Init(InitError::NoVersion1));
    assert!(status(&fake).contains(DeviceStatus::FAILED));
}

#[test]
fn missing_or_busy_queue_is_marked_failed() {
    let none = FakeBlk::with(SECTORS, |b| b.num_max = 0);
    assert_eq!(
        init_error(&none),
        BlkError::Init(InitError::QueueUnavailable)
    );
    assert!(status(&none).contains(DeviceStatus::FAILED));
    let busy = FakeBlk::with(SECTORS, |b| b.queue_ready_at_start = true);
    assert_eq!(init_error(&busy), BlkError::Init(InitError::QueueInUse));
    assert!(status(&busy).contains(DeviceStatus::FAILED));
}

#[test]
fn full_queue_is_a_typed_error_until_completions_free_it() {
    let fake = FakeBlk::with(SECTORS, |b| b.hold = true);
    let mut blk = driver(&fake, 1);
    let buf = fake.alloc(1);
    let range = DmaRange::new(&buf, 0, 512).unwrap();
    let mut ids = Vec::new();
    loop {
        match blk.submit_read(ids.len() as u64 % SECTORS as u64, range) {
            Ok(id) => ids.push(id),
            Err(e) => {
                assert_eq!(e, BlkError::QueueFull);
                break;
            }
        }
    }
    assert_eq!(ids.len(), 64 / 3, "three descriptors per request");
    assert_eq!(blk.poll(), None, "nothing completes before the device runs");
    // One descriptor is left: not even a flush fits.
    assert_eq!(blk.submit_flush(), Err(BlkError::QueueFull));
    let mut bounce = fake.alloc(1);
    assert_eq!(blk.read(0, &mut bounce, 0, 512), Err(BlkError::Busy));

    fake.process();
    let mut done = Vec::new();
    while let Some((id, result)) = blk.poll() {
        result.unwrap();
        done.push(id);
    }
    assert_eq!(done, ids, "completed in order, each once");
    assert_eq!(blk.in_flight(), 0);
    let id = blk.submit_read(0, range).unwrap();
    fake.process();
    assert_eq!(blk.poll(), Some((id, Ok(()))));
}

#[test]
fn split_api_mixes_reads_writes_and_flushes() {
    let fake = FakeBlk::with(SECTORS, |b| b.hold = true);
    let mut blk = driver(&fake, 2);
    let mut buf = fake.alloc(1);
    buf.fill(0, 1024, 0x5a).unwrap();
    let w = blk
        .submit_write(1, DmaRange::new(&buf, 0, 1024).unwrap())
        .unwrap();
    let f = blk.submit_flush().unwrap();
    let r = blk
        .submit_read(1, DmaRange::new(&buf, 2048, 1024).unwrap())
        .unwrap();
    assert_eq!(blk.in_flight(), 3);
    assert!(w != f && f != r && w != r);
    fake.process();
    assert_eq!(blk.poll(), Some((w, Ok(()))));
    assert_eq!(blk.poll(), Some((f, Ok(()))));
    assert_eq!(blk.poll(), Some((r, Ok(()))));
    assert_eq!(blk.poll(), None);
    let mut got = [0u8; 1024];
    buf.read_bytes(2048, &mut got).unwrap();
    assert!(got.iter().all(|&b| b == 0x5a));
}

#[test]
fn bogus_used_id_resets_the_device_and_fails_requests_in_flight() {
    let fake = FakeBlk::with(SECTORS, |b| {
        b.hold = true;
        b.used_id = Some(999);
    });
    let mut blk = driver(&fake, 1);
    let buf = fake.alloc(1);
    let range = DmaRange::new(&buf, 0, 512).unwrap();
    let a = blk.submit_read(0, range).unwrap();
    let b = blk.submit_read(1, range).unwrap();
    fake.process();
    let mut failed = vec![blk.poll().unwrap(), blk.poll().unwrap()];
    failed.sort_by_key(|(id, _)| id.index());
    let mut want = vec![
        (a, Err(BlkError::BadUsedId(999))),
        (b, Err(BlkError::BadUsedId(999))),
    ];
    want.sort_by_key(|(id, _)| id.index());
    assert_eq!(failed, want);
    assert_eq!(blk.poll(), None);
    assert_eq!(blk.in_flight(), 0);
    let s = fake.state().status_writes.clone();
    assert_eq!(
        &s[s.len() - 2..],
        [DeviceStatus::empty(), DeviceStatus::FAILED]
    );
    assert_eq!(blk.submit_read(0, range), Err(BlkError::Broken));
}

#[test]
fn bogus_used_id_in_a_blocking_call_is_an_error() {
    // An id in range that is not the head of the request in flight.
    let fake = FakeBlk::with(SECTORS, |b| b.used_id = Some(1));
    let mut blk = driver(&fake, 1);
    let mut buf = fake.alloc(1);
    assert_eq!(blk.read(0, &mut buf, 0, 512), Err(BlkError::BadUsedId(1)));
    assert_eq!(blk.read(0, &mut buf, 0, 512), Err(BlkError::Broken));
}

#[test]
fn used_idx_running_ahead_is_an_error() {
    let fake = FakeBlk::with(SECTORS, |b| b.used_idx_skew = 40);
    let mut blk = driver(&fake, 1);
    assert_eq!(blk.flush(), Err(BlkError::BadUsedIdx(41)));
    assert!(status(&fake).contains(DeviceStatus::FAILED));
}

#[test]
fn used_len_beyond_the_writable_bytes_is_an_error() {
    let fake = FakeBlk::with(SECTORS, |b| b.used_len = Some(4096));
    let mut blk = driver(&fake, 1);
    let mut buf = fake.alloc(1);
    assert_eq!(
        blk.read(0, &mut buf, 0, 512),
        Err(BlkError::BadUsedLen(4096))
    );
    fake.state().behaviour.used_len = None;
    blk.read(0, &mut buf, 0, 512).unwrap();
}

#[test]
fn no_notify_hint_suppresses_notifications() {
    let fake = FakeBlk::with(SECTORS, |b| {
        b.hold = true;
        b.no_notify = true;
    });
    let mut blk = driver(&fake, 1);
    let buf = fake.alloc(1);
    let id = blk
        .submit_read(0, DmaRange::new(&buf, 0, 512).unwrap())
        .unwrap();
    assert_eq!(fake.state().notifies, 0);
    fake.process();
    assert_eq!(blk.poll(), Some((id, Ok(()))));
}

#[test]
#[cfg_attr(miri, ignore = "spins 65536 polls")]
fn device_needing_reset_ends_a_blocking_call() {
    let fake = FakeBlk::with(SECTORS, |b| b.hold = true);
    let mut blk = driver(&fake, 1);
    fake.state().status |= DeviceStatus::DEVICE_NEEDS_RESET;
    assert_eq!(blk.flush(), Err(BlkError::NeedsReset));
    assert_eq!(blk.flush(), Err(BlkError::Broken));
}

#[test]
fn check_device_gives_up_on_a_device_needing_reset() {
    let fake = FakeBlk::with(SECTORS, |b| b.hold = true);
    let mut blk = driver(&fake, 1);
    let buf = fake.alloc(1);
    let id = blk
        .submit_read(0, DmaRange::new(&buf, 0, 512).unwrap())
        .unwrap();
    assert_eq!(blk.check_device(), Ok(()));
    fake.state().status |= DeviceStatus::DEVICE_NEEDS_RESET;
    assert_eq!(blk.check_device(), Err(BlkError::NeedsReset));
    assert_eq!(blk.poll(), Some((id, Err(BlkError::NeedsReset))));
    assert_eq!(blk.poll(), None);
    assert_eq!(blk.check_device(), Err(BlkError::Broken));
    assert!(status(&fake).contains(DeviceStatus::FAILED));
}

#[test]
fn into_parts_resets_the_device() {
    let fake = FakeBlk::new(SECTORS);
    let blk = driver(&fake, 1);
    let (_transport, mem) = blk.into_parts();
    assert!(status(&fake).is_empty());
    assert!(fake.state().queue.is_none());
    assert_eq!(mem.len(), 4096);
}

#[test]
fn a_batch_notifies_the_device_once_when_it_ends() {
    let fake = FakeBlk::with(SECTORS, |b| b.hold = true);
    let mut blk = driver(&fake, 2);
    let buf = fake.alloc(1);
    let range = |i: usize| DmaRange::new(&buf, i * 512, 512).unwrap();
    let before = fake.state().notifies;
    let ids = {
        let mut batch = blk.batch();
        let ids: Vec<_> = (0..4)
            .map(|i| batch.submit_read(i as u64, range(i)).unwrap())
            .collect();
        assert_eq!(batch.driver().in_flight(), 4);
        assert_eq!(fake.state().notifies, before, "nothing announced yet");
        ids
    };
    assert_eq!(fake.state().notifies, before + 1, "one notification");
    fake.process();
    let done: Vec<_> = std::iter::from_fn(|| blk.poll())
        .map(|(id, result)| {
            result.unwrap();
            id
        })
        .collect();
    assert_eq!(done, ids, "the device saw the whole batch");
    // Outside a batch, each request is announced; an empty batch is not.
    blk.submit_read(0, range(0)).unwrap();
    assert_eq!(fake.state().notifies, before + 2);
    drop(blk.batch());
    assert_eq!(fake.state().notifies, before + 2);
    // Announced part-way: once then, and the end announces only what came
    // after.
    let mut batch = blk.batch();
    batch.submit_read(1, range(1)).unwrap();
    batch.announce();
    assert_eq!(fake.state().notifies, before + 3);
    batch.announce();
    assert_eq!(fake.state().notifies, before + 3, "nothing new to announce");
    drop(batch);
    assert_eq!(fake.state().notifies, before + 3);
}

#[test]
fn a_batch_respects_the_no_notify_hint_and_a_leaked_one_is_announced_later() {
    let quiet = FakeBlk::with(SECTORS, |b| {
        b.hold = true;
        b.no_notify = true;
    });
    let mut blk = driver(&quiet, 1);
    let buf = quiet.alloc(1);
    let range = DmaRange::new(&buf, 0, 512).unwrap();
    let mut batch = blk.batch();
    batch.submit_read(0, range).unwrap();
    batch.submit_flush().unwrap();
    drop(batch);
    assert_eq!(quiet.state().notifies, 0, "the device asked not to be");

    let fake = FakeBlk::with(SECTORS, |b| b.hold = true);
    let mut blk = driver(&fake, 1);
    let buf = fake.alloc(1);
    let range = |i: usize| DmaRange::new(&buf, i * 512, 512).unwrap();
    let before = fake.state().notifies;
    let mut batch = blk.batch();
    let first = batch.submit_read(0, range(0)).unwrap();
    core::mem::forget(batch);
    assert_eq!(fake.state().notifies, before, "leaked: not announced");
    let second = blk.submit_read(1, range(1)).unwrap();
    assert_eq!(fake.state().notifies, before + 1, "announced with the next");
    fake.process();
    assert_eq!(blk.poll(), Some((first, Ok(()))));
    assert_eq!(blk.poll(), Some((second, Ok(()))));
}
