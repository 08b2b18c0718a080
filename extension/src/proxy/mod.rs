//! Runtime API proxy: sits between the function's runtime and the real Lambda Runtime API,
//! forwards every request unchanged and tees the event and result to gavel's [`Interceptor`].
//!
//! # Where it sits
//!
//! The exec wrapper (or the bootstrap shim) points the runtime at
//! `AWS_LAMBDA_RUNTIME_API=127.0.0.1:<listen port>`. [`Proxy::bind`] opens that port — call it
//! *before* the extension registers, because Lambda starts the runtime as soon as every extension
//! has registered — and forwards everything to `upstream` (the original `AWS_LAMBDA_RUNTIME_API`,
//! or another proxy: proxies chain).
//!
//! # What is forwarded
//!
//! Every method, the full path and query, every header except the hop-by-hop ones (`Host` is
//! rewritten to the upstream), bodies as bytes, and upstream status and headers unchanged. Two
//! deliberate departures from a textbook proxy:
//!
//! * `Trailer` is forwarded (RFC 9110 treats it as end-to-end): hyper only sends the trailer
//!   fields a request declares, so dropping it would drop a streamed response's error trailers.
//!   A streaming response that declares nothing gets the two Lambda trailer names declared.
//! * `Content-Length` is recomputed by hyper from the body actually sent (the same bytes, except
//!   when the interceptor replaces a result).
//!
//! # What is teed
//!
//! | runtime request | interceptor call |
//! |---|---|
//! | `GET …/invocation/next` (upstream answered 200) | [`Interceptor::on_event`] before the runtime sees the event |
//! | `POST …/invocation/{id}/response` (buffered) | [`Interceptor::on_result`] before it goes upstream |
//! | `POST …/invocation/{id}/error` | [`Interceptor::on_result`] with [`ResultKind::Error`] |
//! | streamed `…/response`, or a body over [`ProxyConfig::tee_limit`] | [`Interceptor::on_result`] after the stream ended; only `Forward` is possible |
//! | any of the above accepted upstream (2xx) | [`Interceptor::on_result_forwarded`] |
//!
//! Everything else (`init/error`, unknown paths) passes through untouched.
//!
//! # Failure behaviour
//!
//! An upstream failure answers the runtime `502` with a Lambda-style JSON error
//! (`{"errorMessage","errorType"}`) and is logged. A panicking interceptor counts as `Forward`
//! (fail open, logged at error level). A `Block` that cannot be delivered upstream answers `502`
//! instead of handing the event over (fail closed). The upstream `/next` never times out: the
//! sandbox can be frozen for hours in the middle of it.

#![warn(missing_docs)]

mod body;
mod server;
mod upstream;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use tokio::sync::{oneshot, watch};

/// A boxed, `Send` future: what [`Interceptor`] methods return, keeping the trait object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runtime API version prefix every route of the Runtime API starts with.
pub const RUNTIME_API_PREFIX: &str = "/2018-06-01/runtime";
/// Path of the long poll that hands the runtime its next event.
pub const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
/// Prefix of the per-invocation routes: `{INVOCATION_PREFIX}{id}/response` and `…/error`.
pub const INVOCATION_PREFIX: &str = "/2018-06-01/runtime/invocation/";
/// Path of the runtime's initialisation error report (passed through untouched).
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";
/// Last path segment of a result post.
pub const RESPONSE_SEGMENT: &str = "response";
/// Last path segment of an error post.
pub const ERROR_SEGMENT: &str = "error";

