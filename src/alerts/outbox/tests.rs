use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::alerts::notification::Event;

fn n(key: &str) -> Notification {
    Notification {
        key: key.into(),
        fingerprint: "f".into(),
        event: Event::Firing,
        labels: BTreeMap::new(),
        previous_labels: None,
        annotations: BTreeMap::new(),
        starts_ms: 1,
        ends_ms: None,
        generator_url: String::new(),
        created_ms: 1,
        group_key: String::new(),
        lang: Default::default(),
    }
}

fn metrics() -> Arc<Metrics> {
    Arc::new(Metrics::new().unwrap())
}

fn keys(o: &Outbox) -> Vec<String> {
    o.pending.iter().map(|n| n.key.clone()).collect()
}

#[test]
fn pending_survives_a_reopen_and_done_is_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), "s", 100, metrics());
    o.push(n("a"));
    o.push(n("b"));
    o.push(n("a")); // the same transition again: kept once
    o.done("a");
    drop(o);
    let o = Outbox::open(dir.path(), "s", 100, metrics());
    assert_eq!(keys(&o), ["b"]);
    assert!(o.durable());
}

#[test]
fn a_torn_last_record_is_skipped_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), "s", 100, metrics());
    o.push(n("a"));
    o.push(n("b"));
    drop(o);
    let path = dir.path().join("outbox/s.log");
    let len = std::fs::metadata(&path).unwrap().len();
    // Cut the file in the middle of the second record, as a crash mid-write would.
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len - 10).unwrap();
    let m = metrics();
    let mut o = Outbox::open(dir.path(), "s", 100, m.clone());
    assert_eq!(keys(&o), ["a"]);
    assert!(m
        .render()
        .unwrap()
        .contains(r#"payprobe_state_dir_errors_total{what="outbox_torn"} 1"#));
    // And the outbox goes on: new records land after the good ones.
    o.push(n("c"));
    drop(o);
    assert_eq!(
        keys(&Outbox::open(dir.path(), "s", 100, metrics())),
        ["a", "c"]
    );
}

#[test]
fn a_flipped_byte_fails_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), "s", 100, metrics());
    o.push(n("a"));
    o.push(n("b"));
    drop(o);
    let path = dir.path().join("outbox/s.log");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(keys(&Outbox::open(dir.path(), "s", 100, metrics())), ["a"]);
}

#[test]
fn the_file_is_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), "s", 1000, metrics());
    for i in 0..300 {
        o.push(n(&format!("k{i}")));
        o.done(&format!("k{i}"));
    }
    o.push(n("last"));
    let size = std::fs::metadata(dir.path().join("outbox/s.log"))
        .unwrap()
        .len();
    assert!(
        size < 40 * 1024,
        "300 delivered records were compacted away: {size} bytes"
    );
    drop(o);
    assert_eq!(
        keys(&Outbox::open(dir.path(), "s", 1000, metrics())),
        ["last"]
    );
}

#[test]
fn an_unwritable_state_dir_keeps_a_bounded_queue_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    // Tests run as root, which ignores file modes: a state_dir below a regular file cannot
    // be created by anyone.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let m = metrics();
    let mut o = Outbox::open(&file.join("state"), "s", 3, m.clone());
    for k in ["a", "b", "c", "d"] {
        o.push(n(k));
    }
    assert!(!o.durable());
    assert_eq!(keys(&o), ["b", "c", "d"], "bounded: the oldest went");
    let text = m.render().unwrap();
    assert!(
        text.contains(r#"payprobe_alert_notifications_total{outcome="dropped",sink="s"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"payprobe_state_dir_errors_total{what="outbox"}"#));
}

#[test]
fn a_notification_dropped_for_room_stays_dropped_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), "s", 2, metrics());
    o.push(n("a"));
    o.push(n("b"));
    o.push(n("c")); // full: "a" is dropped
    assert_eq!(keys(&o), ["b", "c"]);
    drop(o);
    let o = Outbox::open(dir.path(), "s", 2, metrics());
    assert_eq!(keys(&o), ["b", "c"], "the dropped one does not come back");
}

#[test]
fn a_smaller_queue_limit_applies_to_what_is_restored() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Outbox::open(dir.path(), "s", 10, metrics());
    for k in ["a", "b", "c", "d"] {
        o.push(n(k));
    }
    drop(o);
    let o = Outbox::open(dir.path(), "s", 2, metrics());
    assert_eq!(keys(&o), ["c", "d"], "the newest are kept");
    drop(o);
    let o = Outbox::open(dir.path(), "s", 10, metrics());
    assert_eq!(keys(&o), ["c", "d"], "and the file was rewritten so");
}

/// An outbox written before notifications carried their language reads back as English,
/// the language their chat messages were framed in then; a Chinese one stays Chinese.
#[test]
fn a_notification_without_a_language_reads_back_as_english() {
    let mut zh = n("k");
    zh.lang = crate::lang::Lang::ZhCn;
    let mut v = serde_json::to_value(&zh).unwrap();
    assert_eq!(v["lang"], "zh-CN");
    let back: Notification = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(back.lang, crate::lang::Lang::ZhCn);
    v.as_object_mut().unwrap().remove("lang");
    let old: Notification = serde_json::from_value(v).unwrap();
    assert_eq!(old.lang, crate::lang::Lang::En);
}
