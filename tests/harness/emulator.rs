//! A small, test-only emulator of the Lambda Runtime, Extensions and Telemetry APIs.
//!
//! Why not the `lambda-simulator` crate (0.2.0): it carries payloads as `serde_json::Value` both
//! ways. The event is re-serialised (keys reordered, numbers and whitespace reformatted), a
//! non-JSON or non-UTF-8 result is refused with 400, and the stored result is a `Value`, so the
//! central monitor-mode check — the caller gets exactly the bytes the function produced — cannot
//! be expressed with it. Its other gaps (registration closing at the runtime's first `/next`,
//! invocations not serialised against the extensions' post-invoke phase, `graceful_shutdown` not
//! waiting for extensions, spawned env overriding PATH, `init/error`/`exit/error` returning 404,
//! JSON content type required on registration) each need a workaround in every test; this file
//! is smaller than those workarounds together and builds from crates the workspace already has.
//!
//! What it does: bytes in, bytes out, every header kept; one invocation at a time, the next one
//! only after every INVOKE-registered extension is back at `/event/next` (the harness drives that);
//! telemetry (platform events plus the log lines the harness feeds) is POSTed to subscribers when
//! the harness flushes, at the points where Lambda would have delivered it. Freezing (SIGSTOP) is
//! done by the harness, which knows the pids.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Lambda's synchronous response limit: 6 MiB.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;
const RUNTIME_PREFIX: &str = "/2018-06-01/runtime";
const EXTENSION_PREFIX: &str = "/2020-01-01/extension";
const TELEMETRY_PATH: &str = "/2022-07-01/telemetry";

