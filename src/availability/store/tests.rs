use super::*;

fn rec(name: &str, index: u32, healthy: u32) -> Record {
    Record {
        name: name.into(),
        grain: if index % 2 == 0 {
            Grain::Hour
        } else {
            Grain::Day
        },
        index,
        counts: Counts {
            healthy,
            rounds: healthy + 3,
            maintenance: 1,
        },
    }
}

#[test]
fn records_round_trip() {
    let rs = vec![rec("alipay-cn", 490_000, 7), rec("支付.x", 20_000, 0)];
    let mut b = Vec::new();
    for r in &rs {
        encode(r, &mut b);
    }
    let (back, used) = parse(&b);
    assert_eq!(back, rs);
    assert_eq!(used, b.len());
}

/// A crash can leave any prefix of the last append: every one of them replays to the
/// records before it, and the file is cut back so the next append follows a whole record.
#[test]
fn a_torn_last_record_at_every_byte_replays_to_the_last_whole_one() {
    let dir = tempfile::tempdir().unwrap();
    let whole = vec![rec("a", 10, 5), rec("b", 11, 6)];
    let last = rec("c", 12, 9);
    let mut head = Vec::new();
    for r in &whole {
        encode(r, &mut head);
    }
    let mut tail = Vec::new();
    encode(&last, &mut tail);
    for cut in 0..=tail.len() {
        let path = dir.path().join(FILE);
        let mut bytes = head.clone();
        bytes.extend_from_slice(&tail[..cut]);
        std::fs::write(&path, &bytes).unwrap();
        let (mut log, book, torn) = Log::open(dir.path()).unwrap();
        let complete = cut == tail.len();
        assert_eq!(torn, if complete { 0 } else { cut }, "cut {cut}");
        assert_eq!(book.len(), if complete { 3 } else { 2 }, "cut {cut}");
        assert_eq!(book["a"].get(Grain::Hour, 10).unwrap().healthy, 5);
        assert_eq!(book["b"].get(Grain::Day, 11).unwrap().healthy, 6);
        // Appending after a cut tail yields a readable file again.
        log.append(&[rec("d", 14, 1)]).unwrap();
        let (recs, used) = parse(&std::fs::read(&path).unwrap());
        assert_eq!(
            used,
            std::fs::metadata(&path).unwrap().len() as usize,
            "cut {cut}"
        );
        assert_eq!(recs.last().unwrap().name, "d");
    }
}

#[test]
fn a_flipped_bit_stops_the_replay_there() {
    let mut b = Vec::new();
    for r in [rec("a", 10, 5), rec("b", 12, 6), rec("c", 14, 7)] {
        encode(&r, &mut b);
    }
    let second = parse(&b[..]).0.len();
    assert_eq!(second, 3);
    let one = {
        let mut x = Vec::new();
        encode(&rec("a", 10, 5), &mut x);
        x.len()
    };
    b[one + 12] ^= 0x40;
    let (recs, used) = parse(&b);
    assert_eq!(recs.len(), 1);
    assert_eq!(used, one);
}

#[test]
fn the_last_record_of_a_bucket_wins_and_compaction_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut log, _, _) = Log::open(dir.path()).unwrap();
    log.append(&[rec("a", 10, 1), rec("a", 10, 2), rec("a", 10, 3)])
        .unwrap();
    let (_, book, _) = Log::open(dir.path()).unwrap();
    assert_eq!(book["a"].get(Grain::Hour, 10).unwrap().healthy, 3);
    log.compact(&[rec("a", 10, 3)]).unwrap();
    log.append(&[rec("a", 12, 4)]).unwrap();
    let (log2, book, torn) = Log::open(dir.path()).unwrap();
    assert_eq!((log2.records, torn), (2, 0));
    assert_eq!(book["a"].get(Grain::Hour, 10).unwrap().healthy, 3);
    assert_eq!(book["a"].get(Grain::Hour, 12).unwrap().healthy, 4);
}
