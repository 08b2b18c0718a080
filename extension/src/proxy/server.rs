//! The runtime-facing server: accepts the runtime's connections, routes each Runtime API call
//! and runs the tee (event, result, error) around forwarding it upstream.

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use super::body::{Prefix, ProxyBody, Replay, TeeBody, boxed, read_prefix};
use super::upstream::{Outgoing, Retry, Upstream, end_to_end_headers};
use super::{
    ERROR_BODY_TRAILER, ERROR_SEGMENT, ERROR_TYPE_HEADER, EventAction, EventSeen,
    INVOCATION_PREFIX, Interceptor, NEXT_PATH, ProxyError, REQUEST_ID_HEADER, RESPONSE_MODE_HEADER,
    RESPONSE_MODE_STREAMING, RESPONSE_SEGMENT, ResponseAction, ResultKind, ResultSeen,
};

/// `errorType` of the JSON the proxy answers the runtime with when upstream fails.
const PROXY_ERROR_TYPE: &str = "Gavel.RuntimeApiProxyError";
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// What every connection shares.
pub(crate) struct State {
    pub(crate) upstream: Upstream,
    pub(crate) interceptor: Arc<dyn Interceptor>,
    pub(crate) tee_limit: usize,
}

/// Accept loop; ends when `shutdown` flips (or its sender is dropped).
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    // Upstream's headers go back unchanged: no Date of our own.
    http.auto_date_header(false);
    let http = Arc::new(http);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    let http = http.clone();
                    let mut stop = shutdown.clone();
                    conns.spawn(async move {
                        let service = service_fn(move |req| handle(state.clone(), req));
                        let conn = http.serve_connection(TokioIo::new(stream), service);
                        tokio::pin!(conn);
                        let result = tokio::select! {
                            r = conn.as_mut() => r,
                            _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                                conn.as_mut().graceful_shutdown();
                                conn.await
                            }
                        };
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "runtime connection ended with an error");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Runtime API proxy accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, async { while conns.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::debug!(
            left = conns.len(),
            "cutting runtime connections still open at shutdown"
        );
    }
    conns.shutdown().await;
    tracing::info!("Runtime API proxy stopped");
}

/// Which Runtime API call a request is.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Next,
    Result { request_id: String, error: bool },
    Other,
}

impl Route {
    fn of(method: &Method, path: &str) -> Self {
        if *method == Method::GET && path == NEXT_PATH {
            return Self::Next;
        }
        if *method == Method::POST
            && let Some((id, last)) = path
                .strip_prefix(INVOCATION_PREFIX)
                .and_then(|rest| rest.split_once('/'))
            && !id.is_empty()
            && !last.contains('/')
        {
            let error = match last {
                RESPONSE_SEGMENT => false,
                ERROR_SEGMENT => true,
                _ => return Self::Other,
            };
            return Self::Result {
                request_id: id.to_owned(),
                error,
            };
        }
        Self::Other
    }
}

/// One runtime request; never fails: errors become a 502 for the runtime.
async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let outcome = match Route::of(&method, &path) {
        Route::Next => next(&state, req).await,
        Route::Result { request_id, error } => result(&state, req, request_id, error).await,
        Route::Other => passthrough(&state, req).await,
    };
    Ok(outcome.unwrap_or_else(|e| {
        tracing::error!(%method, %path, error = %e, "Runtime API proxy could not serve the runtime");
        bad_gateway(&e)
    }))
}

/// `502` with a Lambda-style JSON error.
fn bad_gateway(e: &ProxyError) -> Response<ProxyBody> {
    let body = serde_json::json!({ "errorMessage": e.to_string(), "errorType": PROXY_ERROR_TYPE });
    let mut resp = Response::new(boxed(Replay::new(Bytes::from(body.to_string()), None)));
    *resp.status_mut() = StatusCode::BAD_GATEWAY;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// Upstream's answer for the runtime: status, end-to-end headers and body unchanged.
fn relay(resp: Response<Incoming>) -> Response<ProxyBody> {
    let (mut parts, body) = resp.into_parts();
    parts.headers = end_to_end_headers(&parts.headers);
    Response::from_parts(parts, boxed(body))
}

fn path_and_query(req: &Request<Incoming>) -> String {
    req.uri()
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned())
}

