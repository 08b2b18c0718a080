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

/// Longest string the host accepts in a verdict (`MAX_FIELD_BYTES` in the host's
/// `extension/src/engine/eval.rs`): one longer string makes the whole verdict malformed output.
pub const MAX_FIELD_BYTES: usize = 4096;

/// Most actions the host accepts in a verdict (`MAX_ACTIONS` there).
pub const MAX_ACTIONS: usize = 64;

/// `s` cut to [`MAX_FIELD_BYTES`] on a character boundary. Locations are JSON pointers built
/// from attacker-chosen keys: uncut, one key longer than the host's bound turned the policy's
/// `deny` into a policy error, so the attack was not blocked (fuzz target `shipped_policies`).
fn bounded(mut s: String) -> String {
    if s.len() > MAX_FIELD_BYTES {
        let mut end = MAX_FIELD_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

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
                rule_id: bounded(rule_id.to_string()),
                severity,
                message: bounded(message.into()),
                location: bounded(location.into()),
                evidence: bounded(evidence.into()),
            });
        }
    }

    /// Raise the decision without a finding.
    pub fn raise(&mut self, decision: Decision) {
        if self.decision.is_none_or(|d| rank(decision) > rank(d)) {
            self.decision = Some(decision);
        }
    }

    /// Suggest an action (deduplicated), e.g. `quarantine-bucket:<name>`. Past the host's
    /// bounds ([`MAX_ACTIONS`], [`MAX_FIELD_BYTES`]) an action is dropped: the host would refuse
    /// the whole verdict, and a cut action would name another resource.
    pub fn action(&mut self, action: impl Into<String>) {
        let action = action.into();
        if action.len() > MAX_FIELD_BYTES || self.actions.len() >= MAX_ACTIONS {
            return;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_stay_within_the_host_bounds() {
        // Regression (fuzz target `shipped_policies`): a finding located under a JSON key of
        // 5000 bytes made the host refuse the verdict as malformed output.
        let mut report = Report::default();
        let long = format!("/body/{}", "é".repeat(3000));
        report.add(
            Decision::Deny,
            "sqli.tautology",
            Severity::High,
            "m",
            long.clone(),
            "e",
        );
        let f = &report.findings()[0];
        assert!(f.location.len() <= MAX_FIELD_BYTES);
        assert!(long.starts_with(&f.location));
        assert!(
            f.location.len() > MAX_FIELD_BYTES - 4,
            "cut only as far as needed"
        );

        report.action(format!("quarantine-bucket:{}", "b".repeat(MAX_FIELD_BYTES)));
        assert!(
            report.actions().is_empty(),
            "an oversized action is dropped, not cut"
        );
        for i in 0..100 {
            report.action(format!("revoke-principal:{i}"));
        }
        assert_eq!(report.actions().len(), MAX_ACTIONS);
        assert_eq!(report.decision(), Decision::Deny);
    }
}