/// Function identity the emulator reports (registration body, event headers, telemetry).
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub name: String,
    /// `AWS_LAMBDA_FUNCTION_VERSION`.
    pub version: String,
    /// `_HANDLER`.
    pub handler: String,
    /// Region, account and name make up the ARN.
    pub region: String,
    /// Account id in the ARN.
    pub account_id: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`.
    pub memory_mb: u32,
    /// `Content-Type` of `/next` answers. Not JSON by default, so awslambdaric hands handlers bytes.
    pub event_content_type: String,
}

impl FunctionInfo {
    /// The function ARN.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account_id, self.name
        )
    }
}

impl Default for FunctionInfo {
    fn default() -> Self {
        Self {
            name: "gavel-e2e".into(),
            version: "$LATEST".into(),
            handler: "handler.echo".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            memory_mb: 128,
            event_content_type: "text/plain".into(),
        }
    }
}

/// What the runtime (or a proxy speaking for it) posted for one request id.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `true` for `/error`, `false` for `/response`.
    pub is_error: bool,
    /// Exact body bytes.
    pub body: Bytes,
    /// Request headers of the post (content type, `Lambda-Runtime-Function-Error-Type`, …).
    pub headers: HeaderMap,
    /// HTTP trailers (streaming responses put errors there).
    pub trailers: Option<HeaderMap>,
    /// When the post arrived.
    pub at: Instant,
}

/// A registered extension as the emulator sees it.
#[derive(Debug, Clone)]
pub struct ExtensionRecord {
    /// `Lambda-Extension-Identifier` handed out.
    pub id: String,
    /// `Lambda-Extension-Name` sent.
    pub name: String,
    /// Events registered for (`INVOKE`, `SHUTDOWN`).
    pub events: Vec<String>,
    /// Number of `/event/next` calls so far.
    pub next_calls: u64,
    /// Currently parked in `/event/next` with nothing queued.
    pub waiting: bool,
    queue: VecDeque<Value>,
}

/// An `init/error` or `exit/error` post.
#[derive(Debug, Clone)]
pub struct ReportedError {
    /// Path it was posted to (`…/runtime/init/error`, `…/extension/exit/error`, …).
    pub path: String,
    /// `Lambda-Extension-Function-Error-Type` / `Lambda-Runtime-Function-Error-Type` header.
    pub error_type: Option<String>,
    /// Body, lossily decoded.
    pub body: String,
}

/// A telemetry subscription (`PUT /2022-07-01/telemetry`).
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Subscribing extension id.
    pub extension_id: String,
    /// The request body as sent.
    pub request: Value,
    uri: String,
    types: Vec<String>,
    buffer: Vec<Value>,
}

/// One POST of a telemetry batch to a subscriber.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Records in the batch.
    pub records: usize,
    /// Status answered, or the transport error.
    pub result: Result<u16, String>,
    /// Time the subscriber took to answer.
    pub took: Duration,
}

#[derive(Default)]
struct State {
    registration_open: bool,
    runtime_next_calls: u64,
    runtime_waiting: bool,
    runtime_queue: VecDeque<(String, Bytes, HeaderMap)>,
    outcomes: HashMap<String, Outcome>,
    in_flight: HashMap<String, Instant>,
    extensions: Vec<ExtensionRecord>,
    errors: Vec<ReportedError>,
    subscriptions: Vec<Subscription>,
    deliveries: Vec<Delivery>,
}

struct Shared {
    info: FunctionInfo,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking handler must not wedge every other test assertion.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let out = f(&mut self.lock());
        self.changed.send_modify(|v| *v += 1);
        out
    }

    /// Waits until `f` yields `Some`, re-checking after every state change (race-free: we
    /// subscribe before checking). `None` on timeout.
    async fn wait_for<T>(
        &self,
        timeout: Option<Duration>,
        mut f: impl FnMut(&mut State) -> Option<T>,
    ) -> Option<T> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        let mut rx = self.changed.subscribe();
        loop {
            let found = {
                let mut st = self.lock();
                f(&mut st)
            };
            if let Some(v) = found {
                self.changed.send_modify(|v| *v += 1);
                return Some(v);
            }
            match deadline {
                Some(d) => match tokio::time::timeout_at(d, rx.changed()).await {
                    Ok(Ok(())) => {}
                    _ => return None,
                },
                None => {
                    if rx.changed().await.is_err() {
                        return None;
                    }
                }
            }
        }
    }
}

/// The emulator: an HTTP server on `127.0.0.1:<random>` plus the state tests inspect.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Emulator {
    /// Binds a random loopback port and serves until dropped.
    pub async fn start(info: FunctionInfo) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            info,
            state: Mutex::new(State {
                registration_open: true,
                ..State::default()
            }),
            changed: watch::channel(0).0,
        });
        let s = shared.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, Infallible>(route(&s, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(Self {
            shared,
            addr,
            server,
        })
    }

    /// `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        self.addr.to_string()
    }

    /// Listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Function identity in use.
    pub fn info(&self) -> &FunctionInfo {
        &self.shared.info
    }

    /// Registered extensions.
    pub fn extensions(&self) -> Vec<ExtensionRecord> {
        self.shared.lock().extensions.clone()
    }

    /// `init/error` and `exit/error` posts, runtime and extensions alike.
    pub fn reported_errors(&self) -> Vec<ReportedError> {
        self.shared.lock().errors.clone()
    }

    /// Telemetry subscriptions.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.shared.lock().subscriptions.clone()
    }

    /// Every telemetry POST made so far and how the subscriber answered.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    /// How many times the runtime called `/next`.
    pub fn runtime_next_calls(&self) -> u64 {
        self.shared.lock().runtime_next_calls
    }

    /// Waits until `n` extensions registered, or an error was reported, or the timeout.
    pub async fn wait_registered(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_for(Some(timeout), |s| {
                (s.extensions.len() >= n || !s.errors.is_empty()).then_some(())
            })
            .await
            .is_some()
            && self.shared.lock().errors.is_empty()
    }

    /// Init is complete when the runtime is parked in `/next` and every extension in
    /// `/event/next`. Returns `false` on timeout or once an init error was reported.
    pub async fn wait_init_done(&self, timeout: Duration) -> bool {
        self.shared
            .wait_for(Some(timeout), |s| {
                let done = s.runtime_waiting && s.extensions.iter().all(|e| e.waiting);
                (done || !s.errors.is_empty()).then_some(done)
            })
            .await
            .unwrap_or(false)
    }

    /// Queues an invocation: INVOKE to every extension registered for it, the event to the
    /// runtime. Returns the request id.
    pub fn enqueue(&self, payload: Bytes, deadline_ms: u64, extra_headers: HeaderMap) -> String {
        let info = &self.shared.info;
        let request_id = uuid_v4();
        let trace = format!("Root=1-{:08x}-{}", now_secs(), &random_hex(12));
        let event = json!({
            "eventType": "INVOKE",
            "deadlineMs": deadline_ms,
            "requestId": request_id,
            "invokedFunctionArn": info.arn(),
            "tracing": {"type": "X-Amzn-Trace-Id", "value": trace},
        });
        let mut headers = extra_headers;
        let put = |h: &mut HeaderMap, k: &'static str, v: &str| {
            if let Ok(v) = v.parse() {
                h.insert(k, v);
            }
        };
        put(&mut headers, "lambda-runtime-aws-request-id", &request_id);
        put(
            &mut headers,
            "lambda-runtime-deadline-ms",
            &deadline_ms.to_string(),
        );
        put(
            &mut headers,
            "lambda-runtime-invoked-function-arn",
            &info.arn(),
        );
        put(&mut headers, "lambda-runtime-trace-id", &trace);
        put(&mut headers, "content-type", &info.event_content_type);
        let id = request_id.clone();
        self.shared.update(|s| {
            s.in_flight.insert(id.clone(), Instant::now());
            for e in &mut s.extensions {
                if e.events.iter().any(|t| t == "INVOKE") {
                    e.queue.push_back(event.clone());
                }
            }
            s.runtime_queue.push_back((id, payload, headers));
        });
        request_id
    }

    /// Waits for the runtime's `/response` or `/error` for `request_id`.
    pub async fn wait_outcome(&self, request_id: &str, timeout: Duration) -> Option<Outcome> {
        self.shared
            .wait_for(Some(timeout), |s| s.outcomes.get(request_id).cloned())
            .await
    }

    /// Waits until every extension registered for INVOKE is back in `/event/next` with its
    /// queue empty: Lambda's signal that the post-invoke phase is over.
    pub async fn wait_extensions_ready(&self, timeout: Duration) -> bool {
        self.shared
            .wait_for(Some(timeout), |s| {
                s.extensions
                    .iter()
                    .filter(|e| e.events.iter().any(|t| t == "INVOKE"))
                    .all(|e| e.waiting && e.queue.is_empty())
                    .then_some(())
            })
            .await
            .is_some()
    }

    /// Sends SHUTDOWN to every extension registered for it.
    pub fn send_shutdown(&self, reason: &str, deadline_ms: u64) {
        let event =
            json!({"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline_ms});
        self.shared.update(|s| {
            for e in &mut s.extensions {
                if e.events.iter().any(|t| t == "SHUTDOWN") {
                    e.queue.push_back(event.clone());
                }
            }
        });
    }

    /// Buffers a telemetry record of `category` (`platform`, `function`, `extension`) for every
    /// subscriber that asked for it.
    pub fn emit(&self, category: &str, event_type: &str, record: Value) {
        let item = json!({"time": rfc3339_now(), "type": event_type, "record": record});
        self.shared.update(|s| {
            for sub in &mut s.subscriptions {
                if sub.types.iter().any(|t| t == category) {
                    sub.buffer.push(item.clone());
                }
            }
        });
    }

    /// POSTs every subscriber's buffered records (one batch each), as Lambda does when its
    /// buffering timeout fires. Sandbox hostnames are mapped to loopback.
    pub async fn flush_telemetry(&self) {
        let batches: Vec<(String, Vec<Value>)> = self.shared.update(|s| {
            s.subscriptions
                .iter_mut()
                .filter(|sub| !sub.buffer.is_empty())
                .map(|sub| (sub.uri.clone(), std::mem::take(&mut sub.buffer)))
                .collect()
        });
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        for (uri, records) in batches {
            let n = records.len();
            let body = Bytes::from(serde_json::to_vec(&records).unwrap_or_default());
            let started = Instant::now();
            let result = match Request::post(uri.as_str())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(body))
            {
                Err(e) => Err(format!("bad subscriber URI {uri}: {e}")),
                Ok(req) => {
                    match tokio::time::timeout(Duration::from_secs(2), client.request(req)).await {
                        Err(_) => Err(format!("no answer from {uri} within 2 s")),
                        Ok(Err(e)) => Err(format!("POST {uri}: {e}")),
                        Ok(Ok(resp)) => Ok(resp.status().as_u16()),
                    }
                }
            };
            let took = started.elapsed();
            self.shared.update(|s| {
                s.deliveries.push(Delivery {
                    records: n,
                    result,
                    took,
                })
            });
        }
    }
}

