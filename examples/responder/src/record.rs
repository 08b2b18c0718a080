//! record: the gavel verdict record (Lambda Destinations record + `verdict`, see
//! `shared/CONTRACT.md`) as the responder reads it, and the actions its policies suggest.
//!
//! Lenient where gavel may grow (unknown fields are ignored), strict where acting depends on it
//! (request id, decision, actions).

use serde::Deserialize;
use serde_json::Value;

/// A record that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not a gavel record; names the failing path.
    #[error("not a gavel record: {path}: {message}")]
    Shape {
        /// JSON path of the field that did not fit.
        path: String,
        /// What serde said.
        message: String,
    },
}

/// A verdict decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Nothing found.
    Allow,
    /// A weaker signal.
    Alert,
    /// A high-confidence finding.
    Deny,
}

impl Decision {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Alert => "alert",
            Decision::Deny => "deny",
        }
    }
}

/// `requestContext`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    /// The judged invocation's request id (the dedup key of a record).
    pub request_id: String,
    /// The judged function.
    #[serde(default)]
    pub function_arn: Option<String>,
    /// `Success`, `Failure` or `Blocked`.
    #[serde(default)]
    pub condition: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Rule id, e.g. `ua.sensitive-bucket`.
    pub rule_id: String,
    /// `low` … `critical`.
    #[serde(default)]
    pub severity: Option<String>,
    /// Human-readable message.
    #[serde(default)]
    pub message: Option<String>,
}

/// One policy's outcome.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyOutcome {
    /// Policy name.
    pub name: String,
    /// The policy's own decision.
    #[serde(default)]
    pub decision: Option<Decision>,
    /// Findings.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Suggested responses, e.g. `quarantine-bucket:<name>`.
    #[serde(default)]
    pub actions: Vec<String>,
}

/// `verdict`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The combined decision.
    pub decision: Decision,
    /// `monitor` or `enforce`.
    #[serde(default)]
    pub mode: Option<String>,
    /// Whether gavel blocked the invocation.
    #[serde(default)]
    pub enforced: Option<bool>,
    /// Per-policy outcomes.
    #[serde(default)]
    pub policies: Vec<PolicyOutcome>,
}

/// A gavel record.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Record time (RFC 3339).
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Who and which invocation.
    pub request_context: RequestContext,
    /// The event, as `GAVEL_PAYLOADS` left it (JSON, a string, or absent).
    #[serde(default)]
    pub request_payload: Option<Value>,
    /// The verdict.
    pub verdict: Verdict,
}

/// What a record asks the responder to do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `quarantine-bucket:<bucket>`.
    QuarantineBucket(String),
    /// `revoke-principal:<arn>`.
    RevokePrincipal(String),
    /// `notify:<topic-arn>`.
    Notify(String),
    /// Anything else (reported as refused: a newer policy may suggest what this responder
    /// does not know).
    Unknown(String),
}

impl Action {
    /// From the record's spelling.
    pub fn parse(s: &str) -> Self {
        match s.split_once(':') {
            Some(("quarantine-bucket", b)) if !b.is_empty() => Action::QuarantineBucket(b.into()),
            Some(("revoke-principal", p)) if !p.is_empty() => Action::RevokePrincipal(p.into()),
            Some(("notify", t)) if !t.is_empty() => Action::Notify(t.into()),
            _ => Action::Unknown(s.into()),
        }
    }

    /// The verb, as reported (`quarantine-bucket`, …; the whole string for unknown actions).
    pub fn kind(&self) -> &str {
        match self {
            Action::QuarantineBucket(_) => "quarantine-bucket",
            Action::RevokePrincipal(_) => "revoke-principal",
            Action::Notify(_) => "notify",
            Action::Unknown(s) => s.split_once(':').map_or(s.as_str(), |(k, _)| k),
        }
    }

    /// What it acts on.
    pub fn target(&self) -> &str {
        match self {
            Action::QuarantineBucket(t) | Action::RevokePrincipal(t) | Action::Notify(t) => t,
            Action::Unknown(s) => s.split_once(':').map_or("", |(_, t)| t),
        }
    }

    /// Containment first, notifications last (so a summary can say what was done).
    fn order(&self) -> u8 {
        match self {
            Action::QuarantineBucket(_) => 0,
            Action::RevokePrincipal(_) => 1,
            Action::Unknown(_) => 2,
            Action::Notify(_) => 3,
        }
    }
}

impl Record {
    /// Reads a record from a message body: the record itself, or wrapped once more by SNS
    /// (an SNS→SQS subscription without raw message delivery) or EventBridge (`detail`).
    pub fn from_text(text: &str) -> Result<Self, RecordError> {
        let mut value: Value = serde_json::from_str(text)?;
        for _ in 0..2 {
            if value.get("verdict").is_some() {
                break;
            }
            if value["Type"] == "Notification"
                && let Some(m) = value["Message"].as_str()
            {
                value = serde_json::from_str(m)?;
                continue;
            }
            if value.get("detail-type").is_some() && value["detail"].is_object() {
                value = value["detail"].take();
                continue;
            }
            break;
        }
        Self::from_value(value)
    }

    /// Reads a record from JSON.
    pub fn from_value(value: Value) -> Result<Self, RecordError> {
        serde_path_to_error::deserialize(value).map_err(|e| RecordError::Shape {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })
    }

