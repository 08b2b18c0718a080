//! gavel as an external extension in the simulated sandbox: runtime through the layer's
//! wrapper/shim, the proxy in between.

use std::path::{Path, PathBuf};

use gavel_e2e::{InvokeResult, LambdaEnv, Options, Runtime, paths, require_gavel};
use serde_json::Value;

use crate::{BINARY, TRICKY_JSON, start};

/// EICAR test signature, assembled so the source file itself is not flagged by scanners.
fn eicar() -> String {
    [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat()
}

/// gavel with the shipped policies from `target/policies` and debug logs.
fn with_gavel(gavel: PathBuf, runtime: Runtime) -> Options {
    Options::with_gavel(runtime, gavel)
        .env("GAVEL_POLICY_DIR", paths::policy_dir().to_string_lossy())
        .env("GAVEL_LOG", "debug")
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line ({e}): {l}")))
        .collect()
}

/// Verdict records (objects with a `verdict`) among the JSON lines of the extension's stdout.
fn stdout_records(env: &LambdaEnv) -> Vec<Value> {
    env.extension_stdout()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("verdict").is_some())
        .collect()
}

/// Body with the invocation's own request id blanked: error documents embed it.
fn normalised(r: &InvokeResult) -> Vec<u8> {
    let id = r.request_id.as_bytes();
    let mut out = Vec::with_capacity(r.body.len());
    let mut i = 0;
    while i < r.body.len() {
        if r.body[i..].starts_with(id) {
            out.extend_from_slice(b"<request-id>");
            i += id.len();
        } else {
            out.push(r.body[i]);
            i += 1;
        }
    }
    out
}

fn same_result(a: &InvokeResult, b: &InvokeResult, what: &str) {
    assert_eq!(a.error, b.error, "{what}: function error differs");
    assert!(
        normalised(a) == normalised(b),
        "{what}: body differs ({} vs {} bytes): {:.200} / {:.200}",
        a.body.len(),
        b.body.len(),
        a.text(),
        b.text()
    );
    assert_eq!(
        a.content_type, b.content_type,
        "{what}: content type differs"
    );
}

/// Runs `payloads` through `handler` without and with gavel (monitor mode); results must match.
async fn compare(gavel: &Path, handler: &str, payloads: &[&[u8]]) {
    let mut plain = start(Options::new(Runtime::python(handler))).await;
    let mut guarded = start(with_gavel(gavel.to_owned(), Runtime::python(handler))).await;
    for p in payloads {
        let a = plain.invoke(p).await;
        let b = guarded.invoke(p).await;
        same_result(
            &a,
            &b,
            &format!("{handler} {:.40?}", String::from_utf8_lossy(p)),
        );
    }
    plain.shutdown().await;
    let diagnostics = guarded.diagnostics();
    let report = guarded.shutdown().await;
    assert!(
        report.exited_in_time,
        "gavel did not exit after SHUTDOWN: {report:?}\n{diagnostics}"
    );
}

#[tokio::test]
async fn registers_for_invoke_and_shutdown() {
    let gavel = require_gavel!();
    let env = start(with_gavel(gavel, Runtime::python("echo"))).await;
    let exts = env.emulator().extensions();
    assert_eq!(exts.len(), 1, "{}", env.diagnostics());
    for ev in ["INVOKE", "SHUTDOWN"] {
        assert!(
            exts[0].events.iter().any(|e| e == ev),
            "{:?}",
            exts[0].events
        );
    }
    assert!(env.emulator().reported_errors().is_empty());
    env.shutdown().await;
}

#[tokio::test]
async fn monitor_echo_identical_json_and_binary() {
    let gavel = require_gavel!();
    compare(&gavel, "echo", &[TRICKY_JSON, BINARY, b"{}", b""]).await;
}

#[tokio::test]
async fn monitor_echo_identical_6mb() {
    let gavel = require_gavel!();
    let mut big = b"{\"data\":\"".to_vec();
    big.resize(5_900_000, b'y');
    big.extend_from_slice(b"\"}");
    compare(&gavel, "echo", &[&big]).await;
    compare(&gavel, "big", &[b"{}"]).await;
}

#[tokio::test]
async fn monitor_error_result_identical() {
    let gavel = require_gavel!();
    compare(&gavel, "fail", &[b"{\"x\":1}"]).await;
}

