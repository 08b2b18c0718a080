//! quarantine-bucket: the named bucket only, previous state saved and restorable, idempotent,
//! dry-run and allow-list respected.

use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use gavel_responder::actions::s3::{self, SAVED_KEY};
use serde_json::{Value, json};

use crate::moto::Clients;
use crate::{BREAK_GLASS, Fixture, outcomes, record, respond};

fn allow_policy(bucket: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "Reads", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/reader"}, "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/*")}]})
    .to_string()
}

async fn bucket(c: &Clients, name: &str, policy: bool) {
    c.s3.create_bucket().bucket(name).send().await.unwrap();
    c.s3.put_object()
        .bucket(name)
        .key("data.csv")
        .body(b"a,b\n".to_vec().into())
        .send()
        .await
        .unwrap();
    if policy {
        c.s3.put_bucket_policy()
            .bucket(name)
            .policy(allow_policy(name))
            .send()
            .await
            .unwrap();
    }
}

async fn partial_block(c: &Clients, name: &str) {
    c.s3.put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(false)
                .block_public_policy(false)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Policy, public access block, the saved object's text, and the object keys.
async fn snapshot(c: &Clients, name: &str) -> (s3::BucketState, Option<String>, Vec<String>) {
    let state = s3::read_state(&c.s3, name).await.unwrap();
    let saved = crate::moto::get_object_as_root(&c.s3, name, SAVED_KEY)
        .await
        .unwrap()
        .map(|b| String::from_utf8(b).unwrap());
    let keys =
        c.s3.list_objects_v2()
            .bucket(name)
            .send()
            .await
            .unwrap()
            .contents
            .unwrap_or_default()
            .into_iter()
            .filter_map(|o| o.key)
            .collect();
    (state, saved, keys)
}

async fn own_arn(c: &Fixture) -> String {
    aws_sdk_sts::Client::new(&c.aws)
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .arn
        .unwrap()
}

fn quarantine(bucket: &str) -> Vec<String> {
    vec![format!("quarantine-bucket:{bucket}")]
}

const ALLOW_ALL: [(&str, &str); 2] = [
    ("GAVEL_RESPONDER_ALLOW_BUCKETS", "*"),
    ("GAVEL_RESPONDER_BREAK_GLASS_ROLE", BREAK_GLASS),
];

#[tokio::test]
async fn quarantine_changes_only_the_named_bucket_and_saves_what_it_replaced() {
    let f = Fixture::start().await;
    bucket(&f.c, "payroll-a", true).await;
    bucket(&f.c, "payroll-b", true).await;
    partial_block(&f.c, "payroll-b").await;
    let b_before = snapshot(&f.c, "payroll-b").await;

    let r = f.responder(&ALLOW_ALL);
    let report = respond(&r, &record("r-1", "deny", &quarantine("payroll-a"))).await;
    assert_eq!(
        outcomes(&report),
        [("quarantine-bucket".into(), "applied")],
        "{report:?}"
    );

    let (a, saved, keys) = snapshot(&f.c, "payroll-a").await;
    let policy: Value = serde_json::from_str(a.policy.as_deref().unwrap()).unwrap();
    let own = own_arn(&f).await;
    let expected = s3::Quarantine {
        bucket: "payroll-a",
        break_glass_role: BREAK_GLASS,
        responder: Some(&own),
        request_id: "r-1",
    }
    .policy();
    assert_eq!(policy, expected);
    let deny = &policy["Statement"][0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Principal"], "*");
    assert_eq!(deny["Action"], "s3:*");
    assert_eq!(
        deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"][0],
        BREAK_GLASS
    );
    assert_eq!(
        a.public_access_block,
        Some(
            json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true})
        )
    );
    let saved = saved.unwrap_or_else(|| panic!("previous policy not saved: {report:?}"));
    let saved: Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(saved["policy"], allow_policy("payroll-a"));
    assert_eq!(saved["publicAccessBlock"], Value::Null);
    assert_eq!(saved["recordRequestId"], "r-1");
    // The data stays; only the saved copy was added.
    assert_eq!(keys, ["data.csv", SAVED_KEY]);
    // The report carries a second copy.
    let previous = report.responder.actions[0].previous.as_ref().unwrap();
    assert_eq!(previous["policy"], allow_policy("payroll-a"));

    assert_eq!(snapshot(&f.c, "payroll-b").await, b_before);
}

#[tokio::test]
async fn restore_puts_back_the_policy_and_public_access_block() {
    let f = Fixture::start().await;
    bucket(&f.c, "with-policy", true).await;
    partial_block(&f.c, "with-policy").await;
    bucket(&f.c, "bare", false).await;
    let before = [
        snapshot(&f.c, "with-policy").await,
        snapshot(&f.c, "bare").await,
    ];

    let r = f.responder(&ALLOW_ALL);
    let mut actions = quarantine("with-policy");
    actions.extend(quarantine("bare"));
    let report = respond(&r, &record("r-2", "deny", &actions)).await;
    assert_eq!(
        outcomes(&report),
        [
            ("quarantine-bucket".into(), "applied"),
            ("quarantine-bucket".into(), "applied")
        ]
    );
    let bare = snapshot(&f.c, "bare").await;
    assert!(
        bare.0.policy.is_some(),
        "bare bucket got the quarantine policy"
    );
    let saved: Value = serde_json::from_str(bare.1.as_deref().unwrap()).unwrap();
    assert_eq!(saved["policy"], Value::Null);

    // restore runs as the break-glass role, which the quarantine lets in; moto cannot tell it
    // apart (see moto::get_object_as_root), so the policy is lifted first as the root could.
    for b in ["with-policy", "bare"] {
        f.c.s3
            .delete_bucket_policy()
            .bucket(b)
            .send()
            .await
            .unwrap();
        s3::restore(&f.c.s3, b).await.unwrap();
    }
    let after = [
        snapshot(&f.c, "with-policy").await,
        snapshot(&f.c, "bare").await,
    ];
    assert_eq!(after, before);
    // Nothing saved: nothing to restore.
    assert!(s3::restore(&f.c.s3, "bare").await.is_err());
}

#[tokio::test]
async fn second_run_is_already_applied_and_changes_nothing() {
    let f = Fixture::start().await;
    bucket(&f.c, "payroll-c", true).await;
    let r = f.responder(&ALLOW_ALL);
    let rec = record("r-3", "deny", &quarantine("payroll-c"));
    let first = respond(&r, &rec).await;
    assert_eq!(outcomes(&first), [("quarantine-bucket".into(), "applied")]);
    let after_first = snapshot(&f.c, "payroll-c").await;
    let second = respond(&r, &rec).await;
    assert_eq!(
        outcomes(&second),
        [("quarantine-bucket".into(), "already-applied")],
        "{second:?}"
    );
    assert_eq!(snapshot(&f.c, "payroll-c").await, after_first);
    // A fresh responder (a new cold start) agrees.
    let third = respond(&f.responder(&ALLOW_ALL), &rec).await;
    assert_eq!(
        outcomes(&third),
        [("quarantine-bucket".into(), "already-applied")]
    );
}

#[tokio::test]
async fn a_new_break_glass_role_replaces_the_policy_but_keeps_the_original() {
    let f = Fixture::start().await;
    bucket(&f.c, "payroll-d", true).await;
    respond(
        &f.responder(&ALLOW_ALL),
        &record("r-4", "deny", &quarantine("payroll-d")),
    )
    .await;
    let other = "arn:aws:iam::123456789012:role/new-break-glass";
    let r = f.responder(&[
        ("GAVEL_RESPONDER_ALLOW_BUCKETS", "*"),
        ("GAVEL_RESPONDER_BREAK_GLASS_ROLE", other),
    ]);
    let report = respond(&r, &record("r-5", "deny", &quarantine("payroll-d"))).await;
    assert_eq!(outcomes(&report), [("quarantine-bucket".into(), "applied")]);
    let (state, saved, _) = snapshot(&f.c, "payroll-d").await;
    assert!(state.policy.unwrap().contains(other));
    let saved: Value = serde_json::from_str(&saved.unwrap()).unwrap();
    assert_eq!(
        saved["policy"],
        allow_policy("payroll-d"),
        "the original, not the first quarantine"
    );
    assert_eq!(saved["recordRequestId"], "r-4");
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let f = Fixture::start().await;
    bucket(&f.c, "payroll-e", true).await;
    let before = snapshot(&f.c, "payroll-e").await;
    let r = f.responder(&[
        ("GAVEL_RESPONDER_DRY_RUN", "true"),
        ("GAVEL_RESPONDER_ALLOW_BUCKETS", "*"),
        ("GAVEL_RESPONDER_BREAK_GLASS_ROLE", BREAK_GLASS),
    ]);
    let report = respond(&r, &record("r-6", "deny", &quarantine("payroll-e"))).await;
    assert_eq!(outcomes(&report), [("quarantine-bucket".into(), "dry-run")]);
    let detail = &report.responder.actions[0].detail;
    assert!(
        detail.starts_with("would save the current policy"),
        "{detail}"
    );
    assert!(detail.contains("block all public access"), "{detail}");
    assert!(report.responder.dry_run);
    assert_eq!(snapshot(&f.c, "payroll-e").await, before);
}

#[tokio::test]
async fn bucket_outside_the_allow_list_is_refused_and_reported() {
    let f = Fixture::start().await;
    bucket(&f.c, "marketing", true).await;
    let before = snapshot(&f.c, "marketing").await;
    let r = f.responder(&[
        ("GAVEL_RESPONDER_ALLOW_BUCKETS", "payroll-*"),
        ("GAVEL_RESPONDER_BREAK_GLASS_ROLE", BREAK_GLASS),
    ]);
    let report = respond(&r, &record("r-7", "deny", &quarantine("marketing"))).await;
    assert_eq!(outcomes(&report), [("quarantine-bucket".into(), "refused")]);
    assert!(!report.should_retry());
    let json: Value = serde_json::from_str(&report.to_json()).unwrap();
    let a = &json["responder"]["actions"][0];
    assert_eq!(a["target"], "marketing");
    assert_eq!(a["outcome"], "refused");
    assert!(
        a["detail"]
            .as_str()
            .unwrap()
            .contains("GAVEL_RESPONDER_ALLOW_BUCKETS"),
        "{a}"
    );
    assert_eq!(snapshot(&f.c, "marketing").await, before);
}

#[tokio::test]
async fn missing_bucket_fails() {
    let f = Fixture::start().await;
    let r = f.responder(&ALLOW_ALL);
    let report = respond(&r, &record("r-8", "deny", &quarantine("no-such-bucket"))).await;
    assert_eq!(outcomes(&report), [("quarantine-bucket".into(), "failed")]);
    assert!(report.should_retry());
    assert!(
        report.responder.actions[0].detail.contains("NoSuchBucket"),
        "{:?}",
        report.responder.actions[0]
    );
}
