//! The stand-ins around the proxy under test: a fake upstream Runtime API that serves queued
//! events and records what it receives, a recording interceptor, and a client playing the runtime.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use gavel::proxy::{
    BoxFuture, EventAction, EventSeen, Interceptor, Proxy, ProxyConfig, ResponseAction, ResultSeen,
};
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type TestBody = BoxBody<Bytes, BoxError>;

pub const NEXT: &str = "/2018-06-01/runtime/invocation/next";
/// Bounds every exchange so a hang fails the test instead of stalling the suite.
pub const LIMIT: Duration = Duration::from_secs(20);

pub fn inv(id: &str, what: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{id}/{what}")
}

pub fn full(b: impl Into<Bytes>) -> TestBody {
    Full::new(b.into()).map_err(|e| match e {}).boxed()
}

/// Every byte value, repeated: no UTF-8 anywhere.
pub fn binary(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i * 7 % 256) as u8)
        .collect::<Vec<u8>>()
        .into()
}

// ---------------------------------------------------------------- fake upstream Runtime API

/// What the fake Runtime API received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub trailers: Option<HeaderMap>,
}

#[derive(Default)]
pub struct FakeState {
    pub events: Mutex<VecDeque<(HeaderMap, Bytes)>>,
    pub event_ready: Notify,
    pub received: Mutex<Vec<Received>>,
    /// Each data chunk of a POST as it arrives (to see streaming is not buffered).
    pub chunks: Mutex<Option<mpsc::UnboundedSender<Bytes>>>,
    /// Drop the connection of the next `/next` instead of answering (a reset after a thaw).
    pub reset_next_once: AtomicBool,
}

pub struct FakeApi {
    pub addr: SocketAddr,
    pub state: Arc<FakeState>,
}

impl FakeApi {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(FakeState::default());
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| fake_handle(st.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Self { addr, state }
    }

    pub fn upstream(&self) -> String {
        self.addr.to_string()
    }

    pub fn push_event(&self, id: &str, body: impl Into<Bytes>, extra: &[(&str, &[u8])]) {
        let mut h = HeaderMap::new();
        h.insert(
            "lambda-runtime-aws-request-id",
            HeaderValue::from_str(id).unwrap(),
        );
        h.insert(
            "lambda-runtime-deadline-ms",
            HeaderValue::from_static("1764446400000"),
        );
        h.insert(
            "lambda-runtime-invoked-function-arn",
            HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:f"),
        );
        h.insert(
            "lambda-runtime-trace-id",
            HeaderValue::from_static("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1"),
        );
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        for (k, v) in extra {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        self.state
            .events
            .lock()
            .unwrap()
            .push_back((h, body.into()));
        self.state.event_ready.notify_one();
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn posts(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.method == Method::POST)
            .collect()
    }

    pub fn chunk_feed(&self) -> mpsc::UnboundedReceiver<Bytes> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.state.chunks.lock().unwrap() = Some(tx);
        rx
    }
}

pub async fn fake_handle(
    st: Arc<FakeState>,
    req: Request<Incoming>,
) -> Result<Response<TestBody>, BoxError> {
    let (parts, mut body) = req.into_parts();
    let mut data = Vec::new();
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Some(d) = frame.data_ref() {
            if let Some(tx) = &*st.chunks.lock().unwrap() {
                let _ = tx.send(d.clone());
            }
            data.extend_from_slice(d);
        } else if let Some(t) = frame.trailers_ref() {
            trailers = Some(t.clone());
        }
    }
    let path = parts.uri.path().to_owned();
    st.received.lock().unwrap().push(Received {
        method: parts.method.clone(),
        path_and_query: parts.uri.path_and_query().unwrap().as_str().to_owned(),
        headers: parts.headers,
        body: data.into(),
        trailers,
    });
    if parts.method == Method::GET && path == NEXT {
        if st.reset_next_once.swap(false, Ordering::SeqCst) {
            // An error from the service makes hyper close the connection unanswered.
            return Err("simulated reset".into());
        }
        let (headers, body) = loop {
            if let Some(e) = st.events.lock().unwrap().pop_front() {
                break e;
            }
            st.event_ready.notified().await;
        };
        let mut resp = Response::new(full(body));
        *resp.headers_mut() = headers;
        return Ok(resp);
    }
    if path.starts_with("/2018-06-01/runtime/") && parts.method == Method::POST {
        let mut resp = Response::new(full(r#"{"status":"OK"}"#));
        *resp.status_mut() = StatusCode::ACCEPTED;
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        resp.headers_mut().insert(
            "x-upstream",
            HeaderValue::from_bytes(b"\xfe\x80ok").unwrap(),
        );
        return Ok(resp);
    }
    let mut resp = Response::new(full("not found"));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    Ok(resp)
}

// ---------------------------------------------------------------- recording interceptor

#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<EventSeen>>,
    pub results: Mutex<Vec<ResultSeen>>,
    pub forwarded: Mutex<Vec<String>>,
    pub block_ids: Vec<String>,
    pub replace_results: bool,
    pub panic: bool,
}

