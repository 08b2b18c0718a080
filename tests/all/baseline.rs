//! Harness self-tests, without gavel: real runtime clients straight to the emulator.

use std::time::Duration;

use gavel_e2e::{Options, Runtime, paths};

use crate::{BINARY, TRICKY_JSON, start};

#[tokio::test]
async fn python_echo_is_byte_exact() {
    let mut env = start(Options::new(Runtime::python("echo"))).await;
    for payload in [TRICKY_JSON, BINARY, b"" as &[u8], b"\"just a string\""] {
        let r = env.invoke(payload).await;
        assert!(r.error.is_none(), "{}", r.text());
        assert_eq!(r.body, payload, "got {:?}", r.text());
    }
    env.shutdown().await;
}

#[tokio::test]
async fn python_big_event_and_result_round_trip() {
    let mut env = start(Options::new(Runtime::python("echo"))).await;
    // ~5.9 MB event, under the 6 MiB limit both ways.
    let mut big = b"{\"data\":\"".to_vec();
    big.resize(5_900_000, b'y');
    big.extend_from_slice(b"\"}");
    let r = env.invoke(&big).await;
    assert!(r.error.is_none(), "{}", &r.text()[..200.min(r.body.len())]);
    assert!(
        r.body == big,
        "5.9 MB echo differs ({} bytes back)",
        r.body.len()
    );
    env.shutdown().await;

    let mut env = start(Options::new(Runtime::python("big"))).await;
    let r = env.invoke(b"{}").await;
    assert!(r.error.is_none());
    assert_eq!(r.body.len(), 6_000_000);
    assert!(r.body.starts_with(b"{\"data\":\"xxx") && r.body.ends_with(b"x\"}"));
    env.shutdown().await;
}

#[tokio::test]
async fn python_error_result_reaches_caller() {
    let mut env = start(Options::new(Runtime::python("fail"))).await;
    let r = env.invoke(b"{\"boom\":1}").await;
    let err = r.error.clone().expect("function error expected");
    let doc = r.json();
    assert_eq!(doc["errorType"], "HandlerAskedToFail", "{doc}");
    assert!(
        doc["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("handler asked to fail")
    );
    assert!(!err.error_type.is_empty());
    // The sandbox survives a function error.
    let r2 = env.invoke(b"{}").await;
    assert!(r2.error.is_some());
    env.shutdown().await;
}

#[tokio::test]
async fn python_marker_handler_writes_marker() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let opts =
        Options::new(Runtime::python("marker")).env("GAVEL_TEST_MARKER", marker.to_string_lossy());
    let mut env = start(opts).await;
    let r = env.invoke(b"{}").await;
    assert!(r.error.is_none(), "{}", r.text());
    let written = std::fs::read_to_string(&marker).expect("marker written");
    assert_eq!(written.trim(), r.request_id);
    env.shutdown().await;
}

