//! notify: a human-readable summary of a record (and of what the responder did about it),
//! published to an SNS topic for `notify:<topic-arn>` and `GAVEL_RESPONDER_NOTIFY_TOPIC`.

use std::fmt::Write as _;

use aws_config::SdkConfig;

use crate::arn::Arn;
use crate::aws::{dedup_id, describe};
use crate::record::Record;
use crate::report::ActionReport;

/// SNS's subject limit.
const SUBJECT_MAX: usize = 100;

/// The subject line: `gavel deny: <function name>` (ASCII, no line breaks, ≤ 100 characters).
pub fn subject(record: &Record) -> String {
    let function = record
        .request_context
        .function_arn
        .as_deref()
        .and_then(|a| a.rsplit(':').next())
        .unwrap_or("unknown function");
    let s: String = format!("gavel {}: {function}", record.verdict.decision.as_str())
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    s.chars().take(SUBJECT_MAX).collect()
}

/// The message body: decision, function, rules, principal, bucket, findings and what the
/// responder did so far.
pub fn summary(record: &Record, done: &[ActionReport], dry_run: bool) -> String {
    let v = &record.verdict;
    let mut out = String::new();
    let mode = v.mode.as_deref().unwrap_or("unknown");
    let blocked = if v.enforced == Some(true) {
        ", invocation blocked"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "gavel verdict: {} ({mode} mode{blocked})",
        v.decision.as_str().to_uppercase()
    );
    let ctx = &record.request_context;
    let line = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "{k:<10} {v}");
    };
    line(
        &mut out,
        "function:",
        ctx.function_arn.as_deref().unwrap_or("unknown"),
    );
    line(
        &mut out,
        "request:",
        &format!(
            "{} at {}",
            ctx.request_id,
            record.timestamp.as_deref().unwrap_or("unknown time")
        ),
    );
    let rules = record.rules();
    line(
        &mut out,
        "rules:",
        &if rules.is_empty() {
            "-".to_string()
        } else {
            rules.join(", ")
        },
    );
    line(
        &mut out,
        "principal:",
        record.principal().as_deref().unwrap_or("-"),
    );
    line(
        &mut out,
        "bucket:",
        record.bucket().as_deref().unwrap_or("-"),
    );
    let findings: Vec<_> = v
        .policies
        .iter()
        .flat_map(|p| p.findings.iter().map(move |f| (p, f)))
        .collect();
    if !findings.is_empty() {
        out.push_str("findings:\n");
        for (p, f) in findings {
            let _ = writeln!(
                out,
                "  - [{}] {}: {}",
                p.name,
                f.rule_id,
                f.message.as_deref().unwrap_or("")
            );
        }
    }
    if !done.is_empty() {
        let _ = writeln!(out, "responder{}:", if dry_run { " (dry run)" } else { "" });
        for a in done {
            let _ = writeln!(
                out,
                "  - {} {}: {} ({})",
                a.action,
                a.target,
                a.outcome.as_str(),
                a.detail
            );
        }
    }
    out
}

/// Publishes one summary. FIFO topics get the function as message group and a deduplication
/// id from the record's request id, so a redelivered record is not announced twice; on
/// standard topics notifications are at-least-once.
pub async fn publish(
    aws: &SdkConfig,
    topic: &Arn,
    record: &Record,
    subject: &str,
    message: &str,
) -> Result<String, String> {
    let sns = crate::aws::sns(aws, &topic.region);
    let topic_arn = topic.to_string();
    let mut req = sns
        .publish()
        .topic_arn(&topic_arn)
        .subject(subject)
        .message(message);
    if topic.resource.ends_with(".fifo") {
        let group = record
            .request_context
            .function_arn
            .as_deref()
            .and_then(|a| a.rsplit(':').next())
            .unwrap_or("gavel");
        req = req
            .message_group_id(group)
            .message_deduplication_id(dedup_id(&[&record.request_context.request_id, &topic_arn]));
    }
    let out = req
        .send()
        .await
        .map_err(|e| format!("Publish: {}", describe(&e)))?;
    Ok(out.message_id.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;
    use serde_json::json;

    #[test]
    fn summary_names_function_decision_rules_principal_bucket() {
        let r = Record::from_value(json!({
            "timestamp": "2026-11-29T20:00:00.000Z",
            "requestContext": {"requestId": "req-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders"},
            "verdict": {"decision": "deny", "mode": "enforce", "enforced": true, "policies": [
                {"name": "unauthorized-access", "findings": [{"ruleId": "ua.sensitive-bucket", "severity": "high", "message": "GetObject by contractor"}],
                 "actions": ["revoke-principal:arn:aws:iam::123456789012:role/contractor", "quarantine-bucket:payroll-exports"]}]}
        }))
        .unwrap();
        assert_eq!(subject(&r), "gavel deny: orders");
        let done = [ActionReport::new(
            "quarantine-bucket",
            "payroll-exports",
            Outcome::Applied,
            "put the quarantine policy",
        )];
        let s = summary(&r, &done, false);
        for want in [
            "gavel verdict: DENY (enforce mode, invocation blocked)",
            "function:  arn:aws:lambda:us-east-1:123456789012:function:orders",
            "request:   req-1 at 2026-11-29T20:00:00.000Z",
            "rules:     ua.sensitive-bucket (high)",
            "principal: arn:aws:iam::123456789012:role/contractor",
            "bucket:    payroll-exports",
            "[unauthorized-access] ua.sensitive-bucket: GetObject by contractor",
            "quarantine-bucket payroll-exports: applied (put the quarantine policy)",
        ] {
            assert!(s.contains(want), "{want:?} not in\n{s}");
        }
    }
}