/// Header of a `/next` answer carrying the invocation's request id.
pub const REQUEST_ID_HEADER: &str = "lambda-runtime-aws-request-id";
/// Header of a `/next` answer: invocation deadline, Unix epoch milliseconds.
pub const DEADLINE_HEADER: &str = "lambda-runtime-deadline-ms";
/// Header of a `/next` answer: ARN the function was invoked with.
pub const FUNCTION_ARN_HEADER: &str = "lambda-runtime-invoked-function-arn";
/// Header of a `/next` answer: X-Ray trace id.
pub const TRACE_ID_HEADER: &str = "lambda-runtime-trace-id";
/// Header of a `/next` answer: mobile SDK client context (base64 JSON).
pub const CLIENT_CONTEXT_HEADER: &str = "lambda-runtime-client-context";
/// Header of a `/next` answer: Cognito identity (JSON).
pub const COGNITO_IDENTITY_HEADER: &str = "lambda-runtime-cognito-identity";
/// Header (and streaming trailer) naming the error type of an error post.
pub const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";
/// Streaming trailer carrying the base64 error body of a failed stream.
pub const ERROR_BODY_TRAILER: &str = "lambda-runtime-function-error-body";
/// Header selecting the response mode of a result post.
pub const RESPONSE_MODE_HEADER: &str = "lambda-runtime-function-response-mode";
/// Value of [`RESPONSE_MODE_HEADER`] for a streamed response.
pub const RESPONSE_MODE_STREAMING: &str = "streaming";

/// Default for [`ProxyConfig::tee_limit`]: above Lambda's 6 MB synchronous payload limit, so
/// every payload Lambda accepts is buffered whole (and replaceable), while streams (up to 200 MB)
/// are teed only this far.
pub const DEFAULT_TEE_LIMIT: usize = 8 * 1024 * 1024;
/// Default for [`ProxyConfig::shutdown_grace`]: SHUTDOWN leaves external extensions about
/// 1.5 s in total, so in-flight exchanges get only a short grace.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_millis(200);

/// Errors of the proxy module.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The listen address could not be bound (port in use, no permission…).
    #[error("Runtime API proxy cannot listen on {addr}: {source}")]
    Bind {
        /// Address that was asked for.
        addr: SocketAddr,
        /// Why the bind failed.
        #[source]
        source: std::io::Error,
    },
    /// The proxy's thread or its async runtime could not be started.
    #[error("Runtime API proxy cannot start its thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The upstream Runtime API address is not a `host:port`.
    #[error("invalid upstream Runtime API address `{upstream}` (want host:port): {reason}")]
    InvalidUpstream {
        /// The address given.
        upstream: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The request to the upstream Runtime API failed (connection refused, reset…).
    #[error("upstream Runtime API request {method} {path} failed: {source}")]
    Upstream {
        /// Method of the failed request.
        method: http::Method,
        /// Path of the failed request.
        path: String,
        /// The client error.
        #[source]
        source: hyper_util::client::legacy::Error,
    },
    /// Reading the upstream response body failed part-way.
    #[error("reading the upstream Runtime API response body failed: {0}")]
    UpstreamBody(#[source] hyper::Error),
    /// Reading the runtime's request body failed part-way (early close, bad chunking).
    #[error("reading the runtime's request body failed: {0}")]
    RuntimeBody(#[source] hyper::Error),
    /// The interceptor's `Block` or `Replace` could not be carried out (no request id, an
    /// error type that is not a valid header value, upstream refused the error post).
    #[error("cannot enforce the interceptor's decision for invocation {request_id:?}: {reason}")]
    Enforce {
        /// Request id of the invocation (lossy UTF-8; empty when upstream sent none).
        request_id: String,
        /// Why the error post failed.
        reason: String,
    },
    /// A `GET /next` carried a body over the tee limit.
    #[error("GET {path} carried a body over the tee limit; not forwarded")]
    UnexpectedBody {
        /// The path and query requested.
        path: String,
    },
    /// A request URI could not be built from the incoming path and the upstream address.
    #[error("cannot build upstream URI for `{path}`: {source}")]
    Uri {
        /// The path and query that was forwarded.
        path: String,
        /// The parse error.
        #[source]
        source: http::Error,
    },
}

/// An event the runtime is about to receive, as upstream sent it.
#[derive(Debug, Clone)]
pub struct EventSeen {
    /// Value of `Lambda-Runtime-Aws-Request-Id` (lossy UTF-8; empty if upstream sent none).
    pub request_id: String,
    /// Every header of the upstream `/next` answer (deadline, function ARN, trace id, client
    /// context, Cognito identity, tenant id…), bytes unchanged.
    pub headers: HeaderMap,
    /// The event payload, exactly the bytes that will pass to the runtime.
    pub body: Bytes,
}

/// What the runtime reported for an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultKind {
    /// A `POST …/response`; a streamed response that ended with error trailers is an `Error`.
    Response,
    /// A `POST …/error`, or a stream whose trailers carried an error type.
    Error {
        /// `Lambda-Runtime-Function-Error-Type` (lossy UTF-8), if the runtime sent one.
        error_type: Option<String>,
    },
}

/// A result (or error) the runtime posted for one invocation.
#[derive(Debug, Clone)]
pub struct ResultSeen {
    /// The `{id}` path segment of the post, as the runtime sent it.
    pub request_id: String,
    /// Response or error.
    pub kind: ResultKind,
    /// Headers of the runtime's post.
    pub headers: HeaderMap,
    /// The payload, or its first [`ProxyConfig::tee_limit`] bytes when `truncated`.
    pub body: Bytes,
    /// Trailer fields that ended a chunked body (streamed error type and body), if any.
    pub trailers: Option<HeaderMap>,
    /// The runtime used `Lambda-Runtime-Function-Response-Mode: streaming`.
    pub streamed: bool,
    /// `body` is a prefix: the payload was longer than the tee limit, or the stream broke off.
    pub truncated: bool,
}

/// What to do with an event that arrived from upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventAction {
    /// Hand the event to the runtime unchanged.
    Forward,
    /// Report an error upstream for this invocation and fetch the next event, so the handler
    /// never sees this one.
    Block {
        /// Sent as `Lambda-Runtime-Function-Error-Type`.
        error_type: String,
        /// The error body posted upstream (Lambda expects `{"errorMessage","errorType"}` JSON).
        body: Bytes,
    },
}