#[tokio::test]
async fn python_leak_handler_returns_key_pair() {
    let mut env = start(Options::new(Runtime::python("leak_keys"))).await;
    let doc = env.invoke(b"{}").await.json();
    let id = doc["debug"]["aws_access_key_id"].as_str().unwrap();
    let secret = doc["debug"]["aws_secret_access_key"].as_str().unwrap();
    assert!(id.starts_with("AKIA") && id.len() == 20);
    assert!(
        id[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    assert_eq!(secret.len(), 40);
    assert!(!id.contains("EXAMPLE"));
    env.shutdown().await;
}

/// Without an extension the wrapper is pointed at the emulator itself: it must rewrite the
/// variable, keep the original, and `exec` (the runtime is the process the harness started).
#[tokio::test]
async fn wrapper_rewrites_runtime_api_and_execs() {
    let mut opts = Options::new(Runtime::python("env_probe"));
    opts.through_wrapper = true;
    let mut env = start(opts).await;
    let doc = env.invoke(b"{}").await.json();
    let port = env.proxy_port().unwrap();
    assert_eq!(doc["AWS_LAMBDA_RUNTIME_API"], format!("127.0.0.1:{port}"));
    assert_eq!(
        doc["GAVEL_UPSTREAM_RUNTIME_API"],
        env.emulator().runtime_api()
    );
    assert_eq!(
        doc["pid"].as_i64(),
        env.runtime_pid().map(i64::from),
        "wrapper did not exec"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn sandbox_is_frozen_between_invocations() {
    let mut env = start(Options::new(Runtime::python("echo"))).await;
    let pid = env.runtime_pid().unwrap();
    // SIGSTOP is delivered asynchronously: give the kernel a moment before reading the state.
    let state = || async move {
        let mut last = String::new();
        for _ in 0..100 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            // Field 3, after the parenthesised command name.
            last = stat
                .rsplit(')')
                .next()
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .to_owned();
            if last == "T" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        last
    };
    assert_eq!(state().await, "T", "runtime should be stopped after init");
    env.invoke(b"{}").await;
    assert_eq!(
        state().await,
        "T",
        "runtime should be stopped after an invocation"
    );
    env.shutdown().await;
}

#[tokio::test]
async fn rust_echo_direct_and_through_bootstrap_shim() {
    let bin = paths::rust_echo_bin().unwrap();
    for through_shim in [false, true] {
        let mut opts = Options::new(Runtime::Provided {
            bootstrap: bin.clone(),
        });
        opts.through_wrapper = through_shim;
        let mut env = start(opts).await;
        // serde_json's RawValue keeps the value's bytes; only surrounding whitespace goes.
        let r = env.invoke(br#"{"b":[1.50,2e3],"a":"caf\u00e9"}"#).await;
        assert!(r.error.is_none(), "{}", r.text());
        assert_eq!(
            r.text(),
            r#"{"b":[1.50,2e3],"a":"caf\u00e9"}"#,
            "shim={through_shim}"
        );
        let r = env.invoke(br#"{"rustEchoFail":true}"#).await;
        assert!(r.error.is_some(), "shim={through_shim}: {}", r.text());
        env.shutdown().await;
    }
}

#[tokio::test]
async fn bootstrap_shim_names_missing_function_bootstrap() {
    let mut opts = Options::new(Runtime::Provided {
        bootstrap: std::env::temp_dir().join("gavel-e2e-no-such-bootstrap"),
    });
    opts.through_wrapper = true;
    opts.init_timeout = Duration::from_secs(5);
    let err = match gavel_e2e::LambdaEnv::start(opts).await {
        Ok(_) => panic!("start should fail"),
        Err(e) => e,
    };
    assert!(err.contains("function bootstrap not found"), "{err}");
    assert!(err.contains("gavel-e2e-no-such-bootstrap"), "{err}");
}

/// The extension side of the harness, with a stdlib-only fake extension instead of gavel:
/// registration, INVOKE/SHUTDOWN delivery, telemetry subscription and delivery, exit on SHUTDOWN.
#[tokio::test]
async fn fake_extension_sees_lifecycle_and_telemetry() {
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("ext.jsonl");
    let mut opts = Options::new(Runtime::python("echo"));
    opts.extension = Some(paths::repo_root().join("tests/functions/python/fake_extension.py"));
    opts.extension_env
        .push(("FAKE_EXT_LOG".into(), log.to_string_lossy().into_owned()));
    let mut env = start(opts).await;
    let ids = [
        env.invoke(b"{}").await.request_id,
        env.invoke(b"[]").await.request_id,
    ];
    let report = env.shutdown().await;
    assert!(
        report.exited_in_time && report.extension_status.is_some_and(|s| s.success()),
        "{report:?}"
    );

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["kind"] == "event")
        .map(|l| &l["data"])
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    for (ev, id) in events.iter().zip(&ids) {
        assert_eq!(ev["eventType"], "INVOKE");
        assert_eq!(ev["requestId"], id.as_str());
    }
    assert_eq!(events[2]["eventType"], "SHUTDOWN");
    let telemetry: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["kind"] == "telemetry")
        .flat_map(|l| l["data"].as_array().unwrap())
        .collect();
    for (ty, id) in [
        ("platform.start", &ids[0]),
        ("platform.runtimeDone", &ids[1]),
        ("platform.report", &ids[1]),
    ] {
        assert!(
            telemetry
                .iter()
                .any(|t| t["type"] == ty && t["record"]["requestId"] == id.as_str()),
            "{ty} for {id} missing: {telemetry:?}"
        );
    }
    assert!(telemetry.iter().any(|t| t["type"] == "platform.initReport"));
}