fn response(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({"errorType": error_type, "errorMessage": message}).to_string();
    response(status, body)
}

fn accepted() -> Response<Full<Bytes>> {
    response(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn route(s: &Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let headers = req.headers().clone();
    let collected = match req.into_body().collect().await {
        Ok(c) => c,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, "BadRequest", &e.to_string()),
    };
    let trailers = collected.trailers().cloned();
    let body = collected.to_bytes();

    if let Some(rest) = path.strip_prefix(RUNTIME_PREFIX) {
        return runtime_api(s, &method, rest, headers, body, trailers).await;
    }
    if let Some(rest) = path.strip_prefix(EXTENSION_PREFIX) {
        return extensions_api(s, &method, &path, rest, headers, body).await;
    }
    if path == TELEMETRY_PATH && method == Method::PUT {
        return subscribe(s, &headers, &body);
    }
    api_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("{method} {path} is not emulated"),
    )
}

async fn runtime_api(
    s: &Arc<Shared>,
    method: &Method,
    rest: &str,
    headers: HeaderMap,
    body: Bytes,
    trailers: Option<HeaderMap>,
) -> Response<Full<Bytes>> {
    if rest == "/invocation/next" && method == Method::GET {
        s.update(|st| {
            st.runtime_next_calls += 1;
            // Like Lambda, registration is over once the runtime is ready.
            st.registration_open = false;
            st.runtime_waiting = true;
        });
        let next = s
            .wait_for(None, |st| {
                let (_, payload, headers) = st.runtime_queue.pop_front()?;
                st.runtime_waiting = false;
                Some((payload, headers))
            })
            .await;
        let Some((payload, event_headers)) = next else {
            return api_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ShuttingDown",
                "emulator gone",
            );
        };
        let mut r = Response::new(Full::new(payload));
        *r.headers_mut() = event_headers;
        return r;
    }
    if rest == "/init/error" && method == Method::POST {
        s.update(|st| {
            st.errors.push(ReportedError {
                path: format!("{RUNTIME_PREFIX}{rest}"),
                error_type: header_str(&headers, "lambda-runtime-function-error-type"),
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        });
        return accepted();
    }
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    if let ["invocation", id, kind @ ("response" | "error")] = parts.as_slice() {
        if method != Method::POST {
            return api_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", rest);
        }
        let is_error = *kind == "error";
        if !is_error && body.len() > MAX_RESPONSE_BYTES {
            // Lambda refuses the result and the caller gets an error instead.
            let msg = format!(
                "Response payload size ({} bytes) exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
                body.len()
            );
            let doc = json!({"errorType": "Function.ResponseSizeTooLarge", "errorMessage": msg});
            // The runtime's post is refused, but the caller still gets Lambda's error.
            let _ = record_outcome(
                s,
                id,
                true,
                Bytes::from(doc.to_string()),
                HeaderMap::new(),
                None,
            );
            return api_error(StatusCode::PAYLOAD_TOO_LARGE, "RequestEntityTooLarge", &msg);
        }
        return match record_outcome(s, id, is_error, body, headers, trailers) {
            Ok(()) => accepted(),
            Err((error_type, msg)) => api_error(StatusCode::BAD_REQUEST, error_type, &msg),
        };
    }
    api_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!("{method} {RUNTIME_PREFIX}{rest} is not emulated"),
    )
}