impl Interceptor for Recorder {
    fn on_event(&self, event: EventSeen) -> BoxFuture<'_, EventAction> {
        Box::pin(async move {
            assert!(!self.panic, "interceptor bug");
            let block = self.block_ids.contains(&event.request_id);
            self.events.lock().unwrap().push(event);
            if block {
                EventAction::Block {
                    error_type: "Gavel.Blocked".into(),
                    body: Bytes::from_static(
                        br#"{"errorMessage":"blocked","errorType":"Gavel.Blocked"}"#,
                    ),
                }
            } else {
                EventAction::Forward
            }
        })
    }

    fn on_result(&self, result: ResultSeen) -> BoxFuture<'_, ResponseAction> {
        Box::pin(async move {
            self.results.lock().unwrap().push(result);
            if self.replace_results {
                ResponseAction::Replace {
                    error_type: "Gavel.Denied".into(),
                    body: Bytes::from_static(
                        br#"{"errorMessage":"denied","errorType":"Gavel.Denied"}"#,
                    ),
                }
            } else {
                ResponseAction::Forward
            }
        })
    }

    fn on_result_forwarded(&self, request_id: &str) {
        assert!(!self.panic, "interceptor bug");
        self.forwarded.lock().unwrap().push(request_id.to_owned());
    }
}

impl Recorder {
    pub fn events(&self) -> Vec<EventSeen> {
        self.events.lock().unwrap().clone()
    }
    pub fn results(&self) -> Vec<ResultSeen> {
        self.results.lock().unwrap().clone()
    }
    pub fn forwarded(&self) -> Vec<String> {
        self.forwarded.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------- the runtime side

pub struct Harness {
    pub api: FakeApi,
    pub rec: Arc<Recorder>,
    pub proxy: Proxy,
    pub client: Client<HttpConnector, TestBody>,
}

impl Harness {
    pub async fn new(rec: Recorder) -> Self {
        Self::with_limit(rec, gavel::proxy::DEFAULT_TEE_LIMIT).await
    }

    pub async fn with_limit(rec: Recorder, tee_limit: usize) -> Self {
        let api = FakeApi::start().await;
        let rec = Arc::new(rec);
        let mut config = ProxyConfig::new("127.0.0.1:0".parse().unwrap(), api.upstream());
        config.tee_limit = tee_limit;
        let proxy = Proxy::bind(config, rec.clone()).await.unwrap();
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            api,
            rec,
            proxy,
            client,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proxy.local_addr())
    }

    pub async fn call(&self, req: Request<TestBody>) -> (http::response::Parts, Bytes) {
        let resp = tokio::time::timeout(LIMIT, self.client.request(req))
            .await
            .unwrap()
            .unwrap();
        let (parts, body) = resp.into_parts();
        let body = tokio::time::timeout(LIMIT, body.collect())
            .await
            .unwrap()
            .unwrap()
            .to_bytes();
        (parts, body)
    }

    pub async fn next(&self) -> (http::response::Parts, Bytes) {
        let req = Request::get(self.url(NEXT))
            .header("user-agent", "test-runtime/1.0")
            .body(full(Bytes::new()))
            .unwrap();
        self.call(req).await
    }

    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, &[u8])],
        body: Bytes,
    ) -> (http::response::Parts, Bytes) {
        let mut req = Request::post(self.url(path)).body(full(body)).unwrap();
        for (k, v) in headers {
            req.headers_mut().append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        self.call(req).await
    }
}

/// A body fed frame by frame from the test.
pub struct ChannelBody(pub mpsc::Receiver<Frame<Bytes>>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|f| f.map(Ok))
    }
}
