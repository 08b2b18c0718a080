//! handler: one invocation — read the gavel records an event carries (SQS, SNS, EventBridge or
//! a direct asynchronous invoke), run each record's allowed actions, report, and tell Lambda
//! which records to deliver again.

use aws_config::SdkConfig;
use aws_lambda_events::event::sns::SnsEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::actions::{iam, s3};
use crate::arn::{self, Principal};
use crate::aws::describe;
use crate::config::Config;
use crate::notify;
use crate::record::{Action, Record};
use crate::report::{ActionReport, Outcome, Report, Reporter, ResponderPart};

/// An invocation that Lambda should count as failed (so it retries it).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// An SNS or direct invocation whose actions failed: Lambda's asynchronous retries (and
    /// the function's on-failure destination / DLQ) take over.
    #[error("{failed} of {total} records had failed actions (see their reports)")]
    ActionsFailed {
        /// Records with a failed action.
        failed: usize,
        /// Records in the event.
        total: usize,
    },
    /// An SQS or SNS event that does not have the shape of one.
    #[error("malformed {source_name} event: {message}")]
    Event {
        /// `aws:sqs` or `aws:sns`.
        source_name: &'static str,
        /// What did not fit.
        message: String,
    },
}

impl HandlerError {
    /// The `errorType` Lambda reports.
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::ActionsFailed { .. } => "GavelResponder.ActionsFailed",
            HandlerError::Event { .. } => "GavelResponder.MalformedEvent",
        }
    }
}

/// The responder: configuration plus AWS clients, shared by every invocation.
#[derive(Debug)]
pub struct Responder {
    config: Config,
    aws: SdkConfig,
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::Client,
    reporter: Reporter,
    own_arn: OnceCell<String>,
}

