//! What the integration tests share: evaluate one event with the default settings.

use gavel_policy_sdk::{Decision, Input, Invocation, Policy};
use malicious_content::{MaliciousContent, Settings};

/// The decision and the findings as `rule@location`.
pub fn evaluate(event: &serde_json::Value) -> (Decision, Vec<String>) {
    let invocation = Invocation::request(serde_json::to_vec(event).unwrap());
    let input = Input::new(invocation, Settings::default());
    let report = <MaliciousContent as Policy>::evaluate(&input).unwrap();
    let rules = report
        .findings()
        .iter()
        .map(|f| format!("{}@{}", f.rule_id, f.location))
        .collect();
    (report.decision(), rules)
}