    /// Whether the responder acts on this record: `deny` and `alert` only (an `allow` record
    /// carries no findings to respond to).
    pub fn actionable(&self) -> bool {
        matches!(self.verdict.decision, Decision::Deny | Decision::Alert)
    }

    /// Every policy's actions, deduplicated (two policies may suggest the same one),
    /// containment first and notifications last.
    pub fn actions(&self) -> Vec<Action> {
        let mut out: Vec<Action> = Vec::new();
        for a in self.verdict.policies.iter().flat_map(|p| &p.actions) {
            let a = Action::parse(a.trim());
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out.sort_by_key(Action::order);
        out
    }

    /// `ruleId (severity)` of every finding.
    pub fn rules(&self) -> Vec<String> {
        self.verdict
            .policies
            .iter()
            .flat_map(|p| &p.findings)
            .map(|f| match &f.severity {
                Some(s) => format!("{} ({s})", f.rule_id),
                None => f.rule_id.clone(),
            })
            .collect()
    }

    /// The principal involved: the `revoke-principal:` target, else the caller in a CloudTrail
    /// event embedded in the payload.
    pub fn principal(&self) -> Option<String> {
        self.actions()
            .into_iter()
            .find_map(|a| match a {
                Action::RevokePrincipal(p) => Some(p),
                _ => None,
            })
            .or_else(|| {
                let p = self.request_payload.as_ref()?;
                let id = p
                    .pointer("/detail/userIdentity")
                    .or_else(|| p.pointer("/userIdentity"))?;
                id["arn"].as_str().map(String::from)
            })
    }

    /// The bucket involved: the `quarantine-bucket:` target, else the bucket in an embedded
    /// CloudTrail event.
    pub fn bucket(&self) -> Option<String> {
        self.actions()
            .into_iter()
            .find_map(|a| match a {
                Action::QuarantineBucket(b) => Some(b),
                _ => None,
            })
            .or_else(|| {
                let p = self.request_payload.as_ref()?;
                p.pointer("/detail/requestParameters/bucketName")
                    .or_else(|| p.pointer("/requestParameters/bucketName"))?
                    .as_str()
                    .map(String::from)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(decision: &str, actions: &[&str]) -> Value {
        json!({"version": "1.0", "timestamp": "2026-11-29T20:00:00.000Z",
            "requestContext": {"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f", "condition": "Blocked"},
            "requestPayload": {"detail": {"userIdentity": {"arn": "arn:aws:sts::123456789012:assumed-role/c/s"},
                "requestParameters": {"bucketName": "b"}}},
            "verdict": {"decision": decision, "mode": "enforce", "enforced": true, "policies": [
                {"name": "unauthorized-access", "decision": decision,
                 "findings": [{"ruleId": "ua.sensitive-bucket", "severity": "high"}], "actions": actions},
                {"name": "other", "decision": decision, "findings": [], "actions": ["notify:arn:aws:sns:us-east-1:123456789012:t", actions.first().copied().unwrap_or("x:y")]}]}})
    }

    #[test]
    fn actions_deduplicated_containment_first() {
        let r = Record::from_value(record(
            "deny",
            &[
                "revoke-principal:arn:aws:iam::123456789012:role/c",
                "quarantine-bucket:b",
                "frobnicate:z",
            ],
        ))
        .unwrap();
        let kinds: Vec<_> = r
            .actions()
            .iter()
            .map(|a| (a.kind().to_string(), a.target().to_string()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("quarantine-bucket", "b"),
                ("revoke-principal", "arn:aws:iam::123456789012:role/c"),
                ("frobnicate", "z"),
                ("notify", "arn:aws:sns:us-east-1:123456789012:t"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(r.actionable());
        assert_eq!(r.rules(), ["ua.sensitive-bucket (high)"]);
    }

    #[test]
    fn principal_and_bucket_fall_back_to_the_payload() {
        let r = Record::from_value(record("alert", &[])).unwrap();
        assert_eq!(
            r.principal().as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/c/s")
        );
        assert_eq!(r.bucket().as_deref(), Some("b"));
        let r = Record::from_value(record("deny", &["quarantine-bucket:q"])).unwrap();
        assert_eq!(r.bucket().as_deref(), Some("q"));
    }

    #[test]
    fn allow_is_not_actionable() {
        assert!(
            !Record::from_value(record("allow", &[]))
                .unwrap()
                .actionable()
        );
    }

    #[test]
    fn unwraps_sns_and_eventbridge_envelopes() {
        let inner = record("deny", &["quarantine-bucket:b"]).to_string();
        let sns = json!({"Type": "Notification", "MessageId": "m", "Message": inner}).to_string();
        assert_eq!(
            Record::from_text(&sns).unwrap().request_context.request_id,
            "r-1"
        );
        let eb = json!({"detail-type": "Gavel Verdict", "source": "gavel", "detail": record("deny", &[])}).to_string();
        assert_eq!(
            Record::from_text(&eb).unwrap().request_context.request_id,
            "r-1"
        );
    }

    #[test]
    fn errors_name_the_path() {
        let mut v = record("deny", &[]);
        v["verdict"]["decision"] = json!("maybe");
        let e = Record::from_value(v).unwrap_err().to_string();
        assert!(e.contains("verdict.decision"), "{e}");
        assert!(
            Record::from_text("{")
                .unwrap_err()
                .to_string()
                .starts_with("not JSON")
        );
    }
}