/// What to do with a result the runtime posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseAction {
    /// Send the result upstream unchanged.
    Forward,
    /// Post this error upstream instead of the result; the runtime gets upstream's answer to
    /// that error post (normally `202`). Ignored for streamed or over-limit results, which have
    /// already gone upstream when the interceptor sees them.
    Replace {
        /// Sent as `Lambda-Runtime-Function-Error-Type`.
        error_type: String,
        /// The error body posted upstream.
        body: Bytes,
    },
}

/// The hooks gavel's lifecycle implements to see and judge invocations.
///
/// Calls for one runtime connection are sequential; the proxy awaits each future on the
/// runtime's request path, so return quickly (monitor mode: resolve to `Forward` at once).
/// A panic inside a hook is caught and treated as `Forward`.
pub trait Interceptor: Send + Sync + 'static {
    /// An event arrived from upstream `/next` (status 200). `Forward` hands it to the runtime
    /// unchanged; `Block` makes the proxy post `…/invocation/{id}/error` upstream with that body
    /// and error type, then fetch `/next` again itself, so the handler never sees the event.
    fn on_event(&self, event: EventSeen) -> BoxFuture<'_, EventAction>;

    /// The runtime posted a result or error. For buffered results this runs before anything goes
    /// upstream and `Replace` is honoured; for streamed or over-limit results it runs after the
    /// stream ended and only `Forward` is possible.
    fn on_result(&self, result: ResultSeen) -> BoxFuture<'_, ResponseAction>;

    /// Upstream answered the post of a result, an error or a replacement (any status), or
    /// accepted a block, for `request_id`: the caller has its answer. The moment to deliver verdicts — off the runtime's path, so
    /// hand the work to another task and return.
    fn on_result_forwarded(&self, request_id: &str);
}

/// An [`Interceptor`] that forwards everything: the proxy as a plain pass-through.
#[derive(Debug, Clone, Copy, Default)]
pub struct PassThrough;