#[tokio::test]
async fn monitor_rust_function_through_bootstrap_shim() {
    let gavel = require_gavel!();
    let bin = paths::rust_echo_bin().unwrap();
    let mut env = start(with_gavel(gavel, Runtime::Provided { bootstrap: bin })).await;
    let r = env.invoke(br#"{"b":[1.50,2e3],"a":"x"}"#).await;
    assert!(r.error.is_none(), "{}\n{}", r.text(), env.diagnostics());
    assert_eq!(r.text(), r#"{"b":[1.50,2e3],"a":"x"}"#);
    env.shutdown().await;
}

#[tokio::test]
async fn allow_destination_file_gets_a_record_per_invocation() {
    let gavel = require_gavel!();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("allow.jsonl");
    let opts = with_gavel(gavel, Runtime::python("echo")).env(
        "GAVEL_DESTINATION_ON_ALLOW",
        format!("file:{}", file.display()),
    );
    let mut env = start(opts).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = env.invoke(format!("{{\"benign\":{i}}}").as_bytes()).await;
        assert!(r.error.is_none());
        ids.push(r.request_id);
        // Verdicts are delivered before the extension's next /event/next, i.e. before invoke returns.
        assert_eq!(
            jsonl(&file).len(),
            i + 1,
            "record for invocation {i}\n{}",
            env.diagnostics()
        );
    }
    let report = env.shutdown().await;
    assert!(report.exited_in_time, "{report:?}");
    let records = jsonl(&file);
    let got: Vec<&str> = records
        .iter()
        .map(|r| {
            r["requestContext"]["requestId"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(got, ids);
    for r in &records {
        assert_eq!(r["verdict"]["decision"], "allow", "{r}");
        assert_eq!(r["verdict"]["mode"], "monitor", "{r}");
        assert!(r["requestPayloadSha256"].is_string(), "{r}");
    }
}

#[tokio::test]
async fn enforce_blocks_eicar_before_the_handler() {
    let gavel = require_gavel!();
    let out = tempfile::tempdir().unwrap();
    let marker = out.path().join("marker");
    let opts = with_gavel(gavel, Runtime::python("marker"))
        .env("GAVEL_MODE", "enforce")
        .env("GAVEL_POLICIES", "malicious-content")
        .env("GAVEL_TEST_MARKER", marker.to_string_lossy());
    let mut env = start(opts).await;

    let event = serde_json::json!({"body": eicar()}).to_string();
    let r = env.invoke(event.as_bytes()).await;
    assert!(
        r.error.is_some(),
        "caller should get an error, got {}\n{}",
        r.text(),
        env.diagnostics()
    );
    assert!(!marker.exists(), "handler ran on a blocked event");

    // The sandbox keeps serving: a benign event reaches the handler.
    let r = env.invoke(b"{\"hello\":\"world\"}").await;
    assert!(r.error.is_none(), "{}", r.text());
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap_or_default().trim(),
        r.request_id
    );

    let denies: Vec<Value> = stdout_records(&env)
        .into_iter()
        .filter(|v| v["verdict"]["decision"] == "deny")
        .collect();
    assert_eq!(
        denies.len(),
        1,
        "one deny record on stdout\n{}",
        env.extension_stdout()
    );
    assert_eq!(denies[0]["verdict"]["enforced"], true);
    assert_eq!(denies[0]["requestContext"]["condition"], "Blocked");
    env.shutdown().await;
}

/// Enforce mode judges on the proxy's own thread: a policy that never returns is cut off by
/// its deadline there, and `GAVEL_ON_POLICY_ERROR` decides. `alert` lets the event through
/// unchanged; `deny` blocks it before the handler. Either way the next invocation is served.
#[tokio::test]
async fn enforce_cuts_off_a_looping_policy_and_applies_on_policy_error() {
    let gavel = require_gavel!();
    let hostile = paths::target_dir().join("test-policies/hostile.wasm");
    for on_error in ["alert", "deny"] {
        let out = tempfile::tempdir().unwrap();
        let marker = out.path().join("marker");
        let opts = with_gavel(gavel.clone(), Runtime::python("marker"))
            .env("GAVEL_MODE", "enforce")
            .env("GAVEL_POLICIES", hostile.display().to_string())
            .env("GAVEL_SETTINGS_HOSTILE", "\"loop\"")
            .env("GAVEL_POLICY_TIMEOUT_MS", "30")
            .env("GAVEL_ON_POLICY_ERROR", on_error)
            .env("GAVEL_TEST_MARKER", marker.to_string_lossy());
        let mut env = start(opts).await;
        for round in 0..2 {
            let r = env.invoke(TRICKY_JSON).await;
            let ran = std::fs::read_to_string(&marker)
                .unwrap_or_default()
                .lines()
                .any(|l| l == r.request_id);
            if on_error == "alert" {
                assert!(r.error.is_none(), "{on_error} #{round}: {}", r.text());
                assert_eq!(r.body, TRICKY_JSON, "{on_error} #{round}: result changed");
                assert!(ran, "{on_error} #{round}: the handler did not run");
            } else {
                assert_eq!(
                    r.error.as_ref().map(|e| e.error_type.as_str()),
                    Some("Gavel.Blocked"),
                    "{on_error} #{round}: {}\n{}",
                    r.text(),
                    env.diagnostics()
                );
                assert!(
                    !ran,
                    "{on_error} #{round}: the handler ran on a blocked event"
                );
            }
        }
        let records = stdout_records(&env);
        assert_eq!(records.len(), 2, "{on_error}\n{}", env.extension_stdout());
        for record in &records {
            assert_eq!(record["verdict"]["decision"], on_error);
            let errors: Vec<&str> = record["verdict"]["policies"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p["error"].as_str())
                .collect();
            assert!(
                !errors.is_empty() && errors.iter().all(|e| e.contains("timeout")),
                "{on_error}: {errors:?}"
            );
        }
        env.shutdown().await;
    }
}

#[tokio::test]
async fn monitor_reports_eicar_but_lets_it_through() {
    let gavel = require_gavel!();
    let out = tempfile::tempdir().unwrap();
    let marker = out.path().join("marker");
    let opts = with_gavel(gavel, Runtime::python("marker"))
        .env("GAVEL_POLICIES", "malicious-content")
        .env("GAVEL_TEST_MARKER", marker.to_string_lossy());
    let mut env = start(opts).await;
    let event = serde_json::json!({"body": eicar()}).to_string();
    let r = env.invoke(event.as_bytes()).await;
    assert!(r.error.is_none(), "{}", r.text());
    assert_eq!(r.body, event.as_bytes());
    assert!(marker.exists(), "monitor mode must not block");
    let records = stdout_records(&env);
    assert!(
        records
            .iter()
            .any(|v| v["verdict"]["decision"] == "deny" && v["verdict"]["enforced"] == false),
        "a deny record on stdout\n{}",
        env.extension_stdout()
    );
    env.shutdown().await;
}

#[tokio::test]
async fn enforce_blocks_leaked_key_pair_in_result() {
    let gavel = require_gavel!();
    let opts = with_gavel(gavel, Runtime::python("leak_keys"))
        .env("GAVEL_MODE", "enforce")
        .env("GAVEL_POLICIES", "secrets-leak");
    let mut env = start(opts).await;
    let r = env.invoke(b"{}").await;
    assert!(
        r.error.is_some(),
        "leaking result should be replaced by an error: {}",
        r.text()
    );
    assert!(
        !r.text()
            .contains("q8Vd2Lr7Zm4Xc1Bn6Ht9Wp3Ks5Fg0Jy2Ae7Ru4Oi"),
        "secret reached the caller"
    );
    // Evidence is redacted (CONTRACT). The payload fields follow GAVEL_PAYLOADS (default
    // `truncated` embeds the result), so only the findings are checked here.
    let records = stdout_records(&env);
    let findings: Vec<&Value> = records
        .iter()
        .flat_map(|r| r["verdict"]["policies"].as_array().into_iter().flatten())
        .flat_map(|p| p["findings"].as_array().into_iter().flatten())
        .collect();
    assert!(
        !findings.is_empty(),
        "a finding on stdout\n{}",
        env.extension_stdout()
    );
    for f in findings {
        assert!(
            !f.to_string()
                .contains("q8Vd2Lr7Zm4Xc1Bn6Ht9Wp3Ks5Fg0Jy2Ae7Ru4Oi"),
            "secret in clear in a finding: {f}"
        );
    }
    env.shutdown().await;
}

#[tokio::test]
async fn shutdown_flushes_then_exits() {
    let gavel = require_gavel!();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("allow.jsonl");
    let opts = with_gavel(gavel, Runtime::python("echo")).env(
        "GAVEL_DESTINATION_ON_ALLOW",
        format!("file:{}", file.display()),
    );
    let mut env = start(opts).await;
    let id = env.invoke(b"{\"last\":true}").await.request_id;
    let report = env.shutdown().await;
    assert!(
        report.exited_in_time,
        "gavel must exit within the SHUTDOWN budget: {report:?}"
    );
    assert!(
        report.extension_status.is_some_and(|s| s.success()),
        "{report:?}"
    );
    let records = jsonl(&file);
    assert!(
        records
            .iter()
            .any(|r| r["requestContext"]["requestId"] == id.as_str()),
        "{records:?}"
    );
}

#[tokio::test]
async fn telemetry_posts_are_answered_2xx() {
    let gavel = require_gavel!();
    let mut env = start(with_gavel(gavel, Runtime::python("echo"))).await;
    for _ in 0..3 {
        env.invoke(b"{}").await;
    }
    // Subscribing is optional (gavel must work without telemetry); if it did, answer fast and 2xx.
    for d in env.emulator().deliveries() {
        assert!(matches!(d.result, Ok(200..=299)), "{d:?}");
        assert!(d.took.as_millis() < 500, "{d:?}");
    }
    env.shutdown().await;
}

#[tokio::test]
async fn configuration_errors_end_init_naming_the_variable() {
    let gavel = require_gavel!();
    for (var, value, expect) in [
        (
            "GAVEL_POLICIES",
            "no-such-policy",
            "unknown policy `no-such-policy`",
        ),
        (
            "GAVEL_SETTINGS_MALICIOUS_CONTENT",
            "{not json",
            "not valid JSON",
        ),
        (
            "GAVEL_DESTINATION_ON_DENY",
            "mailto:soc@example.com",
            "expected stdout",
        ),
        (
            "GAVEL_MODE",
            "block",
            "`block` is not `monitor` or `enforce`",
        ),
    ] {
        let opts = with_gavel(gavel.clone(), Runtime::python("echo")).env(var, value);
        let err = match LambdaEnv::start(opts).await {
            Ok(env) => {
                env.shutdown().await;
                panic!("{var}={value}: init succeeded");
            }
            Err(e) => e,
        };
        assert!(
            err.contains("init/error") && err.contains(var) && err.contains(expect),
            "{var}: {err}"
        );
    }
}

#[tokio::test]
async fn records_carry_telemetry_and_digests() {
    let gavel = require_gavel!();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("all.jsonl");
    let dest = format!("file:{}", file.display());
    let opts = with_gavel(gavel, Runtime::python("echo"))
        .env("GAVEL_DESTINATION_ON_ALLOW", &dest)
        .env("GAVEL_DESTINATION_ON_ALERT", &dest)
        .env("GAVEL_DESTINATION_ON_DENY", &dest);
    let mut env = start(opts).await;
    let payload = br#"{"orderId": 42}"#;
    let r = env.invoke(payload).await;
    env.shutdown().await;
    let records = jsonl(&file);
    let record = records
        .iter()
        .find(|v| v["requestContext"]["requestId"] == r.request_id.as_str())
        .expect("record");
    assert_eq!(record["requestPayload"], serde_json::json!({"orderId": 42}));
    assert_eq!(
        record["responsePayload"],
        serde_json::json!({"orderId": 42})
    );
    assert_eq!(record["requestContext"]["condition"], "Success");
    assert!(
        record["requestContext"]["functionArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:lambda:")
    );
    let digest = gavel::engine::sha256_hex(payload);
    assert_eq!(record["requestPayloadSha256"], digest.as_str());
    assert_eq!(record["responsePayloadSha256"], digest.as_str());
    assert_eq!(
        record["telemetry"]["status"], "success",
        "runtimeDone status in {record}"
    );
    let names: Vec<&str> = record["verdict"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"malicious-content") && names.contains(&"secrets-leak"),
        "{names:?}"
    );
}

#[tokio::test]
async fn monitor_result_unchanged_by_looping_and_trapping_policies() {
    let gavel = require_gavel!();
    let hostile = paths::target_dir().join("test-policies/hostile.wasm");
    for mode in ["loop", "trap"] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("alert.jsonl");
        let opts = with_gavel(gavel.clone(), Runtime::python("echo"))
            .env("GAVEL_POLICIES", hostile.display().to_string())
            .env("GAVEL_SETTINGS_HOSTILE", format!("\"{mode}\""))
            .env("GAVEL_POLICY_TIMEOUT_MS", "30")
            .env(
                "GAVEL_DESTINATION_ON_ALERT",
                format!("file:{}", file.display()),
            );
        let mut env = start(opts).await;
        let r = env.invoke(TRICKY_JSON).await;
        assert_eq!(r.body, TRICKY_JSON, "{mode}: result changed");
        assert!(r.error.is_none());
        env.shutdown().await;
        let records = jsonl(&file);
        let errors: Vec<&str> = records[0]["verdict"]["policies"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["error"].as_str())
            .collect();
        let expect = if mode == "loop" { "timeout" } else { "trap" };
        assert!(
            !errors.is_empty() && errors.iter().all(|e| e.contains(expect)),
            "{mode}: {errors:?}"
        );
        assert_eq!(
            records[0]["verdict"]["decision"], "alert",
            "GAVEL_ON_POLICY_ERROR default"
        );
    }
}
