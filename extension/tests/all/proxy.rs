//! Runtime API proxy: a fake upstream Runtime API and a client playing the runtime, with the
//! proxy in between.

mod fake;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use gavel::proxy::{Proxy, ProxyConfig, ProxyError, ResultKind};
use http::header::{HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use fake::{ChannelBody, FakeApi, Harness, LIMIT, NEXT, Recorder, TestBody, binary, full, inv};
// ---------------------------------------------------------------- tests

#[tokio::test]
async fn event_passes_through_byte_identical() {
    let h = Harness::new(Recorder::default()).await;
    let body = binary(70_000);
    h.api.push_event(
        "req-1",
        body.clone(),
        &[
            ("lambda-runtime-client-context", b"eyJjdXN0b20iOnt9fQ=="),
            (
                "lambda-runtime-cognito-identity",
                br#"{"cognitoIdentityId":"x"}"#,
            ),
            ("x-amz-tenant-id", b"caf\xe9 \xff\x80"),
            ("x-multi", b"one"),
            ("x-multi", b"two"),
        ],
    );
    let (parts, got) = h.next().await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(got, body, "event body altered");
    for (name, value) in [
        ("lambda-runtime-aws-request-id", &b"req-1"[..]),
        ("lambda-runtime-deadline-ms", b"1764446400000"),
        (
            "lambda-runtime-invoked-function-arn",
            b"arn:aws:lambda:us-east-1:123456789012:function:f",
        ),
        (
            "lambda-runtime-trace-id",
            b"Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1",
        ),
        ("lambda-runtime-client-context", b"eyJjdXN0b20iOnt9fQ=="),
        (
            "lambda-runtime-cognito-identity",
            br#"{"cognitoIdentityId":"x"}"#,
        ),
        ("x-amz-tenant-id", b"caf\xe9 \xff\x80"),
        ("content-type", b"text/plain"),
    ] {
        assert_eq!(
            parts.headers.get(name).map(HeaderValue::as_bytes),
            Some(value),
            "header {name}"
        );
    }
    let multi: Vec<&[u8]> = parts
        .headers
        .get_all("x-multi")
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    assert_eq!(multi, [&b"one"[..], b"two"]);
    assert_eq!(parts.headers.get("content-length").unwrap(), "70000");

    let events = h.rec.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].request_id, "req-1");
    assert_eq!(events[0].body, body);
    assert_eq!(
        events[0].headers.get("x-amz-tenant-id").unwrap().as_bytes(),
        b"caf\xe9 \xff\x80"
    );

    // The runtime's own request reached upstream with its headers, Host rewritten.
    let next = &h.api.received()[0];
    assert_eq!(next.path_and_query, NEXT);
    assert_eq!(next.headers.get("user-agent").unwrap(), "test-runtime/1.0");
    assert_eq!(
        next.headers.get("host").unwrap().as_bytes(),
        h.api.upstream().as_bytes()
    );
}

