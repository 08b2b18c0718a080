//! Collecting findings; the verdict's decision is the strongest decision of any finding.

use crate::{Decision, Finding, Severity, Verdict};

/// Findings and actions of one evaluation.
#[derive(Debug, Default)]
pub struct Report {
    decision: Option<Decision>,
    findings: Vec<Finding>,
    actions: Vec<String>,
}

/// Cap on findings per verdict: enough to explain, small enough for a 256 KiB SNS message.
pub const MAX_FINDINGS: usize = 32;

fn rank(d: Decision) -> u8 {
    match d {
        Decision::Allow => 0,
        Decision::Alert => 1,
        Decision::Deny => 2,
    }
}

impl Report {
    /// Record a finding that implies `decision`.
    pub fn add(
        &mut self,
        decision: Decision,
        rule_id: &str,
        severity: Severity,
        message: impl Into<String>,
        location: impl Into<String>,
        evidence: impl Into<String>,
    ) {
        self.raise(decision);
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(Finding {
                rule_id: rule_id.to_string(),
                severity,
                message: message.into(),
                location: location.into(),
                evidence: evidence.into(),
            });
        }
    }

    /// Raise the decision without a finding.
    pub fn raise(&mut self, decision: Decision) {
        if self.decision.is_none_or(|d| rank(decision) > rank(d)) {
            self.decision = Some(decision);
        }
    }

    /// Suggest an action (deduplicated), e.g. `quarantine-bucket:<name>`.
    pub fn action(&mut self, action: impl Into<String>) {
        let action = action.into();
        if !self.actions.contains(&action) {
            self.actions.push(action);
        }
    }

    /// The decision so far (`allow` when nothing was found).
    pub fn decision(&self) -> Decision {
        self.decision.unwrap_or(Decision::Allow)
    }

    /// Findings so far.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Suggested actions so far.
    pub fn actions(&self) -> &[String] {
        &self.actions
    }

    /// The verdict to return to the host.
    pub fn into_verdict(self) -> Verdict {
        Verdict {
            decision: self.decision(),
            findings: self.findings,
            actions: self.actions,
        }
    }
}
