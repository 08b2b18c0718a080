//! The Lambda handler: SQS partial batch failures (failed actions only), SNS and direct
//! invocations, reports delivered to a queue or topic.

use gavel_responder::HandlerError;
use serde_json::{Value, json};

use crate::moto::arn;
use crate::{BREAK_GLASS, Fixture, record};

fn sqs_message(id: &str, body: &str) -> Value {
    json!({"messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": arn("sqs", "gavel-verdicts"), "awsRegion": "us-east-1"})
}

fn sns_record(id: &str, message: &str) -> Value {
    json!({"EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{}:sub", arn("sns", "gavel-verdicts")),
        "Sns": {"Type": "Notification", "MessageId": id, "TopicArn": arn("sns", "gavel-verdicts"),
            "Subject": null, "Timestamp": "2026-11-29T20:00:00.000Z", "SignatureVersion": "1",
            "Signature": "", "SigningCertUrl": "", "UnsubscribeUrl": "", "Message": message,
            "MessageAttributes": {}}})
}

async fn bucket(f: &Fixture, name: &str) {
    f.c.s3.create_bucket().bucket(name).send().await.unwrap();
}

fn quarantine(id: &str, bucket: &str) -> String {
    record(id, "deny", &[format!("quarantine-bucket:{bucket}")]).to_string()
}

#[tokio::test]
async fn sqs_batch_item_failures_name_only_records_whose_actions_failed() {
    let f = Fixture::start().await;
    bucket(&f, "payroll-ok").await;
    let (reports_url, reports_arn) = f.c.queue("responder-reports").await.unwrap();
    let r = f.responder(&[
        ("GAVEL_RESPONDER_ALLOW_BUCKETS", "payroll-*"),
        ("GAVEL_RESPONDER_BREAK_GLASS_ROLE", BREAK_GLASS),
        ("GAVEL_RESPONDER_REPORT_TO", &reports_arn),
    ]);
    let event = json!({"Records": [
        sqs_message("m-applied", &quarantine("r-1", "payroll-ok")),
        sqs_message("m-failed", &quarantine("r-2", "payroll-missing")),
        sqs_message("m-refused", &quarantine("r-3", "marketing")),
        sqs_message("m-unreadable", "{not json"),
    ]});
    let answer = r.handle(event).await.unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "m-failed"}]})
    );

    let mut reports: Vec<Value> =
        f.c.drain(&reports_url)
            .await
            .unwrap()
            .into_iter()
            .map(|m| serde_json::from_str(m.body.as_deref().unwrap()).unwrap())
            .collect();
    reports.sort_by_key(|r| r["responder"]["messageId"].as_str().unwrap().to_string());
    let summary: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| {
            let p = &r["responder"];
            (
                p["messageId"].as_str().unwrap(),
                p["actions"][0]["outcome"]
                    .as_str()
                    .or(p["error"].as_str().map(|_| "error"))
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("m-applied", "applied"),
            ("m-failed", "failed"),
            ("m-refused", "refused"),
            ("m-unreadable", "error")
        ]
    );
    for r in &reports {
        assert_eq!(r["version"], "1.0");
        assert_eq!(r["source"], "gavel-responder");
        assert!(r["timestamp"].is_string());
    }
    assert_eq!(reports[0]["responder"]["recordRequestId"], "r-1");
    assert!(
        reports[3]["responder"]["error"]
            .as_str()
            .unwrap()
            .starts_with("not JSON")
    );
}

#[tokio::test]
async fn sns_and_direct_invocations_fail_only_when_an_action_failed() {
    let f = Fixture::start().await;
    bucket(&f, "payroll-ok").await;
    let (reports_topic, inbox) =
        f.c.topic_with_inbox("responder-reports", "reports-inbox")
            .await
            .unwrap();
    let r = f.responder(&[
        ("GAVEL_RESPONDER_ALLOW_BUCKETS", "payroll-*"),
        ("GAVEL_RESPONDER_BREAK_GLASS_ROLE", BREAK_GLASS),
        ("GAVEL_RESPONDER_REPORT_TO", &reports_topic),
    ]);

    let ok = json!({"Records": [sns_record("s-1", &quarantine("r-1", "payroll-ok"))]});
    let answer = r.handle(ok).await.unwrap();
    assert_eq!(
        answer["reports"][0]["responder"]["actions"][0]["outcome"],
        "applied"
    );
    assert_eq!(answer["reports"][0]["responder"]["messageId"], "s-1");

    let failing = json!({"Records": [sns_record("s-2", &quarantine("r-2", "payroll-missing"))]});
    match r.handle(failing).await {
        Err(HandlerError::ActionsFailed {
            failed: 1,
            total: 1,
        }) => {}
        other => panic!("expected a failed invocation, got {other:?}"),
    }

    // A gavel Lambda destination invokes with the record itself (here: already quarantined).
    let direct: Value = serde_json::from_str(&quarantine("r-3", "payroll-ok")).unwrap();
    let answer = r.handle(direct).await.unwrap();
    assert_eq!(
        answer["reports"][0]["responder"]["actions"][0]["outcome"],
        "already-applied"
    );

    // An EventBridge rule targeting the function: the record is `detail`.
    let eb = json!({"version": "0", "detail-type": "Gavel Verdict", "source": "gavel",
        "detail": serde_json::from_str::<Value>(&quarantine("r-4", "payroll-ok")).unwrap()});
    let answer = r.handle(eb).await.unwrap();
    assert_eq!(answer["reports"][0]["responder"]["recordRequestId"], "r-4");

    // Every report reached the topic.
    let delivered: Vec<String> =
        f.c.drain(&inbox)
            .await
            .unwrap()
            .into_iter()
            .map(|m| {
                let envelope: Value = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
                let report: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
                report["responder"]["recordRequestId"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
    let mut delivered = delivered;
    delivered.sort();
    assert_eq!(delivered, ["r-1", "r-2", "r-3", "r-4"]);
}

#[tokio::test]
async fn records_wrapped_by_sns_inside_sqs_are_read() {
    let f = Fixture::start().await;
    bucket(&f, "payroll-ok").await;
    let r = f.responder(&[
        ("GAVEL_RESPONDER_ALLOW_BUCKETS", "payroll-*"),
        ("GAVEL_RESPONDER_BREAK_GLASS_ROLE", BREAK_GLASS),
    ]);
    // SNS → SQS without raw message delivery: the body is SNS's envelope.
    let envelope = json!({"Type": "Notification", "MessageId": "n-1",
        "TopicArn": arn("sns", "gavel-verdicts"), "Message": quarantine("r-1", "payroll-ok")});
    let event = json!({"Records": [sqs_message("m-1", &envelope.to_string())]});
    assert_eq!(
        r.handle(event).await.unwrap(),
        json!({"batchItemFailures": []})
    );
    let state = gavel_responder::actions::s3::read_state(&f.c.s3, "payroll-ok")
        .await
        .unwrap();
    assert!(
        state
            .policy
            .is_some_and(|p| p.contains("GavelQuarantineDenyAll"))
    );
}
