//! Keeps the first bytes a peer sends, so a handshake that fails because the peer spoke
//! another protocol can say what it spoke ("HTTP/1.1 400 Bad Request" on a TLS port).
//! Observation only: `src/classify/rules.rs` decides what it means.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::limits::SNIFF_KEEP_BYTES as KEEP;

/// A stream that copies the first [`KEEP`] bytes it reads; everything else passes through.
pub struct Sniff<S> {
    inner: S,
    first: Arc<Mutex<Vec<u8>>>,
}

impl<S> Sniff<S> {
    pub fn new(inner: S) -> Sniff<S> {
        Sniff {
            inner,
            first: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The bytes kept so far (shared: still readable after the stream was consumed).
    pub fn first_bytes(&self) -> Arc<Mutex<Vec<u8>>> {
        self.first.clone()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Sniff<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        {
            let mut kept = crate::sync::lock(&self.first, "sniffed bytes");
            if kept.len() < KEEP {
                let new = &buf.filled()[before..];
                let room = KEEP - kept.len();
                kept.extend_from_slice(&new[..new.len().min(room)]);
            }
        }
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Sniff<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The first bytes as a human reads them: their first line when it is text, else hex.
pub fn describe(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "nothing".into();
    }
    let line = bytes
        .split(|b| *b == b'\r' || *b == b'\n')
        .next()
        .unwrap_or(&[]);
    if !line.is_empty() && line.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return format!("{:?}", String::from_utf8_lossy(line));
    }
    let hex: Vec<String> = bytes
        .iter()
        .take(crate::limits::SNIFF_HEX_BYTES)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("bytes {}", hex.join(" "))
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn first_bytes_are_shown_as_their_first_line_or_hex() {
        assert_eq!(
            describe(b"HTTP/1.1 400 Bad Request\r\nServer: x\r\n"),
            "\"HTTP/1.1 400 Bad Request\""
        );
        assert_eq!(describe(b"\x16\x03\x03\x00\x04"), "bytes 16 03 03 00 04");
        assert_eq!(describe(b""), "nothing");
    }
}
