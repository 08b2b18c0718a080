//! The shipped policies (malicious-content, unauthorized-access, secrets-leak), natively, on
//! arbitrary events and results: they must never panic (in the sandbox a panic is a trap, so a
//! policy error instead of a verdict), and what they return must pass the host's bounds
//! (`engine::check_output`), or the host would record a policy error instead of their verdict.
//!
//! Input: `event`, optionally `NUL result`, optionally `NUL telemetry lines`; the phase is
//! request without a result, response with one, telemetry with telemetry records.
#![no_main]

use gavel::engine::bindings::exports::gavel::policy::types as host;
use gavel::engine::check_output;
use gavel_policy_sdk::runtime::evaluate;
use gavel_policy_sdk::{Decision, Invocation, Phase, Policy, Severity, Verdict};
use libfuzzer_sys::fuzz_target;
use malicious_content::MaliciousContent;
use secrets_leak::SecretsLeak;
use unauthorized_access::UnauthorizedAccess;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let event = parts.next().unwrap_or_default().to_vec();
    let result = parts.next().map(<[u8]>::to_vec);
    let telemetry: Vec<String> = parts
        .next()
        .map(|t| {
            String::from_utf8_lossy(t)
                .lines()
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let phase = match (&result, telemetry.is_empty()) {
        (None, _) => Phase::Request,
        (Some(_), true) => Phase::Response,
        (Some(_), false) => Phase::Telemetry,
    };
    let invocation = Invocation {
        request_id: "8f5e-fuzz".into(),
        function_name: "f".into(),
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
        phase,
        event,
        result,
        function_error: None,
        telemetry,
        settings: "{}".into(),
    };
    run::<MaliciousContent>(&invocation);
    run::<UnauthorizedAccess>(&invocation);
    run::<SecretsLeak>(&invocation);
});

fn run<P: Policy>(invocation: &Invocation) {
    let verdict = evaluate::<P>(invocation.clone())
        .unwrap_or_else(|e| panic!("{} failed with default settings: {e}", P::NAME));
    if let Err(e) = check_output(Ok(to_host(verdict))) {
        panic!("the host refuses what {} returned: {e}", P::NAME);
    }
}

/// The SDK's verdict as the host lifts it (same WIT types, generated twice).
fn to_host(v: Verdict) -> host::Verdict {
    host::Verdict {
        decision: match v.decision {
            Decision::Allow => host::Decision::Allow,
            Decision::Alert => host::Decision::Alert,
            Decision::Deny => host::Decision::Deny,
        },
        findings: v
            .findings
            .into_iter()
            .map(|f| host::Finding {
                rule_id: f.rule_id,
                severity: match f.severity {
                    Severity::Low => host::Severity::Low,
                    Severity::Medium => host::Severity::Medium,
                    Severity::High => host::Severity::High,
                    Severity::Critical => host::Severity::Critical,
                },
                message: f.message,
                location: f.location,
                evidence: f.evidence,
            })
            .collect(),
        actions: v.actions,
    }
}