/// Reads a request body whole when it fits the tee limit; longer ones stream through.
async fn outgoing(body: Incoming, limit: usize) -> Result<Outgoing, ProxyError> {
    Ok(
        match read_prefix(body, limit)
            .await
            .map_err(ProxyError::RuntimeBody)?
        {
            Prefix::Complete { data, trailers } => Outgoing::Replay(Replay::new(data, trailers)),
            Prefix::Overflow { chunks, rest } => {
                Outgoing::Stream(boxed(TeeBody::new(chunks, rest, 0, None)))
            }
        },
    )
}

/// Anything that is not teed: `init/error`, unknown paths and methods.
async fn passthrough(
    state: &State,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let pq = path_and_query(&req);
    let (parts, body) = req.into_parts();
    let body = outgoing(body, state.tee_limit).await?;
    let headers = end_to_end_headers(&parts.headers);
    let resp = state
        .upstream
        .send(parts.method, &pq, headers, body, Retry::ConnectOnly)
        .await?;
    Ok(relay(resp))
}

/// `GET /next`: fetch the event, show it to the interceptor, block or hand it over.
async fn next(state: &State, req: Request<Incoming>) -> Result<Response<ProxyBody>, ProxyError> {
    let pq = path_and_query(&req);
    let (parts, body) = req.into_parts();
    let Outgoing::Replay(body) = outgoing(body, state.tee_limit).await? else {
        // The body of a GET /next means nothing to the Runtime API; one this large is not a
        // runtime talking, and keeping it for a re-fetch after a block is not worth it.
        return Err(ProxyError::UnexpectedBody { path: pq });
    };
    let headers = end_to_end_headers(&parts.headers);
    loop {
        let resp = state
            .upstream
            .send(
                parts.method.clone(),
                &pq,
                headers.clone(),
                Outgoing::Replay(body.clone()),
                Retry::AnyError,
            )
            .await?;
        if resp.status() != StatusCode::OK {
            return Ok(relay(resp));
        }
        let (mut rparts, rbody) = resp.into_parts();
        let event = rbody
            .collect()
            .await
            .map_err(ProxyError::UpstreamBody)?
            .to_bytes();
        rparts.headers = end_to_end_headers(&rparts.headers);
        let id_header = rparts.headers.get(REQUEST_ID_HEADER).cloned();
        let seen = EventSeen {
            request_id: id_header
                .as_ref()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default(),
            headers: rparts.headers.clone(),
            body: event.clone(),
        };
        let request_id = seen.request_id.clone();
        let interceptor = &*state.interceptor;
        let action = guarded(
            "on_event",
            || interceptor.on_event(seen),
            EventAction::Forward,
        )
        .await;
        match action {
            EventAction::Forward => {
                return Ok(Response::from_parts(
                    rparts,
                    boxed(Replay::new(event, None)),
                ));
            }
            EventAction::Block { error_type, body } => {
                block(
                    state,
                    id_header.as_ref(),
                    &request_id,
                    &error_type,
                    body,
                    &headers,
                )
                .await?;
                tracing::info!(
                    request_id,
                    error_type,
                    "event blocked; fetching the next one"
                );
            }
        }
    }
}

/// Posts the interceptor's error upstream for a blocked event.
async fn block(
    state: &State,
    id_header: Option<&HeaderValue>,
    request_id: &str,
    error_type: &str,
    body: Bytes,
    runtime_headers: &HeaderMap,
) -> Result<(), ProxyError> {
    let fail = |reason: String| ProxyError::Enforce {
        request_id: request_id.to_owned(),
        reason,
    };
    let Some(id) = id_header.filter(|v| !v.is_empty()) else {
        return Err(fail(format!("upstream sent no {REQUEST_ID_HEADER}")));
    };
    let path = format!(
        "{INVOCATION_PREFIX}{}/{ERROR_SEGMENT}",
        encode_segment(id.as_bytes())
    );
    let mut headers = HeaderMap::new();
    // Keep the runtime's identity (User-Agent) on the post made in its name.
    if let Some(ua) = runtime_headers.get(header::USER_AGENT) {
        headers.insert(header::USER_AGENT, ua.clone());
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        HeaderName::from_static(ERROR_TYPE_HEADER),
        HeaderValue::from_str(error_type).map_err(|e| fail(format!("error type: {e}")))?,
    );
    let resp = state
        .upstream
        .send(
            Method::POST,
            &path,
            headers,
            Outgoing::Replay(Replay::new(body, None)),
            Retry::ConnectOnly,
        )
        .await?;
    let status = resp.status();
    // Drain so the pooled connection can be reused.
    let _ = resp.into_body().collect().await;
    if !status.is_success() {
        return Err(fail(format!(
            "upstream answered {status} to the error post"
        )));
    }
    notify_forwarded(state, request_id);
    Ok(())
}

