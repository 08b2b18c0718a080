//! Proxy bodies: buffered replays, the chunk-by-chunk tee for streams, and prefix reading.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::sync::oneshot;

/// Error type of every body the proxy sends, either way.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The one body type the proxy's server and client speak.
pub(crate) type ProxyBody = BoxBody<Bytes, BoxError>;

/// Boxes any body into a [`ProxyBody`].
pub(crate) fn boxed<B>(body: B) -> ProxyBody
where
    B: Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed()
}

/// A fully buffered body, optionally ending with trailers. Cheap to clone (`Bytes`), so a
/// request built from it can be retried.
#[derive(Debug, Clone, Default)]
pub(crate) struct Replay {
    data: Option<Bytes>,
    trailers: Option<HeaderMap>,
}

impl Replay {
    pub(crate) fn new(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        Self {
            data: (!data.is_empty()).then_some(data),
            trailers,
        }
    }
}

impl Body for Replay {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(data) = this.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let len = self.data.as_ref().map_or(0, |d| d.len() as u64);
        if self.trailers.is_some() {
            // An exact length would make hyper send Content-Length, which cannot carry trailers.
            let mut hint = SizeHint::new();
            hint.set_lower(len);
            hint
        } else {
            SizeHint::with_exact(len)
        }
    }
}

/// The start of a request body, read up to a limit.
pub(crate) enum Prefix {
    /// The body ended within the limit.
    Complete {
        data: Bytes,
        trailers: Option<HeaderMap>,
    },
    /// The body is longer: what was read, and the rest still to come.
    Overflow { chunks: Vec<Bytes>, rest: Incoming },
}

/// Reads `body` until it ends or more than `limit` bytes arrived.
pub(crate) async fn read_prefix(mut body: Incoming, limit: usize) -> Result<Prefix, hyper::Error> {
    let mut chunks = Vec::new();
    let mut len = 0usize;
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        match frame.into_data() {
            Ok(data) => {
                len = len.saturating_add(data.len());
                chunks.push(data);
                if len > limit {
                    return Ok(Prefix::Overflow { chunks, rest: body });
                }
            }
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    trailers = Some(t);
                }
            }
        }
    }
    Ok(Prefix::Complete {
        data: concat(chunks, len),
        trailers,
    })
}

/// Joins chunks; a single chunk is handed back as is (no copy).
pub(crate) fn concat(mut chunks: Vec<Bytes>, len: usize) -> Bytes {
    match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => {
            let mut buf = BytesMut::with_capacity(len);
            for c in &chunks {
                buf.extend_from_slice(c);
            }
            buf.freeze()
        }
    }
}

/// What a [`TeeBody`] saw once its stream ended (or broke off).
#[derive(Debug, Default)]
pub(crate) struct TeeOutcome {
    /// The first `limit` bytes.
    pub(crate) data: Bytes,
    /// More bytes passed than were kept, or the stream did not end cleanly.
    pub(crate) truncated: bool,
    /// The trailers that ended the stream, if any.
    pub(crate) trailers: Option<HeaderMap>,
    /// The stream reached its end (false: error or dropped mid-way).
    pub(crate) complete: bool,
}

/// Passes a runtime's body through frame by frame (data and trailers), keeping `Bytes` clones
/// of the first `limit` bytes, and reports them on `done` when the stream ends or is dropped.
pub(crate) struct TeeBody {
    prefix: VecDeque<Bytes>,
    inner: Incoming,
    kept: Vec<Bytes>,
    kept_len: usize,
    limit: usize,
    truncated: bool,
    trailers: Option<HeaderMap>,
    done: Option<oneshot::Sender<TeeOutcome>>,
}

impl TeeBody {
    /// `prefix` was already read from `inner` (see [`read_prefix`]) and is sent first.
    pub(crate) fn new(
        prefix: Vec<Bytes>,
        inner: Incoming,
        limit: usize,
        done: Option<oneshot::Sender<TeeOutcome>>,
    ) -> Self {
        let mut tee = Self {
            prefix: VecDeque::with_capacity(prefix.len()),
            inner,
            kept: Vec::new(),
            kept_len: 0,
            limit,
            truncated: false,
            trailers: None,
            done,
        };
        for chunk in prefix {
            tee.keep(&chunk);
            tee.prefix.push_back(chunk);
        }
        tee
    }

    fn keep(&mut self, data: &Bytes) {
        if self.done.is_none() {
            return;
        }
        let room = self.limit.saturating_sub(self.kept_len);
        if data.len() > room {
            self.truncated = true;
        }
        let take = data.len().min(room);
        if take > 0 {
            // `slice` shares the buffer: the tee costs a refcount, not a copy.
            self.kept.push(data.slice(..take));
            self.kept_len += take;
        }
    }

    fn finish(&mut self, complete: bool) {
        if let Some(done) = self.done.take() {
            let outcome = TeeOutcome {
                data: concat(std::mem::take(&mut self.kept), self.kept_len),
                truncated: self.truncated || !complete,
                trailers: self.trailers.take(),
                complete,
            };
            // The receiver may be gone (the exchange was abandoned); nothing to report then.
            let _ = done.send(outcome);
        }
    }
}

impl TeeBody {
    /// hyper stops polling once `is_end_stream` says so, so the end must be noticed here too.
    fn finish_if_ended(&mut self) {
        if self.prefix.is_empty() && self.inner.is_end_stream() {
            self.finish(true);
        }
    }
}

impl Body for TeeBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some(chunk) = this.prefix.pop_front() {
            this.finish_if_ended();
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                this.finish(true);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                this.finish(false);
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.keep(data);
                    this.finish_if_ended();
                } else if let Some(t) = frame.trailers_ref() {
                    if this.done.is_some() {
                        this.trailers = Some(t.clone());
                    }
                    // Trailers are always the last frame.
                    this.finish(true);
                }
                Poll::Ready(Some(Ok(frame)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        // Exact when the runtime sent Content-Length, so hyper forwards the same framing.
        let queued: u64 = self.prefix.iter().map(|c| c.len() as u64).sum();
        let inner = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(queued));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(queued));
        }
        hint
    }
}

impl Drop for TeeBody {
    fn drop(&mut self) {
        self.finish(false);
    }
}
