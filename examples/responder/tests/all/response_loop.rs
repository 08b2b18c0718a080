//! The loop `make demo-response` shows, asserted: gavel (enforce, unauthorized-access) blocks
//! the intruder and delivers a deny record to SQS; the responder, run as a Lambda function on
//! the SQS event, quarantines the bucket, revokes the intruder's role and notifies; a
//! redelivery changes nothing.

use std::path::Path;

use gavel_responder::actions::iam::{DENY_ALL_SID, POLICY_NAME};
use gavel_responder::actions::s3::SID_PREFIX;
use serde_json::{Value, json};

use crate::moto::role_arn;
use crate::scenario::{BREAK_GLASS_ROLE, BUCKET, ETL_ROLE, INTRUDER_ROLE, World, initial_policy};

fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["responder"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn verdict_to_quarantine_and_revocation() {
    let gavel = gavel_e2e::require_gavel!();
    let policies = gavel_e2e::paths::policy_dir().join("unauthorized-access.wasm");
    assert!(
        policies.is_file(),
        "{} missing: run `make policies`",
        policies.display()
    );
    let responder = Path::new(env!("CARGO_BIN_EXE_gavel-responder"));
    let world = World::setup().await.unwrap();
    let before = world.state().await.unwrap();
    assert_eq!(before.bucket_policy, Some(initial_policy()));

    let (result, messages) = world.judge(gavel).await.unwrap();
    assert_eq!(
        result.error.as_ref().map(|e| e.error_type.as_str()),
        Some("Gavel.Blocked"),
        "{}",
        result.text()
    );
    assert_eq!(messages.len(), 1);
    let record: Value = serde_json::from_str(messages[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(record["verdict"]["decision"], "deny");
    // The policy derived both actions from the event, not from anything the test set up.
    let actions = &record["verdict"]["policies"][0]["actions"];
    assert_eq!(
        actions,
        &json!([
            format!("revoke-principal:{}", role_arn(INTRUDER_ROLE)),
            format!("quarantine-bucket:{BUCKET}")
        ])
    );

    let event = world.sqs_event(&messages);
    let (answer, reports) = world.respond(responder, &event, false).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        reports[0]["responder"]["recordRequestId"],
        record["requestContext"]["requestId"]
    );
    assert_eq!(
        outcomes(&reports[0]),
        [
            ("quarantine-bucket".to_string(), "applied".to_string()),
            ("revoke-principal".to_string(), "applied".to_string()),
            ("notify".to_string(), "applied".to_string()),
        ]
    );

    let after = world.state().await.unwrap();
    let policy = after.bucket_policy.clone().unwrap();
    let deny = &policy["Statement"][0];
    assert_eq!(deny["Sid"], format!("{SID_PREFIX}DenyAll"));
    assert_eq!(
        (&deny["Effect"], &deny["Action"]),
        (&json!("Deny"), &json!("s3:*"))
    );
    assert_eq!(
        deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"][0],
        role_arn(BREAK_GLASS_ROLE)
    );
    assert_eq!(
        after.public_access_block,
        Some(
            json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true})
        )
    );
    let saved = after.saved.as_ref().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(saved["policy"].as_str().unwrap()).unwrap(),
        initial_policy()
    );
    let revoked = after.role(INTRUDER_ROLE);
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].0, POLICY_NAME);
    assert_eq!(revoked[0].1["Statement"][0]["Sid"], DENY_ALL_SID);
    for untouched in [ETL_ROLE, BREAK_GLASS_ROLE] {
        assert!(after.role(untouched).is_empty(), "{untouched} changed");
    }
    assert_eq!(after.other_bucket, before.other_bucket);

    let notes = world.notifications().await.unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].0, "gavel deny: payroll-audit");
    assert!(
        notes[0].1.contains(&format!("bucket:    {BUCKET}")),
        "{}",
        notes[0].1
    );
    assert!(
        notes[0]
            .1
            .contains("quarantine-bucket payroll-exports: applied"),
        "{}",
        notes[0].1
    );

    // SQS redelivers: nothing more happens to the bucket or the role.
    let (answer, reports) = world.respond(responder, &event, false).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}));
    assert_eq!(
        outcomes(&reports[0])[..2],
        [
            (
                "quarantine-bucket".to_string(),
                "already-applied".to_string()
            ),
            (
                "revoke-principal".to_string(),
                "already-applied".to_string()
            ),
        ]
    );
    assert_eq!(world.state().await.unwrap(), after);
}
