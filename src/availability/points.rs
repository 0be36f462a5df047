//! The status page's recent rounds (`crate::history`) kept across restarts, in
//! `state_dir/history.log`: one framed record per round (target, time, latency, passed,
//! healthy), appended by the rollup writer with the buckets, replayed into the rings at start
//! (a ring keeps its newest points, so replaying in order rebuilds it), and compacted to the
//! rings' contents once the log holds several times what they do.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::store::{frame, frames, open_append, replace, StoreError};
use crate::history::{History, Point};

pub const FILE: &str = "history.log";
/// Kind byte, time, latency, flags, name length, name.
const FIXED: usize = 1 + 8 + 4 + 1 + 1;
const KIND: u8 = 3;

pub fn encode(name: &str, p: &Point, out: &mut Vec<u8>) {
    let name = &name.as_bytes()[..name.len().min(crate::limits::MAX_NAME_CHARS).min(255)];
    let mut b = Vec::with_capacity(FIXED + name.len());
    b.push(KIND);
    b.extend_from_slice(&p.at_ms.to_le_bytes());
    b.extend_from_slice(&p.millis.to_le_bytes());
    b.push(u8::from(p.ok) | (u8::from(p.healthy) << 1));
    b.push(name.len() as u8);
    b.extend_from_slice(name);
    frame(&b, out);
}

fn decode(b: &[u8]) -> Option<(String, Point)> {
    if *b.first()? != KIND {
        return None;
    }
    let at_ms = u64::from_le_bytes(b.get(1..9)?.try_into().ok()?);
    let millis = f32::from_le_bytes(b.get(9..13)?.try_into().ok()?);
    let flags = *b.get(13)?;
    let n = usize::from(*b.get(14)?);
    let name = std::str::from_utf8(b.get(FIXED..FIXED + n)?).ok()?;
    (b.len() == FIXED + n).then(|| {
        let p = Point {
            at_ms,
            millis,
            ok: flags & 1 == 1,
            healthy: flags & 2 == 2,
        };
        (name.to_string(), p)
    })
}

/// The whole records of `bytes`, and the length they take.
pub fn parse(bytes: &[u8]) -> (Vec<(String, Point)>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    for b in frames(bytes, FIXED + 255).0 {
        let Some(r) = decode(b) else { break };
        out.push(r);
        at += 8 + b.len();
    }
    (out, at)
}

pub struct PointLog {
    path: PathBuf,
    file: File,
    pub records: usize,
    /// Bytes written so far (appends and compactions), for `payprobe_state_dir_written_bytes_total`.
    pub written: usize,
}

impl PointLog {
    /// Opens the log, replays it into `history` and cuts a torn tail off (its length).
    pub fn open(dir: &Path, history: &History) -> Result<(PointLog, usize), StoreError> {
        let path = dir.join(FILE);
        let (file, bytes, torn) = open_append(&path, |b| parse(b).1)?;
        let (points, _) = parse(&bytes);
        let records = points.len();
        for (name, p) in points {
            history.push(&name, p);
        }
        Ok((
            PointLog {
                path,
                file,
                records,
                written: 0,
            },
            torn,
        ))
    }

    pub fn append(&mut self, points: &[(String, Point)]) -> Result<(), StoreError> {
        use std::io::Write;
        let mut buf = Vec::with_capacity(points.len() * 40);
        for (n, p) in points {
            encode(n, p, &mut buf);
        }
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&buf).map_err(io)?;
        self.written += buf.len();
        self.file.sync_data().map_err(io)?;
        self.records += points.len();
        Ok(())
    }

    /// Rewrites the log with the rings' contents when it holds too much else.
    pub fn compact_if_due(&mut self, history: &History) -> Result<(), StoreError> {
        let rings = history.all();
        let live: usize = rings.iter().map(|(_, v)| v.len()).sum();
        let due = live * crate::limits::AVAILABILITY_COMPACT_RATIO
            + crate::limits::AVAILABILITY_COMPACT_SLACK;
        if self.records <= due {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(live * 40);
        for (name, points) in &rings {
            for p in points {
                encode(name, p, &mut buf);
            }
        }
        self.file = replace(&self.path, &buf)?;
        self.written += buf.len();
        self.records = live;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(i: u64) -> Point {
        Point {
            at_ms: 1_000 + i,
            millis: i as f32 / 2.0,
            ok: i % 2 == 0,
            healthy: i % 3 != 0,
        }
    }

    /// Replaying rebuilds the rings; a torn last record at every byte is cut, never read.
    #[test]
    fn rounds_replay_into_the_rings_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::new(3);
        let (mut log, _) = PointLog::open(dir.path(), &h).unwrap();
        let pts: Vec<(String, Point)> = (0..5).map(|i| ("a".to_string(), pt(i))).collect();
        log.append(&pts).unwrap();
        let bytes = std::fs::read(dir.path().join(FILE)).unwrap();
        let mut last = Vec::new();
        encode("a", &pt(5), &mut last);
        for cut in 0..last.len() {
            let mut b = bytes.clone();
            b.extend_from_slice(&last[..cut]);
            std::fs::write(dir.path().join(FILE), &b).unwrap();
            let back = History::new(3);
            let (_, torn) = PointLog::open(dir.path(), &back).unwrap();
            assert_eq!(torn, cut);
            let at: Vec<u64> = back.points("a").iter().map(|p| p.at_ms).collect();
            assert_eq!(at, vec![1_002, 1_003, 1_004], "cut {cut}");
            assert_eq!(back.points("a")[0], pt(2));
        }
        let back = History::new(3);
        let (mut log, _) = PointLog::open(dir.path(), &back).unwrap();
        log.records = 10_000;
        log.compact_if_due(&back).unwrap();
        assert_eq!(
            parse(&std::fs::read(dir.path().join(FILE)).unwrap())
                .0
                .len(),
            3
        );
    }
}
