//! What the host does with a policy's answer once the canonical ABI has lifted it:
//! `engine::check_output` (the bounds: 256 findings, 64 actions, 4 KiB per string, a rule id
//! on every finding; the `policy error: …` message cut to 4 KiB on a UTF-8 boundary), the
//! outcome `Engine::evaluate` builds from it, the combined verdict, the record around it
//! (`record::build`), and what destinations do with that record (`shrink`, `RecordMeta`).
//!
//! Input: an `arbitrary` answer, with repeat counts so that bounds are crossed cheaply.
#![no_main]

use arbitrary::Arbitrary;
use gavel::config::{Mode, PayloadMode};
use gavel::destinations::aws::RecordMeta;
use gavel::destinations::shrink::shrink;
use gavel::engine::bindings::exports::gavel::policy::types::{Finding, Verdict as Answer};
use gavel::engine::{
    Decision, MAX_ACTIONS, MAX_FIELD_BYTES, MAX_FINDINGS, Outcome, OutcomeFinding, Phase, Severity,
    check_output,
};
use gavel::record::{Condition, RecordInput, build};
use gavel::verdict::{Verdict, decision_str, strongest};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum D {
    Allow,
    Alert,
    Deny,
}

impl From<D> for Decision {
    fn from(d: D) -> Self {
        match d {
            D::Allow => Decision::Allow,
            D::Alert => Decision::Alert,
            D::Deny => Decision::Deny,
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum S {
    Low,
    Medium,
    High,
    Critical,
}

impl From<S> for Severity {
    fn from(s: S) -> Self {
        match s {
            S::Low => Severity::Low,
            S::Medium => Severity::Medium,
            S::High => Severity::High,
            S::Critical => Severity::Critical,
        }
    }
}

/// A string, optionally grown past the 4 KiB bound by repeating it.
#[derive(Arbitrary, Debug, Clone)]
struct Text {
    text: String,
    repeat: u8,
}

impl Text {
    fn get(&self) -> String {
        if self.repeat > 200 && !self.text.is_empty() {
            self.text
                .repeat(MAX_FIELD_BYTES / self.text.len() + usize::from(self.repeat - 200))
        } else {
            self.text.clone()
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
struct F {
    rule_id: Text,
    severity: S,
    message: Text,
    location: Text,
    evidence: Text,
}

#[derive(Arbitrary, Debug)]
struct V {
    decision: D,
    findings: Vec<F>,
    /// Extra copies of the last finding (crossing `MAX_FINDINGS`).
    more_findings: u16,
    actions: Vec<Text>,
    more_actions: u8,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    answer: Result<V, Text>,
    /// Outcomes of other policies in the same invocation.
    others: Vec<(D, Option<S>)>,
    on_error: D,
    enforce: bool,
    payloads: u8,
    event: &'a [u8],
    result: Option<&'a [u8]>,
    limit: u32,
}

fn finding(f: &F) -> Finding {
    Finding {
        rule_id: f.rule_id.get(),
        severity: f.severity.into(),
        message: f.message.get(),
        location: f.location.get(),
        evidence: f.evidence.get(),
    }
}

fuzz_target!(|input: Input<'_>| {
    let answer = match &input.answer {
        Ok(v) => {
            let mut findings: Vec<Finding> = v.findings.iter().map(finding).collect();
            if let Some(last) = v.findings.last() {
                let extra = usize::from(v.more_findings % 400);
                findings.extend(std::iter::repeat_n(finding(last), extra));
            }
            let mut actions: Vec<String> = v.actions.iter().map(Text::get).collect();
            if let Some(last) = v.actions.last() {
                actions.extend(std::iter::repeat_n(last.get(), usize::from(v.more_actions)));
            }
            Ok(Answer {
                decision: v.decision.into(),
                findings,
                actions,
            })
        }
        Err(message) => Err(message.get()),
    };
    let within_bounds = match &answer {
        Ok(v) => {
            v.findings.len() <= MAX_FINDINGS
                && v.actions.len() <= MAX_ACTIONS
                && v.findings
                    .iter()
                    .flat_map(|f| [&f.rule_id, &f.message, &f.location, &f.evidence])
                    .chain(&v.actions)
                    .all(|s| s.len() <= MAX_FIELD_BYTES)
                && v.findings.iter().all(|f| !f.rule_id.is_empty())
        }
        Err(_) => false,
    };
    let policy_error = answer.as_ref().err().cloned();
    let expected = answer
        .as_ref()
        .ok()
        .map(|v| (v.findings.len(), v.actions.len()));

    let on_error: Decision = input.on_error.into();
    let mut outcome = Outcome {
        name: "fuzz".into(),
        version: "0.0.0".into(),
        sha256: "00".repeat(32),
        phase: Phase::Request,
        decision: Decision::Allow,
        duration_us: 1,
        error: None,
        findings: Vec::new(),
        actions: Vec::new(),
    };
    // The bounds, then the outcome exactly as `Engine::evaluate` builds it.
    let checked = check_output(answer);
    match &checked {
        Ok(verdict) => {
            assert!(within_bounds, "an out-of-bounds verdict was accepted");
            assert_eq!(
                Some((verdict.findings.len(), verdict.actions.len())),
                expected
            );
        }
        Err(error) => {
            assert!(
                !within_bounds,
                "a verdict within bounds was refused: {error}"
            );
            match &policy_error {
                Some(message) => {
                    let kept = error
                        .strip_prefix("policy error: ")
                        .expect("a policy's err is reported as a policy error");
                    assert!(kept.len() <= MAX_FIELD_BYTES);
                    assert!(message.starts_with(kept));
                    assert!(kept.len() == message.len() || kept.len() + 4 > MAX_FIELD_BYTES);
                }
                None => assert!(error.starts_with("malformed output: "), "{error}"),
            }
        }
    }
    outcome.settle(checked, on_error);

    let mut outcomes = vec![outcome];
    for (i, (d, s)) in input.others.iter().take(8).enumerate() {
        outcomes.push(Outcome {
            name: format!("other-{i}"),
            decision: (*d).into(),
            findings: s
                .map(|s| OutcomeFinding {
                    rule_id: "other.rule".into(),
                    severity: s.into(),
                    message: String::new(),
                    location: String::new(),
                    evidence: String::new(),
                })
                .into_iter()
                .collect(),
            ..outcomes[0].clone()
        });
    }
    let decisions: Vec<Decision> = outcomes.iter().map(|o| o.decision).collect();
    let mode = if input.enforce {
        Mode::Enforce
    } else {
        Mode::Monitor
    };
    let verdict = Verdict::new(mode, outcomes, input.enforce);
    assert_eq!(verdict.decision, strongest(decisions));
    let _ = verdict.highest_severity();

    let payloads = match input.payloads % 3 {
        0 => PayloadMode::Full,
        1 => PayloadMode::Truncated,
        _ => PayloadMode::Digest,
    };
    let record = build(&RecordInput {
        request_id: "8f5e-fuzz",
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f",
        condition: Condition::Success,
        event: input.event,
        result: input.result,
        function_error: None,
        telemetry: None,
        verdict: &verdict,
        payloads,
    });
    let text = record.to_string();
    let back: Value = serde_json::from_str(&text).expect("a record is JSON");
    assert_eq!(back["verdict"]["decision"], decision_str(verdict.decision));
    assert_eq!(
        back["verdict"]["policies"].as_array().map(Vec::len),
        Some(verdict.policies.len())
    );
    let meta = RecordMeta::of(&text);
    assert_eq!(meta.decision, decision_str(verdict.decision));
    let limit = 256 + input.limit as usize % (text.len() + 1);
    let small = shrink(&text, limit);
    let small: Value = serde_json::from_str(&small).expect("a shrunk record is JSON");
    assert_eq!(small["requestPayloadSha256"], back["requestPayloadSha256"]);
    assert_eq!(small["verdict"]["decision"], back["verdict"]["decision"]);
});
