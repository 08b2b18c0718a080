//! notify: summaries reach the topic (read back through a subscribed SQS queue), only for
//! allowed topics, never in dry-run.

use serde_json::Value;

use crate::moto::{arn, role_arn};
use crate::{Fixture, outcomes, record, respond};

/// (subject, message) of everything the inbox queue got.
async fn inbox(f: &Fixture, url: &str) -> Vec<(String, String)> {
    f.c.drain(url)
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            let v: Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
            (
                v["Subject"].as_str().unwrap_or("").to_string(),
                v["Message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn notify_publishes_a_readable_summary() {
    let f = Fixture::start().await;
    let (topic, url) =
        f.c.topic_with_inbox("security-alerts", "inbox")
            .await
            .unwrap();
    let r = f.responder(&[("GAVEL_RESPONDER_ALLOW_TOPICS", &arn("sns", "security-*"))]);
    let actions = vec![
        format!("notify:{topic}"),
        format!("revoke-principal:{}", role_arn("contractor")),
        "quarantine-bucket:payroll-exports".to_string(),
    ];
    let report = respond(&r, &record("r-1", "deny", &actions)).await;
    assert_eq!(
        outcomes(&report),
        [
            ("quarantine-bucket".into(), "refused"),
            ("revoke-principal".into(), "refused"),
            ("notify".into(), "applied")
        ]
    );
    let got = inbox(&f, &url).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let (subject, message) = &got[0];
    assert_eq!(subject, "gavel deny: orders");
    for want in [
        "gavel verdict: DENY (enforce mode, invocation blocked)",
        "function:  arn:aws:lambda:us-east-1:123456789012:function:orders",
        "request:   r-1",
        "rules:     ua.sensitive-bucket (high)",
        "principal: arn:aws:iam::123456789012:role/contractor",
        "bucket:    payroll-exports",
        "quarantine-bucket payroll-exports: refused",
    ] {
        assert!(message.contains(want), "{want:?} not in\n{message}");
    }
}

#[tokio::test]
async fn topic_outside_the_allow_list_is_refused_and_nothing_is_published() {
    let f = Fixture::start().await;
    let (topic, url) = f.c.topic_with_inbox("ops-chatter", "inbox").await.unwrap();
    let r = f.responder(&[("GAVEL_RESPONDER_ALLOW_TOPICS", &arn("sns", "security-*"))]);
    let report = respond(&r, &record("r-2", "deny", &[format!("notify:{topic}")])).await;
    assert_eq!(outcomes(&report), [("notify".into(), "refused")]);
    assert!(
        report.responder.actions[0]
            .detail
            .contains("GAVEL_RESPONDER_ALLOW_TOPICS")
    );
    assert!(inbox(&f, &url).await.is_empty());
}

#[tokio::test]
async fn notify_topic_gets_every_acted_on_record_but_not_in_dry_run() {
    let f = Fixture::start().await;
    let (topic, url) = f.c.topic_with_inbox("security-all", "inbox").await.unwrap();
    let r = f.responder(&[("GAVEL_RESPONDER_NOTIFY_TOPIC", &topic)]);
    // An alert without actions still reaches the configured topic.
    let report = respond(&r, &record("r-3", "alert", &[])).await;
    assert_eq!(outcomes(&report), [("notify".into(), "applied")]);
    let got = inbox(&f, &url).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "gavel alert: orders");

    let dry = f.responder(&[
        ("GAVEL_RESPONDER_NOTIFY_TOPIC", &topic),
        ("GAVEL_RESPONDER_DRY_RUN", "true"),
    ]);
    let report = respond(&dry, &record("r-4", "alert", &[])).await;
    assert_eq!(outcomes(&report), [("notify".into(), "dry-run")]);
    assert!(inbox(&f, &url).await.is_empty());
}

#[tokio::test]
async fn allow_records_are_not_acted_on() {
    let f = Fixture::start().await;
    let (topic, url) = f.c.topic_with_inbox("security-all", "inbox").await.unwrap();
    let r = f.responder(&[
        ("GAVEL_RESPONDER_NOTIFY_TOPIC", &topic),
        ("GAVEL_RESPONDER_ALLOW_TOPICS", "*"),
    ]);
    let report = respond(&r, &record("r-5", "allow", &[format!("notify:{topic}")])).await;
    assert!(report.responder.actions.is_empty());
    assert!(
        report
            .responder
            .skipped
            .as_deref()
            .unwrap()
            .contains("allow")
    );
    assert!(inbox(&f, &url).await.is_empty());
}