fn record_outcome(
    s: &Arc<Shared>,
    id: &str,
    is_error: bool,
    body: Bytes,
    headers: HeaderMap,
    trailers: Option<HeaderMap>,
) -> Result<(), (&'static str, String)> {
    s.update(|st| {
        if st.in_flight.remove(id).is_none() {
            return Err(if st.outcomes.contains_key(id) {
                (
                    "InvalidStateTransition",
                    format!("a result for {id} was already posted"),
                )
            } else {
                ("InvalidRequestID", format!("unknown request id {id}"))
            });
        }
        st.outcomes.insert(
            id.to_owned(),
            Outcome {
                is_error,
                body,
                headers,
                trailers,
                at: Instant::now(),
            },
        );
        Ok(())
    })
}

async fn extensions_api(
    s: &Arc<Shared>,
    method: &Method,
    path: &str,
    rest: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Full<Bytes>> {
    match (method, rest) {
        (&Method::POST, "/register") => register(s, &headers, &body),
        (&Method::GET, "/event/next") => {
            let Some(id) = header_str(&headers, "lambda-extension-identifier") else {
                return api_error(
                    StatusCode::FORBIDDEN,
                    "Extension.MissingExtensionIdentifier",
                    "missing Lambda-Extension-Identifier",
                );
            };
            let known = s.update(|st| {
                let Some(e) = st.extensions.iter_mut().find(|e| e.id == id) else {
                    return false;
                };
                e.next_calls += 1;
                e.waiting = true;
                true
            });
            if !known {
                return api_error(
                    StatusCode::FORBIDDEN,
                    "Extension.UnknownExtensionIdentifier",
                    &format!("unknown extension id {id}"),
                );
            }
            let event = s
                .wait_for(None, |st| {
                    let e = st.extensions.iter_mut().find(|e| e.id == id)?;
                    let ev = e.queue.pop_front()?;
                    e.waiting = false;
                    Some(ev)
                })
                .await
                .unwrap_or_else(|| json!({"eventType": "SHUTDOWN", "shutdownReason": "failure"}));
            let mut r = response(StatusCode::OK, event.to_string());
            if let Ok(v) = uuid_v4().parse() {
                r.headers_mut()
                    .insert("lambda-extension-event-identifier", v);
            }
            r
        }
        (&Method::POST, "/init/error" | "/exit/error") => {
            s.update(|st| {
                st.errors.push(ReportedError {
                    path: path.to_owned(),
                    error_type: header_str(&headers, "lambda-extension-function-error-type"),
                    body: String::from_utf8_lossy(&body).into_owned(),
                })
            });
            accepted()
        }
        _ => api_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{method} {path} is not emulated"),
        ),
    }
}

