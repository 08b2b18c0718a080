//! report: the responder's own record of what it did for one gavel record, and where it goes
//! (`GAVEL_RESPONDER_REPORT_TO`: stdout, an SNS topic or an SQS queue).
//!
//! ```json
//! {"version": "1.0", "timestamp": "2026-11-29T20:00:01.234Z", "source": "gavel-responder",
//!  "responder": {"recordRequestId": "…", "functionArn": "…", "decision": "deny", "dryRun": false,
//!    "messageId": "<SQS/SNS message id>",
//!    "actions": [{"action": "quarantine-bucket", "target": "payroll-exports",
//!                 "outcome": "applied", "detail": "…", "previous": {…}}]}}
//! ```

use std::time::SystemTime;

use aws_config::{Region, SdkConfig};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::arn::Arn;
use crate::aws::describe;
use crate::config::ReportTo;

/// The report format's version.
pub const VERSION: &str = "1.0";
/// `source` of every report.
pub const SOURCE: &str = "gavel-responder";

/// What happened to one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The change was made (or the notification sent).
    Applied,
    /// The state was already what the action makes it; nothing was changed.
    AlreadyApplied,
    /// `GAVEL_RESPONDER_DRY_RUN=true`: `detail` says what would have been done.
    DryRun,
    /// Not allowed (outside an allow-list, an unknown action, a principal the responder never
    /// revokes). Not retried: retrying cannot change the answer.
    Refused,
    /// An AWS call failed; the record is retried (SQS batch item failure, or an error for
    /// SNS / direct invocations).
    Failed,
}

impl Outcome {
    /// The report's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::AlreadyApplied => "already-applied",
            Outcome::DryRun => "dry-run",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

/// One action's report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionReport {
    /// `quarantine-bucket`, `revoke-principal`, `notify` (or an unknown verb).
    pub action: String,
    /// Bucket name, principal ARN or topic ARN.
    pub target: String,
    /// What happened.
    pub outcome: Outcome,
    /// Human-readable: what was (or would be) changed, or why not.
    pub detail: String,
    /// For a quarantine that changed the bucket: its policy and public access block before,
    /// a second copy of what was saved in the bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Value>,
}

impl ActionReport {
    /// A report without `previous`.
    pub fn new(action: &str, target: &str, outcome: Outcome, detail: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            target: target.into(),
            outcome,
            detail: detail.into(),
            previous: None,
        }
    }
}

/// `responder`.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResponderPart {
    /// The gavel record's `requestContext.requestId` (absent when the record was unreadable).
    pub record_request_id: Option<String>,
    /// The judged function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_arn: Option<String>,
    /// The record's decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Whether this ran in dry-run mode.
    pub dry_run: bool,
    /// The SQS or SNS message that carried the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// One entry per action, in the order they ran.
    pub actions: Vec<ActionReport>,
    /// Why the record was not acted on (an `allow` record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Why the record could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`VERSION`].
    pub version: &'static str,
    /// When the responder finished the record (RFC 3339, milliseconds).
    pub timestamp: String,
    /// [`SOURCE`].
    pub source: &'static str,
    /// What was done.
    pub responder: ResponderPart,
}

impl Report {
    /// A report stamped now.
    pub fn new(responder: ResponderPart) -> Self {
        Self {
            version: VERSION,
            timestamp: now_rfc3339(),
            source: SOURCE,
            responder,
        }
    }

    /// Whether an action failed, so the record should be delivered again.
    pub fn should_retry(&self) -> bool {
        self.responder
            .actions
            .iter()
            .any(|a| a.outcome == Outcome::Failed)
    }

    /// As one JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"reportError\":\"{e}\"}}"))
    }
}

/// Now, RFC 3339 with milliseconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Sends reports where `GAVEL_RESPONDER_REPORT_TO` says.
#[derive(Debug)]
pub struct Reporter {
    to: ReportTo,
    aws: SdkConfig,
    queue_url: OnceCell<String>,
}

impl Reporter {
    /// A reporter; AWS clients use `aws` with the destination ARN's region.
    pub fn new(to: ReportTo, aws: &SdkConfig) -> Self {
        Self {
            to,
            aws: aws.clone(),
            queue_url: OnceCell::new(),
        }
    }

    /// Delivers one report. A delivery failure is logged and the report written to stdout
    /// instead: the actions are done, and retrying the record would not bring it back.
    pub async fn send(&self, report: &Report) {
        let body = report.to_json();
        let sent = match &self.to {
            ReportTo::Stdout => {
                println!("{body}");
                return;
            }
            ReportTo::Sns(topic) => self.publish(topic, &body).await,
            ReportTo::Sqs(queue) => self.enqueue(queue, &body).await,
        };
        if let Err(e) = sent {
            tracing::error!(error = %e, "report not delivered; writing it to stdout");
            println!("{body}");
        }
    }

    async fn publish(&self, topic: &Arn, body: &str) -> Result<(), String> {
        let sns = crate::aws::sns(&self.aws, &topic.region);
        let mut req = sns
            .publish()
            .topic_arn(topic.to_string())
            .message(body)
            .subject("gavel-responder report");
        if topic.resource.ends_with(".fifo") {
            req = req
                .message_group_id(SOURCE)
                .message_deduplication_id(crate::aws::dedup_id(&[body]));
        }
        req.send().await.map(|_| ()).map_err(|e| describe(&e))
    }

    async fn enqueue(&self, queue: &Arn, body: &str) -> Result<(), String> {
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&self.aws)
                .region(Region::new(queue.region.clone()))
                .build(),
        );
        let url = self
            .queue_url
            .get_or_try_init(|| async {
                sqs.get_queue_url()
                    .queue_name(&queue.resource)
                    .queue_owner_aws_account_id(&queue.account)
                    .send()
                    .await
                    .map_err(|e| describe(&e))?
                    .queue_url
                    .ok_or_else(|| "GetQueueUrl returned no URL".to_string())
            })
            .await?;
        let mut req = sqs.send_message().queue_url(url).message_body(body);
        if queue.resource.ends_with(".fifo") {
            req = req
                .message_group_id(SOURCE)
                .message_deduplication_id(crate::aws::dedup_id(&[body]));
        }
        req.send().await.map(|_| ()).map_err(|e| describe(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_documented() {
        let mut a = ActionReport::new("quarantine-bucket", "b", Outcome::AlreadyApplied, "x");
        let r = Report::new(ResponderPart {
            record_request_id: Some("r".into()),
            actions: vec![a.clone()],
            ..Default::default()
        });
        let v: Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["version"], "1.0");
        assert_eq!(v["source"], "gavel-responder");
        assert_eq!(v["responder"]["recordRequestId"], "r");
        assert_eq!(v["responder"]["dryRun"], false);
        assert_eq!(v["responder"]["actions"][0]["outcome"], "already-applied");
        assert!(v["responder"]["actions"][0].get("previous").is_none());
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(!r.should_retry());
        a.outcome = Outcome::Failed;
        let r = Report::new(ResponderPart {
            actions: vec![a],
            ..Default::default()
        });
        assert!(r.should_retry());
    }
}
