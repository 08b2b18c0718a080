//! The verdict: every policy outcome of one invocation combined into one decision, in the
//! record's JSON shape.

use serde_json::{Value, json};

use crate::config::Mode;
use crate::engine::{Decision, Outcome, Phase, Severity};

/// `allow` < `alert` < `deny`.
pub fn rank(d: Decision) -> u8 {
    match d {
        Decision::Allow => 0,
        Decision::Alert => 1,
        Decision::Deny => 2,
    }
}

/// The strongest of `decisions` (`allow` when empty).
pub fn strongest(decisions: impl IntoIterator<Item = Decision>) -> Decision {
    decisions
        .into_iter()
        .max_by_key(|d| rank(*d))
        .unwrap_or(Decision::Allow)
}

/// Lower-case name of a decision.
pub fn decision_str(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::Alert => "alert",
        Decision::Deny => "deny",
    }
}

/// Lower-case name of a phase.
pub fn phase_str(p: Phase) -> &'static str {
    match p {
        Phase::Request => "request",
        Phase::Response => "response",
        Phase::Telemetry => "telemetry",
    }
}

/// Lower-case name of a severity.
pub fn severity_str(s: Severity) -> &'static str {
    match s {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// The combined judgement of one invocation.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Strongest decision of all outcomes.
    pub decision: Decision,
    /// The mode gavel ran in.
    pub mode: Mode,
    /// Whether gavel changed what the function saw or returned.
    pub enforced: bool,
    /// Every policy outcome, in evaluation order.
    pub policies: Vec<Outcome>,
}

impl Verdict {
    /// Combine outcomes.
    pub fn new(mode: Mode, policies: Vec<Outcome>, enforced: bool) -> Self {
        Self {
            decision: strongest(policies.iter().map(|o| o.decision)),
            mode,
            enforced,
            policies,
        }
    }

    /// The highest severity of any finding, for message attributes and routing.
    pub fn highest_severity(&self) -> Option<Severity> {
        self.policies
            .iter()
            .flat_map(|o| o.findings.iter().map(|f| f.severity))
            .max_by_key(|s| *s as u8)
    }

    /// The `verdict` object of the record.
    pub fn to_json(&self) -> Value {
        json!({
            "decision": decision_str(self.decision),
            "mode": self.mode.as_str(),
            "enforced": self.enforced,
            "policies": self.policies.iter().map(outcome_json).collect::<Vec<_>>(),
        })
    }
}

/// One policy outcome as in the contract.
pub fn outcome_json(o: &Outcome) -> Value {
    json!({
        "name": o.name,
        "version": o.version,
        "sha256": o.sha256,
        "phase": phase_str(o.phase),
        "decision": decision_str(o.decision),
        "durationUs": o.duration_us,
        "error": o.error,
        "findings": o.findings.iter().map(|f| json!({
            "ruleId": f.rule_id,
            "severity": severity_str(f.severity),
            "message": f.message,
            "location": f.location,
            "evidence": f.evidence,
        })).collect::<Vec<_>>(),
        "actions": o.actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongest_decision_wins() {
        assert_eq!(strongest([]), Decision::Allow);
        assert_eq!(
            strongest([Decision::Alert, Decision::Allow]),
            Decision::Alert
        );
        assert_eq!(
            strongest([Decision::Alert, Decision::Deny, Decision::Allow]),
            Decision::Deny
        );
    }
}