#[tokio::test]
async fn response_passes_through_and_is_teed() {
    let h = Harness::new(Recorder::default()).await;
    let body = binary(1000);
    let (parts, answer) = h
        .post(
            &inv("req-2", "response"),
            &[
                ("content-type", b"application/octet-stream"),
                ("x-weird", b"\x80\xff"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(parts.status, StatusCode::ACCEPTED);
    assert_eq!(answer, r#"{"status":"OK"}"#);
    assert_eq!(
        parts.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(
        parts.headers.get("x-upstream").unwrap().as_bytes(),
        b"\xfe\x80ok"
    );

    let posts = h.api.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path_and_query, inv("req-2", "response"));
    assert_eq!(posts[0].body, body);
    assert_eq!(
        posts[0].headers.get("content-type").unwrap(),
        "application/octet-stream"
    );
    assert_eq!(
        posts[0].headers.get("x-weird").unwrap().as_bytes(),
        b"\x80\xff"
    );

    let results = h.rec.results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].request_id, "req-2");
    assert_eq!(results[0].kind, ResultKind::Response);
    assert_eq!(results[0].body, body);
    assert!(!results[0].streamed && !results[0].truncated);
    assert_eq!(h.rec.forwarded(), ["req-2"]);
}

#[tokio::test]
async fn six_megabyte_event_and_response() {
    let h = Harness::new(Recorder::default()).await;
    let six = binary(6 * 1024 * 1024);
    h.api.push_event("big", six.clone(), &[]);
    let (parts, got) = h.next().await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(got.len(), six.len());
    assert!(got == six);
    assert!(h.rec.events()[0].body == six);

    let (parts, _) = h.post(&inv("big", "response"), &[], six.clone()).await;
    assert_eq!(parts.status, StatusCode::ACCEPTED);
    assert!(h.api.posts()[0].body == six);
    let r = &h.rec.results()[0];
    assert!(r.body == six && !r.truncated);
    assert_eq!(h.rec.forwarded(), ["big"]);
}

#[tokio::test]
async fn error_post_carries_error_type() {
    let h = Harness::new(Recorder::default()).await;
    let body =
        Bytes::from_static(br#"{"errorMessage":"boom","errorType":"ValueError","stackTrace":[]}"#);
    let (parts, _) = h
        .post(
            &inv("req-3", "error"),
            &[
                ("lambda-runtime-function-error-type", b"Runtime.ValueError"),
                ("content-type", b"application/json"),
            ],
            body.clone(),
        )
        .await;
    assert_eq!(parts.status, StatusCode::ACCEPTED);
    let post = &h.api.posts()[0];
    assert_eq!(post.path_and_query, inv("req-3", "error"));
    assert_eq!(post.body, body);
    assert_eq!(
        post.headers
            .get("lambda-runtime-function-error-type")
            .unwrap(),
        "Runtime.ValueError"
    );
    let r = &h.rec.results()[0];
    assert_eq!(r.request_id, "req-3");
    assert_eq!(
        r.kind,
        ResultKind::Error {
            error_type: Some("Runtime.ValueError".into())
        }
    );
    assert_eq!(r.body, body);
    assert_eq!(h.rec.forwarded(), ["req-3"]);
}

#[tokio::test]
async fn blocked_event_is_reported_and_the_runtime_gets_the_next_one() {
    let h = Harness::new(Recorder {
        block_ids: vec!["evil".into()],
        ..Default::default()
    })
    .await;
    h.api.push_event("evil", "attack", &[]);
    h.api.push_event("good", "hello", &[]);
    let (parts, body) = h.next().await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(body, "hello");
    assert_eq!(
        parts.headers.get("lambda-runtime-aws-request-id").unwrap(),
        "good"
    );

    let posts = h.api.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path_and_query, inv("evil", "error"));
    assert_eq!(
        posts[0]
            .headers
            .get("lambda-runtime-function-error-type")
            .unwrap(),
        "Gavel.Blocked"
    );
    assert_eq!(
        posts[0].body,
        r#"{"errorMessage":"blocked","errorType":"Gavel.Blocked"}"#
    );
    assert_eq!(
        posts[0].headers.get("user-agent").unwrap(),
        "test-runtime/1.0"
    );
    let ids: Vec<String> = h.rec.events().into_iter().map(|e| e.request_id).collect();
    assert_eq!(ids, ["evil", "good"]);
    assert_eq!(h.rec.forwarded(), ["evil"]);
    // Two upstream /next calls for one runtime /next.
    assert_eq!(
        h.api
            .received()
            .iter()
            .filter(|r| r.method == Method::GET)
            .count(),
        2
    );
}

#[tokio::test]
async fn replaced_result_goes_upstream_as_an_error() {
    let h = Harness::new(Recorder {
        replace_results: true,
        ..Default::default()
    })
    .await;
    let (parts, body) = h
        .post(
            &inv("req-4", "response"),
            &[("content-type", b"application/json")],
            "{\"secret\":1}".into(),
        )
        .await;
    assert_eq!(parts.status, StatusCode::ACCEPTED);
    assert_eq!(body, r#"{"status":"OK"}"#);
    let posts = h.api.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path_and_query, inv("req-4", "error"));
    assert_eq!(
        posts[0]
            .headers
            .get("lambda-runtime-function-error-type")
            .unwrap(),
        "Gavel.Denied"
    );
    assert_eq!(
        posts[0].body,
        r#"{"errorMessage":"denied","errorType":"Gavel.Denied"}"#
    );
    assert_eq!(h.rec.results()[0].body, "{\"secret\":1}");
    assert_eq!(h.rec.forwarded(), ["req-4"]);
}

/// Sends a streamed response frame by frame; returns the runtime's answer.
async fn stream_response(
    h: &Harness,
    id: &str,
    chunks: Vec<Bytes>,
    trailers: Option<HeaderMap>,
    declare: bool,
    mut feed: Option<&mut mpsc::UnboundedReceiver<Bytes>>,
) -> (http::response::Parts, Bytes) {
    let (tx, rx) = mpsc::channel(4);
    let mut req = Request::post(h.url(&inv(id, "response")))
        .header("lambda-runtime-function-response-mode", "streaming")
        .header(
            "content-type",
            "application/vnd.awslambda.http-integration-response",
        )
        .body(ChannelBody(rx).boxed().map_err(|e| match e {}).boxed())
        .unwrap();
    if declare {
        req.headers_mut().insert(
            "trailer",
            HeaderValue::from_static(
                "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
            ),
        );
    }
    let client = h.client.clone();
    let answer = tokio::spawn(async move { client.request(req).await });
    for chunk in chunks {
        tx.send(Frame::data(chunk.clone())).await.unwrap();
        if let Some(feed) = feed.as_deref_mut() {
            // Upstream sees this chunk before the next one is even produced: not buffered.
            let mut seen = 0;
            while seen < chunk.len() {
                seen += tokio::time::timeout(LIMIT, feed.recv())
                    .await
                    .unwrap()
                    .unwrap()
                    .len();
            }
            assert_eq!(seen, chunk.len());
        }
    }
    if let Some(t) = trailers {
        tx.send(Frame::trailers(t)).await.unwrap();
    }
    drop(tx);
    let resp = tokio::time::timeout(LIMIT, answer)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let (parts, body) = resp.into_parts();
    (parts, body.collect().await.unwrap().to_bytes())
}

#[tokio::test]
async fn streamed_response_passes_chunk_by_chunk_with_trailers() {
    let h = Harness::new(Recorder::default()).await;
    let mut feed = h.api.chunk_feed();
    let chunks: Vec<Bytes> = (0..5).map(|i| binary(10_000 + i)).collect();
    let mut trailers = HeaderMap::new();
    trailers.insert(
        "lambda-runtime-function-error-type",
        HeaderValue::from_static("Runtime.StreamError"),
    );
    trailers.insert(
        "lambda-runtime-function-error-body",
        HeaderValue::from_static("eyJlcnJvck1lc3NhZ2UiOiJ4In0="),
    );
    let (parts, _) = stream_response(
        &h,
        "s-1",
        chunks.clone(),
        Some(trailers.clone()),
        true,
        Some(&mut feed),
    )
    .await;
    assert_eq!(parts.status, StatusCode::ACCEPTED);

    let all: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    let post = &h.api.posts()[0];
    assert_eq!(post.path_and_query, inv("s-1", "response"));
    assert_eq!(post.body, all);
    assert_eq!(
        post.headers
            .get("lambda-runtime-function-response-mode")
            .unwrap(),
        "streaming"
    );
    assert!(post.headers.get("content-length").is_none());
    assert_eq!(post.trailers.as_ref(), Some(&trailers));

    let r = &h.rec.results()[0];
    assert_eq!(r.request_id, "s-1");
    assert!(r.streamed && !r.truncated);
    assert_eq!(r.body, all);
    assert_eq!(
        r.kind,
        ResultKind::Error {
            error_type: Some("Runtime.StreamError".into())
        }
    );
    assert_eq!(r.trailers.as_ref(), Some(&trailers));
    assert_eq!(h.rec.forwarded(), ["s-1"]);
}

#[tokio::test]
async fn streamed_response_over_the_tee_limit_is_truncated_for_the_interceptor_only() {
    let h = Harness::with_limit(
        Recorder {
            replace_results: true,
            ..Default::default()
        },
        4096,
    )
    .await;
    let chunks: Vec<Bytes> = (0..8).map(|_| binary(3000)).collect();
    let (parts, _) = stream_response(&h, "s-2", chunks.clone(), None, false, None).await;
    assert_eq!(parts.status, StatusCode::ACCEPTED);
    let all: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
    let post = &h.api.posts()[0];
    // Replace is not possible on a stream: the result went upstream unchanged.
    assert_eq!(post.path_and_query, inv("s-2", "response"));
    assert_eq!(post.body, all);
    let r = &h.rec.results()[0];
    assert!(r.streamed && r.truncated);
    assert_eq!(r.body.len(), 4096);
    assert_eq!(r.body[..], all[..4096]);
    assert_eq!(r.kind, ResultKind::Response);
}

#[tokio::test]
async fn undeclared_stream_trailers_still_reach_upstream() {
    let h = Harness::new(Recorder::default()).await;
    // A raw client: hyper would not send trailers the request does not declare.
    let mut s = TcpStream::connect(h.proxy.local_addr()).await.unwrap();
    let req = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\nlambda-runtime-function-response-mode: streaming\r\n\
         transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\
         lambda-runtime-function-error-type: Runtime.Late\r\n\r\n",
        inv("s-3", "response")
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(LIMIT, s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 202"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let post = &h.api.posts()[0];
    assert_eq!(post.body, "hello world");
    assert_eq!(
        post.trailers
            .as_ref()
            .unwrap()
            .get("lambda-runtime-function-error-type")
            .unwrap(),
        "Runtime.Late"
    );
    assert_eq!(
        h.rec.results()[0].kind,
        ResultKind::Error {
            error_type: Some("Runtime.Late".into())
        }
    );
}

#[tokio::test]
async fn over_limit_buffered_result_streams_through_and_cannot_be_replaced() {
    let h = Harness::with_limit(
        Recorder {
            replace_results: true,
            ..Default::default()
        },
        1000,
    )
    .await;
    let body = binary(50_000);
    let (parts, _) = h.post(&inv("big-2", "response"), &[], body.clone()).await;
    assert_eq!(parts.status, StatusCode::ACCEPTED);
    let post = &h.api.posts()[0];
    assert_eq!(post.path_and_query, inv("big-2", "response"));
    assert_eq!(post.body, body);
    assert_eq!(post.headers.get("content-length").unwrap(), "50000");
    let r = &h.rec.results()[0];
    assert!(!r.streamed && r.truncated);
    assert_eq!(r.body, body.slice(..1000));
}

#[tokio::test]
async fn upstream_down_answers_502() {
    // A port that was free a moment ago: connection refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let rec = Arc::new(Recorder::default());
    let proxy = Proxy::bind(
        ProxyConfig::new("127.0.0.1:0".parse().unwrap(), port.to_string()),
        rec.clone(),
    )
    .await
    .unwrap();
    let client: Client<HttpConnector, TestBody> =
        Client::builder(TokioExecutor::new()).build_http();
    for (method, path) in [
        (Method::GET, NEXT.to_owned()),
        (Method::POST, inv("x", "response")),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", proxy.local_addr()))
            .body(full("{}"))
            .unwrap();
        let resp = tokio::time::timeout(LIMIT, client.request(req))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "application/json"
        );
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json["errorMessage"].as_str().unwrap().contains("upstream"));
    }
    assert!(rec.forwarded().is_empty());
    proxy.shutdown().await;
}

#[tokio::test]
async fn next_is_retried_once_after_a_reset_connection() {
    let h = Harness::new(Recorder::default()).await;
    h.api.state.reset_next_once.store(true, Ordering::SeqCst);
    h.api.push_event("after-thaw", "e", &[]);
    let (parts, body) = h.next().await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(body, "e");
    assert_eq!(h.api.received().len(), 2);
}

#[tokio::test]
async fn other_paths_pass_through_with_query_and_without_hop_by_hop_headers() {
    let h = Harness::new(Recorder::default()).await;
    let (parts, _) = h
        .post(
            "/2018-06-01/runtime/init/error",
            &[
                ("lambda-runtime-function-error-type", b"Runtime.InitError"),
                ("connection", b"x-hop"),
                ("x-hop", b"1"),
                ("proxy-authorization", b"secret"),
                ("keep-alive", b"timeout=5"),
            ],
            "{}".into(),
        )
        .await;
    assert_eq!(parts.status, StatusCode::ACCEPTED);
    let req = Request::get(h.url("/some/other?a=1&b=%ff"))
        .body(full(Bytes::new()))
        .unwrap();
    let (parts, body) = h.call(req).await;
    assert_eq!(parts.status, StatusCode::NOT_FOUND);
    assert_eq!(body, "not found");
    let got = h.api.received();
    assert_eq!(got[0].path_and_query, "/2018-06-01/runtime/init/error");
    assert_eq!(
        got[0]
            .headers
            .get("lambda-runtime-function-error-type")
            .unwrap(),
        "Runtime.InitError"
    );
    for hop in ["x-hop", "proxy-authorization", "keep-alive"] {
        assert!(got[0].headers.get(hop).is_none(), "{hop} forwarded");
    }
    assert_eq!(got[1].path_and_query, "/some/other?a=1&b=%ff");
    // Neither is an invocation: nothing teed.
    assert!(h.rec.results().is_empty() && h.rec.events().is_empty());
}

#[tokio::test]
async fn hostile_input_never_takes_the_proxy_down() {
    let h = Harness::new(Recorder::default()).await;
    let addr = h.proxy.local_addr();
    // Garbage, a huge header, a body cut short, odd request ids.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"\x00\xff garbage\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(LIMIT, s.read_to_end(&mut buf))
        .await
        .unwrap();

    let mut s = TcpStream::connect(addr).await.unwrap();
    let huge = "a".repeat(1 << 20);
    let _ = s
        .write_all(format!("GET {NEXT} HTTP/1.1\r\nx-big: {huge}\r\n\r\n").as_bytes())
        .await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(LIMIT, s.read_to_end(&mut buf))
        .await
        .unwrap();
    assert!(
        buf.is_empty() || buf.starts_with(b"HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&buf)
    );

    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nshort",
        inv("cut", "response")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    drop(s);

    for id in ["%2e%2e", "a%20b", "..", "%ff%00"] {
        let (parts, _) = h.post(&inv(id, "error"), &[], "{}".into()).await;
        assert_eq!(parts.status, StatusCode::ACCEPTED, "id {id}");
    }
    // Still serving.
    h.api.push_event("ok", "fine", &[]);
    let (parts, body) = h.next().await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(body, "fine");
    assert!(
        h.api
            .posts()
            .iter()
            .all(|p| p.path_and_query != inv("cut", "response"))
    );
}

#[tokio::test]
async fn a_panicking_interceptor_counts_as_forward() {
    let h = Harness::new(Recorder {
        panic: true,
        ..Default::default()
    })
    .await;
    h.api.push_event("p", "event", &[]);
    let (parts, body) = h.next().await;
    assert_eq!(parts.status, StatusCode::OK);
    assert_eq!(body, "event");
    let (parts, _) = h.post(&inv("p", "response"), &[], "r".into()).await;
    assert_eq!(parts.status, StatusCode::ACCEPTED);
    assert_eq!(h.api.posts()[0].body, "r");
}

#[tokio::test]
async fn blocked_event_without_request_id_fails_closed() {
    let h = Harness::new(Recorder {
        block_ids: vec![String::new()],
        ..Default::default()
    })
    .await;
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    h.api
        .state
        .events
        .lock()
        .unwrap()
        .push_back((headers, Bytes::from_static(b"{}")));
    h.api.state.event_ready.notify_one();
    let (parts, _) = h.next().await;
    assert_eq!(parts.status, StatusCode::BAD_GATEWAY);
    assert!(h.api.posts().is_empty());
}

/// The proxy runs on a thread of its own: it keeps serving the runtime while the runtime that
/// bound it is busy (on Lambda: telemetry, records, delivery). Here that runtime is never
/// driven again after `bind`.
#[tokio::test]
async fn the_proxy_serves_while_the_runtime_that_bound_it_is_stalled() {
    let api = FakeApi::start().await;
    api.push_event("req-1", binary(4096), &[]);
    let upstream = api.upstream();
    let rec = Arc::new(Recorder::default());
    let seen = rec.clone();
    let (bound, addr) = tokio::sync::oneshot::channel();
    let stalled = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = ProxyConfig::new("127.0.0.1:0".parse().unwrap(), upstream);
        let proxy = rt.block_on(Proxy::bind(config, rec)).unwrap();
        let _ = bound.send(proxy.local_addr());
        std::thread::sleep(Duration::from_secs(2));
        drop(proxy);
    });
    let addr = addr.await.unwrap();
    let client: Client<HttpConnector, fake::TestBody> =
        Client::builder(TokioExecutor::new()).build_http();
    let req = Request::get(format!("http://{addr}{NEXT}"))
        .body(full(Bytes::new()))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_millis(1500), client.request(req))
        .await
        .expect("the proxy stalled with the runtime that bound it")
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, binary(4096));
    assert_eq!(seen.events().len(), 1, "the interceptor saw the event");
    stalled.join().unwrap();
}