impl Interceptor for PassThrough {
    fn on_event(&self, _event: EventSeen) -> BoxFuture<'_, EventAction> {
        Box::pin(std::future::ready(EventAction::Forward))
    }

    fn on_result(&self, _result: ResultSeen) -> BoxFuture<'_, ResponseAction> {
        Box::pin(std::future::ready(ResponseAction::Forward))
    }

    fn on_result_forwarded(&self, _request_id: &str) {}
}

/// Where the proxy listens and where it forwards to.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Address to listen on; port 0 picks a free port (see [`Proxy::local_addr`]).
    pub listen: SocketAddr,
    /// The real Runtime API (or the next proxy), `host:port` as in `AWS_LAMBDA_RUNTIME_API`.
    pub upstream: String,
    /// Bodies up to this many bytes are buffered whole; longer and streamed ones pass through
    /// chunk by chunk and are teed only this far. Default [`DEFAULT_TEE_LIMIT`].
    pub tee_limit: usize,
    /// How long [`Proxy::shutdown`] lets in-flight exchanges finish before cutting them.
    /// Default [`DEFAULT_SHUTDOWN_GRACE`].
    pub shutdown_grace: Duration,
}

impl ProxyConfig {
    /// A configuration with default limits.
    pub fn new(listen: SocketAddr, upstream: impl Into<String>) -> Self {
        Self {
            listen,
            upstream: upstream.into(),
            tee_limit: DEFAULT_TEE_LIMIT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

/// A running proxy. Dropping it stops accepting and cuts connections without waiting;
/// prefer [`Proxy::shutdown`].
#[derive(Debug)]
pub struct Proxy {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    /// Fires (or is dropped) when the proxy's thread has stopped serving.
    stopped: oneshot::Receiver<()>,
}

impl Proxy {
    /// Binds the listen address and starts serving on a thread of its own.
    ///
    /// The proxy is on the function's critical path and nothing else in gavel is: it gets its
    /// own single-threaded runtime so a `/next` or `/response` never waits behind telemetry,
    /// record building or delivery scheduled on the extension's runtime. Work the interceptor
    /// hands off (policy evaluation) goes wherever the interceptor sends it.
    ///
    /// # Errors
    ///
    /// [`ProxyError::InvalidUpstream`] for an unusable upstream address, [`ProxyError::Bind`]
    /// when the port cannot be bound and [`ProxyError::Thread`] when the thread or its runtime
    /// cannot start — report any of them through `init/error`.
    pub async fn bind(
        config: ProxyConfig,
        interceptor: Arc<dyn Interceptor>,
    ) -> Result<Self, ProxyError> {
        let upstream = upstream::Upstream::new(&config.upstream)?;
        let bind_err = |source| ProxyError::Bind {
            addr: config.listen,
            source,
        };
        let listener = std::net::TcpListener::bind(config.listen).map_err(bind_err)?;
        listener.set_nonblocking(true).map_err(bind_err)?;
        let local_addr = listener.local_addr().map_err(bind_err)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ProxyError::Thread)?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (done, stopped) = oneshot::channel();
        let state = Arc::new(server::State {
            upstream,
            interceptor,
            tee_limit: config.tee_limit,
        });
        let grace = config.shutdown_grace;
        std::thread::Builder::new()
            .name("gavel-proxy".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => server::serve(listener, state, shutdown_rx, grace).await,
                        Err(e) => tracing::error!(error = %e, "Runtime API proxy cannot serve"),
                    }
                });
                let _ = done.send(());
            })
            .map_err(ProxyError::Thread)?;
        tracing::info!(%local_addr, upstream = %config.upstream, "Runtime API proxy listening");
        Ok(Self {
            local_addr,
            shutdown,
            stopped,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// True once the proxy has stopped serving (after shutdown, or if it failed).
    pub fn is_finished(&mut self) -> bool {
        !matches!(
            self.stopped.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        )
    }

    /// Stops accepting, lets in-flight exchanges finish within the configured grace, then
    /// cuts what is left and returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        // Err: the thread ended without saying so (a panic); either way it has stopped.
        let _ = self.stopped.await;
    }
}
