//! Timing at the socket: when bytes went out and when the first came back, so "first
//! response byte" is measured where it happens, not when hyper finished parsing headers.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// Timestamps of the last write and of the first read after it, in nanoseconds since
/// `base` (0 = never). Shared with the connection task, hence atomics.
pub struct IoMarks {
    base: Instant,
    last_write: AtomicU64,
    first_read_after_write: AtomicU64,
}

impl IoMarks {
    pub fn new() -> Arc<IoMarks> {
        Arc::new(IoMarks {
            base: Instant::now(),
            last_write: AtomicU64::new(0),
            first_read_after_write: AtomicU64::new(0),
        })
    }

    fn stamp(&self) -> u64 {
        (self.base.elapsed().as_nanos() as u64).max(1)
    }

    /// When the first byte of the latest response arrived, if one did after the last write.
    pub fn first_byte(&self) -> Option<Instant> {
        let r = self.first_read_after_write.load(Ordering::Acquire);
        let w = self.last_write.load(Ordering::Acquire);
        (r != 0 && r >= w).then(|| self.base + std::time::Duration::from_nanos(r))
    }
}

/// A stream wrapper that notes when bytes go out and come back, so "first response byte"
/// is measured at the socket, not when hyper finished parsing headers.
pub struct TimedIo<S> {
    inner: S,
    marks: Arc<IoMarks>,
}

impl<S> TimedIo<S> {
    pub fn new(inner: S, marks: Arc<IoMarks>) -> Self {
        TimedIo { inner, marks }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let m = &self.marks;
            let r = m.first_read_after_write.load(Ordering::Acquire);
            let w = m.last_write.load(Ordering::Acquire);
            if r < w {
                m.first_read_after_write.store(m.stamp(), Ordering::Release);
            }
        }
        res
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = res {
            if n > 0 {
                self.marks
                    .last_write
                    .store(self.marks.stamp(), Ordering::Release);
            }
        }
        res
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = res {
            if n > 0 {
                self.marks
                    .last_write
                    .store(self.marks.stamp(), Ordering::Release);
            }
        }
        res
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
