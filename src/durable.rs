//! What payprobe keeps on disk, written so that a crash never leaves half of it.
//!
//! Two shapes serve every file under `state_dir`: a whole file replaced atomically
//! ([`write_atomic`]: the alert state, a compacted journal or outbox) and an append-only
//! log of framed records ([`frame`], [`parse_frames`]: the incident journal, the outboxes).
//! A record is `len: u32 LE | crc32(payload): u32 LE | payload`; reading stops at the first
//! record whose length runs past the end, is implausibly large, or whose checksum does not
//! match — the torn tail of a write a crash interrupted — so a reader gets every whole record
//! before it and never a wrong one.

use std::io::Write;
use std::path::Path;

pub use crate::limits::DURABLE_MAX_RECORD as MAX_RECORD;

/// One framed record.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payloads of the whole records at the start of `bytes`, and the length they cover
/// (`< bytes.len()` when the file ends in a torn or corrupt record).
pub fn parse_frames(bytes: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let Some(payload) = bytes
            .get(at + 8..at + 8 + len)
            .filter(|_| len <= MAX_RECORD)
        else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        out.push(payload);
        at += 8 + len;
    }
    (out, at)
}

/// Writes `name` in `dir` through a temporary file, fsync and rename, then fsyncs the
/// directory: after a crash the file is either the old one or the new one.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    // Unique per process and call: two daemons sharing a state_dir never share a temp file.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{seq}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cut_of_the_last_record_keeps_the_whole_ones_before_it() {
        let records: [&[u8]; 3] = [b"{\"a\":1}", b"", b"{\"third\":\"record\"}"];
        let mut file = Vec::new();
        for r in records {
            file.extend(frame(r));
        }
        let last_start = file.len() - frame(records[2]).len();
        for cut in last_start..file.len() {
            let (got, good) = parse_frames(&file[..cut]);
            assert_eq!(got, records[..2].to_vec(), "cut at {cut}");
            assert_eq!(good, last_start, "cut at {cut}");
        }
        let (all, good) = parse_frames(&file);
        assert_eq!((all.len(), good), (3, file.len()));
    }

    #[test]
    fn a_flipped_byte_or_a_huge_length_ends_the_read_there() {
        let mut file = frame(b"first");
        let second = file.len();
        file.extend(frame(b"second"));
        let mut flipped = file.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(parse_frames(&flipped), (vec![&b"first"[..]], second));
        let mut huge = frame(b"first");
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        huge.extend_from_slice(&[0; 12]);
        assert_eq!(parse_frames(&huge).1, second);
    }
}