/// Percent-encodes everything but RFC 3986 unreserved bytes, so any request id is one segment.
fn encode_segment(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for &b in raw {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `POST …/{id}/response` or `…/{id}/error`.
async fn result(
    state: &State,
    req: Request<Incoming>,
    request_id: String,
    error: bool,
) -> Result<Response<ProxyBody>, ProxyError> {
    let pq = path_and_query(&req);
    let (parts, body) = req.into_parts();
    let kind = if error {
        ResultKind::Error {
            error_type: parts
                .headers
                .get(ERROR_TYPE_HEADER)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        }
    } else {
        ResultKind::Response
    };
    let streamed = !error
        && parts.headers.get(RESPONSE_MODE_HEADER).is_some_and(|v| {
            v.as_bytes()
                .eq_ignore_ascii_case(RESPONSE_MODE_STREAMING.as_bytes())
        });
    let mut headers = end_to_end_headers(&parts.headers);
    let (prefix, rest) = if streamed {
        (Vec::new(), body)
    } else {
        match read_prefix(body, state.tee_limit)
            .await
            .map_err(ProxyError::RuntimeBody)?
        {
            Prefix::Complete { data, trailers } => {
                return buffered_result(
                    state, parts, &pq, headers, request_id, kind, data, trailers,
                )
                .await;
            }
            Prefix::Overflow { chunks, rest } => (chunks, rest),
        }
    };

    // Streamed (or over the limit): pass it on chunk by chunk, judge what was teed afterwards.
    if streamed
        && !headers.contains_key(header::TRAILER)
        && let Ok(names) =
            HeaderValue::from_str(&format!("{ERROR_TYPE_HEADER}, {ERROR_BODY_TRAILER}"))
    {
        headers.insert(header::TRAILER, names);
    }
    let (done, teed) = oneshot::channel();
    let body = boxed(TeeBody::new(prefix, rest, state.tee_limit, Some(done)));
    let sent = state
        .upstream
        .send(
            parts.method,
            &pq,
            headers.clone(),
            Outgoing::Stream(body),
            Retry::ConnectOnly,
        )
        .await;
    // The body is finished or dropped by now or soon: hyper drops it when the exchange ends.
    let outcome = teed.await.unwrap_or_default();
    if !outcome.complete {
        tracing::warn!(request_id, "streamed result broke off before its end");
    }
    let kind = match stream_error_type(outcome.trailers.as_ref()) {
        Some(error_type) => ResultKind::Error {
            error_type: Some(error_type),
        },
        None => kind,
    };
    let seen = ResultSeen {
        request_id: request_id.clone(),
        kind,
        headers: parts.headers,
        body: outcome.data,
        trailers: outcome.trailers,
        streamed,
        truncated: outcome.truncated,
    };
    let interceptor = &*state.interceptor;
    let action = guarded(
        "on_result",
        || interceptor.on_result(seen),
        ResponseAction::Forward,
    )
    .await;
    if let ResponseAction::Replace { .. } = action {
        tracing::warn!(
            request_id,
            "a streamed or over-limit result cannot be replaced; it was forwarded"
        );
    }
    // Any outcome ends the exchange (a 413, a 400, a failed post too): the lifecycle must not
    // wait for more.
    notify_forwarded(state, &request_id);
    Ok(relay(sent?))
}

/// The error type a stream's trailers report, if any.
fn stream_error_type(trailers: Option<&HeaderMap>) -> Option<String> {
    trailers?
        .get(ERROR_TYPE_HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// A result that fit the tee limit: judged before it goes upstream, replaceable.
#[allow(clippy::too_many_arguments)]
async fn buffered_result(
    state: &State,
    parts: http::request::Parts,
    pq: &str,
    mut headers: HeaderMap,
    request_id: String,
    kind: ResultKind,
    data: Bytes,
    trailers: Option<HeaderMap>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let seen = ResultSeen {
        request_id: request_id.clone(),
        kind,
        headers: parts.headers,
        body: data.clone(),
        trailers: trailers.clone(),
        streamed: false,
        truncated: false,
    };
    let interceptor = &*state.interceptor;
    let action = guarded(
        "on_result",
        || interceptor.on_result(seen),
        ResponseAction::Forward,
    )
    .await;
    let resp = match action {
        ResponseAction::Forward => {
            if let Some(t) = &trailers
                && !headers.contains_key(header::TRAILER)
                && let Some(names) = declare(t)
            {
                headers.insert(header::TRAILER, names);
            }
            state
                .upstream
                .send(
                    parts.method,
                    pq,
                    headers,
                    Outgoing::Replay(Replay::new(data, trailers)),
                    Retry::ConnectOnly,
                )
                .await?
        }
        ResponseAction::Replace { error_type, body } => {
            tracing::info!(request_id, error_type, "result replaced by an error");
            let mut err_headers = HeaderMap::new();
            if let Some(ua) = headers.get(header::USER_AGENT) {
                err_headers.insert(header::USER_AGENT, ua.clone());
            }
            err_headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            let error_type =
                HeaderValue::from_str(&error_type).map_err(|e| ProxyError::Enforce {
                    request_id: request_id.clone(),
                    reason: format!("replacement error type: {e}"),
                })?;
            err_headers.insert(HeaderName::from_static(ERROR_TYPE_HEADER), error_type);
            // The id came from the runtime's path, so it is already a valid segment.
            let path = format!("{INVOCATION_PREFIX}{request_id}/{ERROR_SEGMENT}");
            state
                .upstream
                .send(
                    Method::POST,
                    &path,
                    err_headers,
                    Outgoing::Replay(Replay::new(body, None)),
                    Retry::ConnectOnly,
                )
                .await?
        }
    };
    // Any answer ends the exchange, whatever its status.
    notify_forwarded(state, &request_id);
    Ok(relay(resp))
}

/// A `Trailer` value naming the fields of `trailers`.
fn declare(trailers: &HeaderMap) -> Option<HeaderValue> {
    let names: Vec<&str> = trailers.keys().map(HeaderName::as_str).collect();
    HeaderValue::from_str(&names.join(", ")).ok()
}

fn notify_forwarded(state: &State, request_id: &str) {
    let interceptor = &*state.interceptor;
    if std::panic::catch_unwind(AssertUnwindSafe(|| {
        interceptor.on_result_forwarded(request_id)
    }))
    .is_err()
    {
        tracing::error!(request_id, "interceptor on_result_forwarded panicked");
    }
}

/// Runs an interceptor hook; a panic (building or polling its future) yields `fallback`.
async fn guarded<'a, T>(
    hook: &'static str,
    call: impl FnOnce() -> super::BoxFuture<'a, T>,
    fallback: T,
) -> T {
    let fut = match std::panic::catch_unwind(AssertUnwindSafe(call)) {
        Ok(fut) => fut,
        Err(_) => {
            tracing::error!(hook, "interceptor panicked; forwarding");
            return fallback;
        }
    };
    match (CatchUnwind { fut }).await {
        Some(v) => v,
        None => {
            tracing::error!(hook, "interceptor panicked; forwarding");
            fallback
        }
    }
}

/// Polls a boxed future, turning a panic into `None`.
struct CatchUnwind<'a, T> {
    fut: super::BoxFuture<'a, T>,
}

impl<T> Future for CatchUnwind<'_, T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let fut = &mut self.fut;
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Some(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let inv = |s: &str| format!("{INVOCATION_PREFIX}{s}");
        assert_eq!(Route::of(&Method::GET, NEXT_PATH), Route::Next);
        assert_eq!(Route::of(&Method::POST, NEXT_PATH), Route::Other);
        assert_eq!(
            Route::of(&Method::POST, &inv("abc/response")),
            Route::Result {
                request_id: "abc".into(),
                error: false
            }
        );
        assert_eq!(
            Route::of(&Method::POST, &inv("abc/error")),
            Route::Result {
                request_id: "abc".into(),
                error: true
            }
        );
        assert_eq!(Route::of(&Method::POST, &inv("/response")), Route::Other);
        assert_eq!(Route::of(&Method::POST, &inv("a/b/response")), Route::Other);
        assert_eq!(Route::of(&Method::POST, &inv("a/other")), Route::Other);
        assert_eq!(Route::of(&Method::GET, &inv("a/response")), Route::Other);
        assert_eq!(
            Route::of(&Method::POST, "/2018-06-01/runtime/init/error"),
            Route::Other
        );
    }

    #[test]
    fn request_ids_are_encoded_as_one_segment() {
        assert_eq!(encode_segment(b"8476a536-e9f4-11e8"), "8476a536-e9f4-11e8");
        assert_eq!(encode_segment(b"a/b c\xff"), "a%2Fb%20c%FF");
    }
}
