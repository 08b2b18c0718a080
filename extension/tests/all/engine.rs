//! The engine contains hostile policies and reports each failure with its cause.

use std::time::{Duration, Instant};

use gavel::engine::{
    Decision, EngineError, Evaluation, InvocationInput, MAX_FIELD_BYTES, Phase, PolicySource,
};

use crate::support::{engine, load, test_policy};

fn input(event: &[u8]) -> InvocationInput {
    InvocationInput {
        request_id: "req-1".into(),
        event: event.to_vec(),
        ..Default::default()
    }
}

fn run(settings: &str, timeout_ms: u64) -> (gavel::engine::Outcome, Duration) {
    let engine = engine(timeout_ms);
    let policy = load(&engine, &test_policy("hostile"), settings);
    let mut evaluation = Evaluation::new(input(b"{}"), Phase::Request);
    let started = Instant::now();
    let outcome = engine.evaluate(&policy, &mut evaluation, Decision::Alert);
    // After any failure a good evaluation on the same engine still works.
    let good = load(&engine, &test_policy("hostile"), "\"ok\"");
    let mut again = Evaluation::new(input(b"DENY"), Phase::Request);
    let healthy = engine.evaluate(&good, &mut again, Decision::Alert);
    assert_eq!(healthy.error, None, "engine unhealthy after `{settings}`");
    assert_eq!(healthy.decision, Decision::Deny);
    (outcome, started.elapsed())
}

/// Every evaluation starts from the policy's pristine memory, however its slot is reset
/// (released with `madvise`, or its written pages rewritten in place with PAGEMAP_SCAN).
#[test]
fn nothing_carries_over_between_evaluations() {
    let engine = engine(50);
    let policy = load(&engine, &test_policy("hostile"), "\"remember\"");
    for i in 0..20 {
        let mut evaluation = Evaluation::new(input(b"{}"), Phase::Request);
        let outcome = engine.evaluate(&policy, &mut evaluation, Decision::Alert);
        assert_eq!(outcome.error, None);
        assert_eq!(
            outcome.findings[0].message, "calls=1 stale=0",
            "evaluation {i} saw a previous one's memory"
        );
    }
}

#[test]
fn good_policy_sees_the_invocation() {
    let engine = engine(50);
    let policy = load(&engine, &test_policy("hostile"), "\"ok\"");
    assert_eq!(
        (policy.name.as_str(), policy.version.as_str()),
        ("hostile", "0.0.1")
    );
    let mut evaluation = Evaluation::new(
        InvocationInput {
            request_id: "abc".into(),
            event: vec![b'x'; 5000],
            result: Some(vec![b'y'; 7]),
            telemetry: vec!["{}".into(), "{}".into()],
            ..Default::default()
        },
        Phase::Response,
    );
    let outcome = engine.evaluate(&policy, &mut evaluation, Decision::Alert);
    assert_eq!(outcome.error, None);
    assert_eq!(outcome.decision, Decision::Allow);
    assert_eq!(
        outcome.findings[0].message,
        "event=5000 result=7 telemetry=2 id=abc"
    );
    assert_eq!(outcome.phase, Phase::Response);
}

#[test]
fn infinite_loop_times_out_within_twice_the_deadline() {
    let (outcome, elapsed) = run("\"loop\"", 20);
    let error = outcome.error.expect("a timeout error");
    assert!(
        error.contains("timeout") && error.contains("20 ms"),
        "{error}"
    );
    assert_eq!(outcome.decision, Decision::Alert);
    assert!(
        outcome.duration_us < 40_000,
        "took {} µs",
        outcome.duration_us
    );
    assert!(elapsed < Duration::from_secs(5));
}

#[test]
fn memory_bomb_hits_the_cap() {
    let (outcome, _) = run("\"memory\"", 1000);
    let error = outcome.error.expect("a memory error");
    assert!(error.contains("memory cap of 32 MiB"), "{error}");
}

#[test]
fn deep_recursion_is_a_trap() {
    let (outcome, _) = run("\"recurse\"", 1000);
    let error = outcome.error.expect("a trap");
    assert!(error.contains("trap"), "{error}");
}

#[test]
fn explicit_trap_and_panic_are_errors() {
    for mode in ["\"trap\"", "\"panic\""] {
        let (outcome, _) = run(mode, 1000);
        let error = outcome.error.unwrap_or_else(|| panic!("{mode}: no error"));
        assert!(error.starts_with("trap:"), "{mode}: {error}");
    }
}

