//! The rollup file, `state_dir/availability.log`: an append-only log of bucket records,
//! compacted in place of a database.
//!
//! Record: `len: u32 LE | crc32(payload): u32 LE | payload` (the outbox's framing), payload
//! `grain: u8 (1 hour, 2 day) | index: u32 LE | healthy, rounds, maintenance: u32 LE |
//! name_len: u8 | name`. A record holds a bucket's absolute counts, so replaying is "the
//! last record of a bucket wins": a flush rewrites nothing, a duplicate is harmless, and a
//! torn tail (a crash mid-append) loses only the counts since the previous flush. Reading
//! stops at the first record whose length runs past the end or whose checksum fails; the
//! file is cut back to the last whole record before anything is appended after it.
//!
//! Compaction writes one record per live bucket to a temporary file, fsyncs it and renames
//! it over the log (atomic on POSIX), once the log holds several times the live records.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::rollup::{Counts, Grain, Rollup};
use crate::limits::MAX_NAME_CHARS;

pub const FILE: &str = "availability.log";
const HEADER: usize = 8;
const FIXED: usize = 1 + 4 + 12 + 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One bucket's counts, as a record says them.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub name: String,
    pub grain: Grain,
    pub index: u32,
    pub counts: Counts,
}

pub fn encode(r: &Record, out: &mut Vec<u8>) {
    let name = r.name.as_bytes();
    let name = &name[..name.len().min(MAX_NAME_CHARS).min(255)];
    let mut p = Vec::with_capacity(FIXED + name.len());
    p.push(match r.grain {
        Grain::Hour => 1,
        Grain::Day => 2,
    });
    p.extend_from_slice(&r.index.to_le_bytes());
    for v in [r.counts.healthy, r.counts.rounds, r.counts.maintenance] {
        p.extend_from_slice(&v.to_le_bytes());
    }
    p.push(name.len() as u8);
    p.extend_from_slice(name);
    frame(&p, out);
}

/// `len | crc32 | payload`, the framing every file here shares (and the outbox's).
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The payloads of `bytes` up to the first frame that is torn (runs past the end), longer
/// than `max` or fails its checksum, and the length they take.
pub fn frames(bytes: &[u8], max: usize) -> (Vec<&[u8]>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let (Some(len), Some(crc)) = (u32_at(bytes, at), u32_at(bytes, at + 4)) {
        let len = len as usize;
        let Some(p) = bytes
            .get(at + HEADER..at + HEADER + len)
            .filter(|p| len <= max && crc32fast::hash(p) == crc)
        else {
            break;
        };
        out.push(p);
        at += HEADER + len;
    }
    (out, at)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn decode(p: &[u8]) -> Option<Record> {
    let grain = match p.first()? {
        1 => Grain::Hour,
        2 => Grain::Day,
        _ => return None,
    };
    let n = usize::from(*p.get(FIXED - 1)?);
    let name = std::str::from_utf8(p.get(FIXED..FIXED + n)?).ok()?;
    (p.len() == FIXED + n).then(|| Record {
        name: name.to_string(),
        grain,
        index: u32_at(p, 1).unwrap_or(0),
        counts: Counts {
            healthy: u32_at(p, 5).unwrap_or(0),
            rounds: u32_at(p, 9).unwrap_or(0),
            maintenance: u32_at(p, 13).unwrap_or(0),
        },
    })
}

/// The whole records of `bytes`, and the length they take (where a torn tail starts).
pub fn parse(bytes: &[u8]) -> (Vec<Record>, usize) {
    let (payloads, _) = frames(bytes, FIXED + 255);
    let mut out = Vec::new();
    let mut at = 0;
    for p in payloads {
        let Some(r) = decode(p) else { break };
        out.push(r);
        at += HEADER + p.len();
    }
    (out, at)
}

/// Reads `path` whole (missing: empty) and opens it for appending, cut back to `good(bytes)`
/// when a crash left a torn tail. Returns the file, the bytes kept and how many were cut.
pub fn open_append(
    path: &Path,
    good: impl FnOnce(&[u8]) -> usize,
) -> Result<(File, Vec<u8>, usize), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes).map_err(io)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let keep = good(&bytes);
    let torn = bytes.len() - keep;
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    if torn > 0 {
        file.set_len(keep as u64).map_err(io)?;
        file.sync_data().map_err(io)?;
        bytes.truncate(keep);
    }
    Ok((file, bytes, torn))
}

/// Replaces `path` with `bytes` (temporary file, fsync, rename, fsync of the folder) and
/// reopens it for appending.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<File, StoreError> {
    let tmp = path.with_extension("tmp");
    let io = |source| StoreError::Io {
        path: tmp.clone(),
        source,
    };
    let mut f = File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    OpenOptions::new().append(true).open(path).map_err(io)
}

/// The log, open for appending.
pub struct Log {
    path: PathBuf,
    file: File,
    /// Records in the file (compaction compares it with the live buckets).
    pub records: usize,
    /// Bytes written so far (appends and compactions), for `payprobe_state_dir_written_bytes_total`.
    pub written: usize,
}

impl Log {
    /// Opens the log under `dir`, replays it into rollups and cuts a torn tail off.
    pub fn open(dir: &Path) -> Result<(Log, HashMap<String, Rollup>, usize), StoreError> {
        let path = dir.join(FILE);
        let (file, bytes, torn) = open_append(&path, |b| parse(b).1)?;
        let (records, _) = parse(&bytes);
        let mut book: HashMap<String, Rollup> = HashMap::new();
        let n = records.len();
        for r in records {
            book.entry(r.name)
                .or_default()
                .set(r.grain, r.index, r.counts);
        }
        Ok((
            Log {
                path,
                file,
                records: n,
                written: 0,
            },
            book,
            torn,
        ))
    }

    /// Appends `records` in one write, then `fdatasync`.
    pub fn append(&mut self, records: &[Record]) -> Result<(), StoreError> {
        let mut buf = Vec::with_capacity(records.len() * 48);
        for r in records {
            encode(r, &mut buf);
        }
        let io = |source| StoreError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&buf).map_err(io)?;
        self.written += buf.len();
        self.file.sync_data().map_err(io)?;
        self.records += records.len();
        Ok(())
    }

    /// Rewrites the log with exactly `live`.
    pub fn compact(&mut self, live: &[Record]) -> Result<(), StoreError> {
        let mut buf = Vec::with_capacity(live.len() * 48);
        for r in live {
            encode(r, &mut buf);
        }
        self.file = replace(&self.path, &buf)?;
        self.written += buf.len();
        self.records = live.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
