//! A response body that holds its one chunk back, so the transfer phase has a length.

use super::*;

/// A body that sends its one chunk after a delay, to make the transfer phase measurable.
pub struct DelayedBody {
    data: Option<Bytes>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl DelayedBody {
    pub(super) fn new(data: Bytes, delay: Duration) -> DelayedBody {
        DelayedBody {
            data: Some(data),
            sleep: (!delay.is_zero()).then(|| Box::pin(tokio::time::sleep(delay))),
        }
    }
}

impl Body for DelayedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if let Some(s) = self.sleep.as_mut() {
            if s.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        Poll::Ready(self.data.take().map(|d| Ok(Frame::data(d))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.data {
            Some(d) => http_body::SizeHint::with_exact(d.len() as u64),
            None => http_body::SizeHint::with_exact(0),
        }
    }
}