#[test]
fn policy_reported_error_is_recorded() {
    let (outcome, _) = run("\"error\"", 1000);
    assert_eq!(
        outcome.error.as_deref(),
        Some("policy error: hostile policy reports an error")
    );
}

#[test]
fn oversized_and_malformed_output_are_errors() {
    let (outcome, _) = run("\"huge-output\"", 5000);
    let error = outcome.error.expect("oversized output refused");
    assert!(error.contains("100000 findings"), "{error}");
    assert_eq!(
        outcome.decision,
        Decision::Alert,
        "the policy's own deny must not stand"
    );

    let (outcome, _) = run("\"bad-utf8\"", 1000);
    let error = outcome.error.expect("bad utf-8 refused");
    assert!(error.contains("malformed output"), "{error}");
}

/// Bounds hold as the verdict is lifted out of the sandbox: one byte over is refused (and
/// named), exactly the bound is not.
#[test]
fn output_bounds_are_checked_before_lifting() {
    let (outcome, _) = run("\"long-field\"", 1000);
    assert_eq!(
        outcome.error.as_deref(),
        Some("malformed output: 4097 bytes in a string (max 4096)")
    );
    assert_eq!(outcome.decision, Decision::Alert);

    let (outcome, _) = run("\"long-error\"", 1000);
    assert_eq!(
        outcome.error.as_deref(),
        Some("malformed output: 65537 bytes in an error message (max 65536)")
    );

    // Within the bound, the policy's own message is kept, cut to the record's field size.
    let (outcome, _) = run("\"long-but-allowed-error\"", 1000);
    let error = outcome.error.expect("the policy's error");
    assert!(error.starts_with("policy error: eeee"), "{error}");
    assert!(
        error.len() <= "policy error: ".len() + MAX_FIELD_BYTES,
        "{}",
        error.len()
    );
}

#[test]
fn on_error_decision_is_applied() {
    let engine = engine(10);
    let policy = load(&engine, &test_policy("hostile"), "\"loop\"");
    for decision in [Decision::Allow, Decision::Alert, Decision::Deny] {
        let mut evaluation = Evaluation::new(input(b"{}"), Phase::Request);
        assert_eq!(
            engine.evaluate(&policy, &mut evaluation, decision).decision,
            decision
        );
    }
}

#[test]
fn settings_rejected_at_load_name_the_policy() {
    let engine = engine(50);
    let source = PolicySource::from_file(&test_policy("hostile"), None).unwrap();
    let err = engine.load(source, "\"reject\"").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EngineError::Settings { .. }), "{msg}");
    assert!(
        msg.contains("hostile") && msg.contains("hostile refuses these settings"),
        "{msg}"
    );
}

#[test]
fn wrong_pin_names_policy_and_both_digests() {
    let engine = engine(50);
    let path = test_policy("hostile");
    let actual = gavel::engine::sha256_hex(&std::fs::read(&path).unwrap());
    let wrong = "0".repeat(64);
    let err = engine
        .load(
            PolicySource::from_file(&path, Some(wrong.clone())).unwrap(),
            "{}",
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("hostile.wasm") && msg.contains(&wrong) && msg.contains(&actual),
        "{msg}"
    );
    // The right pin loads.
    engine
        .load(
            PolicySource::from_file(&path, Some(actual.to_uppercase())).unwrap(),
            "{}",
        )
        .unwrap();
}

fn wat_component(label: &str, wat: &str) -> Result<gavel::engine::LoadedPolicy, EngineError> {
    let engine = engine(50);
    engine.load(
        PolicySource {
            label: label.into(),
            bytes: wat.as_bytes().to_vec(),
            expected_sha256: None,
            precompiled: None,
        },
        "{}",
    )
}

#[test]
fn wasi_and_unknown_imports_are_refused_by_name() {
    let err = wat_component(
        "fs-policy",
        r#"(component (import "wasi:filesystem/preopens@0.2.0" (instance (export "get-directories" (func)))))"#,
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EngineError::ForbiddenImport { .. }), "{msg}");
    assert!(
        msg.contains("wasi:filesystem/preopens@0.2.0") && msg.contains("fs-policy"),
        "{msg}"
    );

    let err =
        wat_component("net-policy", r#"(component (import "open-socket" (func)))"#).unwrap_err();
    assert!(err.to_string().contains("`open-socket`"), "{err}");
}

#[test]
fn not_a_policy_is_refused() {
    let err = wat_component("empty", "(component)").unwrap_err();
    assert!(matches!(err, EngineError::Invalid { .. }), "{err}");
    let err = wat_component("junk", "not wasm at all").unwrap_err();
    assert!(err.to_string().contains("junk"), "{err}");
}