impl Responder {
    /// A responder acting through `aws` (the standard chain in Lambda; a loopback endpoint
    /// in tests).
    pub fn new(config: Config, aws: &SdkConfig) -> Self {
        Self {
            reporter: Reporter::new(config.report_to.clone(), aws),
            config,
            aws: aws.clone(),
            s3: crate::aws::s3(aws),
            iam: aws_sdk_iam::Client::new(aws),
            sts: aws_sdk_sts::Client::new(aws),
            own_arn: OnceCell::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one Lambda event. SQS: returns `{"batchItemFailures": [...]}` naming the
    /// messages whose actions failed (needs `ReportBatchItemFailures` on the event source
    /// mapping). SNS and direct: returns the reports, or an error when an action failed.
    pub async fn handle(&self, event: Value) -> Result<Value, HandlerError> {
        let first = event.pointer("/Records/0");
        let source = first
            .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")))
            .and_then(Value::as_str);
        match source {
            Some("aws:sqs") => {
                let ev: SqsEvent =
                    serde_json::from_value(event).map_err(|e| HandlerError::Event {
                        source_name: "aws:sqs",
                        message: e.to_string(),
                    })?;
                let mut response = SqsBatchResponse::default();
                for m in ev.records {
                    let id = m.message_id.clone().unwrap_or_default();
                    let report = self
                        .respond_text(m.body.as_deref().unwrap_or(""), Some(id.clone()))
                        .await;
                    if report.should_retry() {
                        response.add_failure(id);
                    }
                }
                Ok(json!(response))
            }
            Some("aws:sns") => {
                let ev: SnsEvent =
                    serde_json::from_value(event).map_err(|e| HandlerError::Event {
                        source_name: "aws:sns",
                        message: e.to_string(),
                    })?;
                let total = ev.records.len();
                let mut reports = Vec::new();
                for r in ev.records {
                    reports.push(
                        self.respond_text(&r.sns.message, Some(r.sns.message_id))
                            .await,
                    );
                }
                finish(reports, total)
            }
            _ if event.get("Records").is_some_and(|r| r == &json!([])) => {
                Ok(json!({"batchItemFailures": []}))
            }
            // A gavel Lambda destination invokes with the record itself; an EventBridge rule
            // with the record as `detail`.
            _ => {
                let report = self.respond_text(&event.to_string(), None).await;
                finish(vec![report], 1)
            }
        }
    }

    /// Handles one message body: reads the record, acts, delivers the report, returns it.
    pub async fn respond_text(&self, text: &str, message_id: Option<String>) -> Report {
        let report = match Record::from_text(text) {
            Ok(record) => {
                let mut report = self.respond(&record).await;
                report.responder.message_id = message_id;
                report
            }
            Err(e) => {
                // Not retried: the same bytes would fail the same way.
                tracing::error!(error = %e, message_id = message_id.as_deref().unwrap_or(""), "unreadable record");
                Report::new(ResponderPart {
                    dry_run: self.config.dry_run,
                    message_id,
                    error: Some(e.to_string()),
                    ..Default::default()
                })
            }
        };
        self.reporter.send(&report).await;
        report
    }

    /// Acts on one record (without delivering the report).
    pub async fn respond(&self, record: &Record) -> Report {
        let ctx = &record.request_context;
        let mut part = ResponderPart {
            record_request_id: Some(ctx.request_id.clone()),
            function_arn: ctx.function_arn.clone(),
            decision: Some(record.verdict.decision.as_str().into()),
            dry_run: self.config.dry_run,
            ..Default::default()
        };
        if !record.actionable() {
            tracing::info!(request_id = %ctx.request_id, decision = record.verdict.decision.as_str(), "not acted on");
            part.skipped = Some(format!(
                "decision {} is not acted on (only deny and alert)",
                record.verdict.decision.as_str()
            ));
            return Report::new(part);
        }
        for action in record.actions() {
            let r = match &action {
                Action::QuarantineBucket(b) => self.quarantine(b, &ctx.request_id).await,
                Action::RevokePrincipal(p) => self.revoke(p).await,
                Action::Notify(t) => self.notify_action(t, record, &part.actions).await,
                Action::Unknown(s) => ActionReport::new(
                    action.kind(),
                    action.target(),
                    Outcome::Refused,
                    format!("unknown action {s:?}"),
                ),
            };
            log(&ctx.request_id, &r);
            part.actions.push(r);
        }
        if let Some(topic) = &self.config.notify_topic {
            let r = self.publish_summary(topic, record, &part.actions).await;
            log(&ctx.request_id, &r);
            part.actions.push(r);
        }
        Report::new(part)
    }

    async fn quarantine(&self, bucket: &str, request_id: &str) -> ActionReport {
        let refuse =
            |why: String| ActionReport::new("quarantine-bucket", bucket, Outcome::Refused, why);
        if !self.config.allow_buckets.allows(bucket) {
            return refuse(format!(
                "bucket {bucket} is not in GAVEL_RESPONDER_ALLOW_BUCKETS"
            ));
        }
        // Config guarantees a break-glass role whenever a bucket is allowed.
        let Some(break_glass) = self.config.break_glass_role.as_deref() else {
            return refuse("no GAVEL_RESPONDER_BREAK_GLASS_ROLE".into());
        };
        let own = match self.own_arn().await {
            Ok(a) => a,
            Err(e) => {
                return ActionReport::new(
                    "quarantine-bucket",
                    bucket,
                    Outcome::Failed,
                    format!(
                        "cannot tell which principal the responder runs as, so cannot keep it out of the deny: {e}"
                    ),
                );
            }
        };
        let q = s3::Quarantine {
            bucket,
            break_glass_role: break_glass,
            responder: Some(own),
            request_id,
        };
        s3::quarantine(&self.s3, q, self.config.dry_run).await
    }

    async fn revoke(&self, target: &str) -> ActionReport {
        let refuse =
            |why: String| ActionReport::new("revoke-principal", target, Outcome::Refused, why);
        let principal = match Principal::parse(target) {
            Ok(p) => p,
            Err(e) => return refuse(e),
        };
        if !(self.config.allow_principals.allows(target)
            || self.config.allow_principals.allows(principal.arn()))
        {
            return refuse(format!(
                "principal {} is not in GAVEL_RESPONDER_ALLOW_PRINCIPALS",
                principal.arn()
            ));
        }
        // Never lock out the way back in, nor the responder itself, whatever a record says.
        let same = |arn: &str| {
            Principal::parse(arn).is_ok_and(|o| o == principal || same_role(&o, &principal))
        };
        if self.config.break_glass_role.as_deref().is_some_and(same) {
            return refuse("the break-glass role is never revoked".into());
        }
        if let Ok(own) = self.own_arn().await
            && same(own)
        {
            return refuse("the responder does not revoke itself".into());
        }
        iam::revoke(&self.iam, target, &principal, self.config.dry_run).await
    }

    async fn notify_action(
        &self,
        topic: &str,
        record: &Record,
        done: &[ActionReport],
    ) -> ActionReport {
        let arn = match arn::topic(topic) {
            Ok(a) => a,
            Err(e) => return ActionReport::new("notify", topic, Outcome::Refused, e),
        };
        if !self.config.allow_topics.allows(topic) {
            return ActionReport::new(
                "notify",
                topic,
                Outcome::Refused,
                format!("topic {topic} is not in GAVEL_RESPONDER_ALLOW_TOPICS"),
            );
        }
        self.publish_summary(&arn, record, done).await
    }

    async fn publish_summary(
        &self,
        topic: &arn::Arn,
        record: &Record,
        done: &[ActionReport],
    ) -> ActionReport {
        let target = topic.to_string();
        if self.config.dry_run {
            return ActionReport::new(
                "notify",
                &target,
                Outcome::DryRun,
                format!("would publish a summary to {target}"),
            );
        }
        let subject = notify::subject(record);
        let message = notify::summary(record, done, self.config.dry_run);
        match notify::publish(&self.aws, topic, record, &subject, &message).await {
            Ok(id) => ActionReport::new(
                "notify",
                &target,
                Outcome::Applied,
                format!("published {subject:?} (message {id})"),
            ),
            Err(e) => ActionReport::new("notify", &target, Outcome::Failed, e),
        }
    }

    /// The ARN `aws:PrincipalArn` has for the responder: its role's ARN (with path, from
    /// GetRole) when it runs as a role session, else its caller ARN. Once per cold start.
    async fn own_arn(&self) -> Result<&str, String> {
        self.own_arn
            .get_or_try_init(|| async {
                let me = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| format!("sts:GetCallerIdentity: {}", describe(&e)))?;
                let arn = me.arn.unwrap_or_default();
                match Principal::parse(&arn) {
                    Ok(Principal::Role { name, arn: fallback }) => {
                        match self.iam.get_role().role_name(&name).send().await {
                            Ok(out) => Ok(out.role.map(|r| r.arn).unwrap_or(fallback)),
                            Err(e) => {
                                // Without the path the exemption misses a role under a path;
                                // the break-glass role still gets in.
                                tracing::warn!(role = %name, error = %describe(&e), "iam:GetRole failed; assuming the role has no path");
                                Ok(fallback)
                            }
                        }
                    }
                    _ if !arn.is_empty() => Ok(arn),
                    _ => Err("sts:GetCallerIdentity returned no ARN".to_string()),
                }
            })
            .await
            .map(String::as_str)
    }
}

/// Two role principals naming the same role (a path-less session ARN vs the role ARN).
fn same_role(a: &Principal, b: &Principal) -> bool {
    match (a, b) {
        (Principal::Role { name: x, arn: ax }, Principal::Role { name: y, arn: ay }) => {
            x == y && account(ax) == account(ay)
        }
        _ => false,
    }
}

fn account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4)
}

fn log(request_id: &str, r: &ActionReport) {
    let outcome = r.outcome.as_str();
    match r.outcome {
        Outcome::Failed => {
            tracing::error!(request_id, action = %r.action, target = %r.target, outcome, detail = %r.detail, "action failed")
        }
        Outcome::Refused => {
            tracing::warn!(request_id, action = %r.action, target = %r.target, outcome, detail = %r.detail, "action refused")
        }
        _ => {
            tracing::info!(request_id, action = %r.action, target = %r.target, outcome, detail = %r.detail, "action")
        }
    }
}

fn finish(reports: Vec<Report>, total: usize) -> Result<Value, HandlerError> {
    let failed = reports.iter().filter(|r| r.should_retry()).count();
    if failed > 0 {
        return Err(HandlerError::ActionsFailed { failed, total });
    }
    Ok(json!({"reports": reports}))
}