#[tokio::test]
async fn bind_errors_are_returned_and_shutdown_closes_the_port() {
    let api = FakeApi::start().await;
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = Proxy::bind(
        ProxyConfig::new(taken.local_addr().unwrap(), api.upstream()),
        Arc::new(gavel::proxy::PassThrough),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ProxyError::Bind { .. }), "{err}");
    let err = Proxy::bind(
        ProxyConfig::new("127.0.0.1:0".parse().unwrap(), "no-port"),
        Arc::new(gavel::proxy::PassThrough),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ProxyError::InvalidUpstream { .. }), "{err}");

    let proxy = Proxy::bind(
        ProxyConfig::new("127.0.0.1:0".parse().unwrap(), api.upstream()),
        Arc::new(gavel::proxy::PassThrough),
    )
    .await
    .unwrap();
    let addr = proxy.local_addr();
    // A runtime parked in /next (no event queued) must not hold up shutdown.
    let parked = tokio::spawn(async move {
        let client: Client<HttpConnector, TestBody> =
            Client::builder(TokioExecutor::new()).build_http();
        client
            .request(
                Request::get(format!("http://{addr}{NEXT}"))
                    .body(full(Bytes::new()))
                    .unwrap(),
            )
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    tokio::time::timeout(Duration::from_secs(5), proxy.shutdown())
        .await
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
    assert!(
        tokio::time::timeout(LIMIT, parked)
            .await
            .unwrap()
            .unwrap()
            .is_err()
    );
}

/// The real Rust runtime client (`lambda_runtime`) through the proxy: a buffered response, a
/// streamed one (it declares `Trailer` itself) and a handler error. One test, because the
/// client reads its endpoint from process environment variables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_runtime_client_works_through_the_proxy() {
    use lambda_runtime::streaming::{Body as StreamBody, channel};
    use lambda_runtime::{FunctionResponse, LambdaEvent, service_fn};
    use serde_json::{Value, json};

    let h = Harness::new(Recorder::default()).await;
    // SAFETY: no other test in this binary reads or writes these variables; they are set
    // before the runtime client starts and only ever to the same kind of values.
    unsafe {
        std::env::set_var("AWS_LAMBDA_RUNTIME_API", h.proxy.local_addr().to_string());
        std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "gavel-proxy-test");
        std::env::set_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128");
        std::env::set_var("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    }
    async fn handler(
        event: LambdaEvent<Value>,
    ) -> Result<FunctionResponse<Value, StreamBody>, lambda_runtime::Error> {
        match event.payload["mode"].as_str() {
            Some("stream") => {
                let (mut tx, rx) = channel();
                tokio::spawn(async move {
                    for part in ["streamed ", "hello ", "world"] {
                        let _ = tx.send_data(Bytes::from(part)).await;
                    }
                });
                Ok(FunctionResponse::StreamingResponse(rx.into()))
            }
            Some("fail") => Err("handler failed on purpose".into()),
            _ => Ok(FunctionResponse::BufferedResponse(
                json!({"echo": event.payload, "id": event.context.request_id}),
            )),
        }
    }
    let runtime = tokio::spawn(lambda_runtime::run(service_fn(handler)));

    h.api.push_event("rt-1", r#"{"mode":"buffered"}"#, &[]);
    h.api.push_event("rt-2", r#"{"mode":"stream"}"#, &[]);
    h.api.push_event("rt-3", r#"{"mode":"fail"}"#, &[]);
    let deadline = tokio::time::Instant::now() + LIMIT;
    while h.api.posts().len() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "runtime posted {:?}",
            h.api.posts()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runtime.abort();

    let posts = h.api.posts();
    assert_eq!(posts[0].path_and_query, inv("rt-1", "response"));
    let v: Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(v, json!({"echo": {"mode": "buffered"}, "id": "rt-1"}));

    assert_eq!(posts[1].path_and_query, inv("rt-2", "response"));
    assert_eq!(
        posts[1]
            .headers
            .get("lambda-runtime-function-response-mode")
            .unwrap(),
        "streaming"
    );
    assert!(
        posts[1].body.ends_with(b"streamed hello world"),
        "{:?}",
        posts[1].body
    );

    assert_eq!(posts[2].path_and_query, inv("rt-3", "error"));
    assert!(
        posts[2]
            .headers
            .contains_key("lambda-runtime-function-error-type")
    );
    assert!(String::from_utf8_lossy(&posts[2].body).contains("handler failed on purpose"));

    let results = h.rec.results();
    let ids: Vec<&str> = results.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["rt-1", "rt-2", "rt-3"]);
    assert!(results[1].streamed && results[1].body == posts[1].body);
    assert!(matches!(results[2].kind, ResultKind::Error { .. }));
    assert_eq!(h.rec.forwarded(), ["rt-1", "rt-2", "rt-3"]);
    let seen: Vec<String> = h.rec.events().into_iter().map(|e| e.request_id).collect();
    assert_eq!(seen, ["rt-1", "rt-2", "rt-3"]);
}

/// Prints the proxy's added latency per invocation (`/next` + `/response`) with a pass-through
/// interceptor. Run: `cargo test -p gavel --test all proxy_overhead -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a check"]
async fn proxy_overhead() {
    let h = Harness::new(Recorder::default()).await;
    let direct = format!("http://{}", h.api.addr);
    let rounds = 2000;
    let mut timings = Vec::new();
    for base in [direct, format!("http://{}", h.proxy.local_addr())] {
        let start = std::time::Instant::now();
        for i in 0..rounds {
            h.api.push_event(&format!("id-{i}"), r#"{"k":"v"}"#, &[]);
            let req = Request::get(format!("{base}{NEXT}"))
                .body(full(Bytes::new()))
                .unwrap();
            h.call(req).await;
            let req = Request::post(format!("{base}{}", inv(&format!("id-{i}"), "response")))
                .body(full(r#"{"ok":true}"#))
                .unwrap();
            h.call(req).await;
        }
        timings.push(start.elapsed() / rounds);
    }
    println!(
        "per invocation: direct {:?}, through the proxy {:?}, added {:?}",
        timings[0],
        timings[1],
        timings[1].saturating_sub(timings[0])
    );
}