fn register(s: &Arc<Shared>, headers: &HeaderMap, body: &[u8]) -> Response<Full<Bytes>> {
    let Some(name) = header_str(headers, "lambda-extension-name") else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "missing Lambda-Extension-Name",
        );
    };
    let events: Vec<String> = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v["events"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        Err(e) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                &format!("body: {e}"),
            );
        }
    };
    if let Some(bad) = events.iter().find(|e| *e != "INVOKE" && *e != "SHUTDOWN") {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidEventType",
            &format!("unknown event {bad}"),
        );
    }
    let id = uuid_v4();
    let ok = s.update(|st| {
        if !st.registration_open {
            return false;
        }
        st.extensions.push(ExtensionRecord {
            id: id.clone(),
            name,
            events,
            next_calls: 0,
            waiting: false,
            queue: VecDeque::new(),
        });
        true
    });
    if !ok {
        return api_error(
            StatusCode::FORBIDDEN,
            "Extension.RegistrationClosed",
            "registration is only allowed during init",
        );
    }
    let info = &s.info;
    let body = json!({"functionName": info.name, "functionVersion": info.version, "handler": info.handler, "accountId": info.account_id});
    let mut r = response(StatusCode::OK, body.to_string());
    if let Ok(v) = id.parse() {
        r.headers_mut().insert("lambda-extension-identifier", v);
    }
    r
}

fn subscribe(s: &Arc<Shared>, headers: &HeaderMap, body: &[u8]) -> Response<Full<Bytes>> {
    let Some(id) = header_str(headers, "lambda-extension-identifier") else {
        return api_error(
            StatusCode::FORBIDDEN,
            "Extension.MissingExtensionIdentifier",
            "missing Lambda-Extension-Identifier",
        );
    };
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "ValidationError",
                &format!("body: {e}"),
            );
        }
    };
    let Some(uri) = req["destination"]["URI"].as_str() else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "ValidationError",
            "destination.URI missing",
        );
    };
    // On Lambda the sandbox resolves `sandbox.localdomain` (and `sandbox`) to itself.
    let uri = uri
        .replace("://sandbox.localdomain:", "://127.0.0.1:")
        .replace("://sandbox:", "://127.0.0.1:");
    let types = req["types"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let known = s.update(|st| {
        if !st.extensions.iter().any(|e| e.id == id) {
            return false;
        }
        st.subscriptions.retain(|sub| sub.extension_id != id);
        st.subscriptions.push(Subscription {
            extension_id: id.clone(),
            request: req.clone(),
            uri,
            types,
            buffer: Vec::new(),
        });
        true
    });
    if !known {
        return api_error(
            StatusCode::FORBIDDEN,
            "Extension.UnknownExtensionIdentifier",
            &format!("unknown extension id {id}"),
        );
    }
    response(StatusCode::OK, "OK")
}

fn random_bytes<const N: usize>() -> [u8; N] {
    use std::io::Read;
    let mut b = [0u8; N];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_err()
    {
        // Uniqueness is all tests need: fall back to time + a process-wide counter.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as u128;
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        for (i, x) in (t ^ (n << 64))
            .to_le_bytes()
            .iter()
            .cycle()
            .take(N)
            .enumerate()
        {
            b[i] = *x;
        }
    }
    b
}

fn random_hex(n: usize) -> String {
    random_bytes::<32>()
        .iter()
        .take(n)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random RFC 4122 version-4 UUID, as Lambda's request ids are.
pub fn uuid_v4() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch (for `deadlineMs`).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Current UTC time as `YYYY-MM-DDThh:mm:ss.mmmZ` (telemetry `time`).
pub fn rfc3339_now() -> String {
    let ms = now_ms();
    let (secs, millis) = (ms / 1000, ms % 1000);
    let (days, sod) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}
