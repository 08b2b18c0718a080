//! revoke-principal: roles (and role sessions) get the inline deny, users also lose their active
//! keys; nothing else changes; idempotent; dry-run and allow-list respected.

use std::time::{Duration, SystemTime};

use aws_sdk_iam::types::StatusType;
use gavel_responder::actions::iam::{DENY_ALL_SID, OLDER_SESSIONS_SID, POLICY_NAME};
use serde_json::Value;

use crate::moto::{Clients, role_arn};
use crate::scenario::role_policies;
use crate::{BREAK_GLASS, Fixture, create_role, outcomes, record, respond};

const ALLOW_ROLES: [(&str, &str); 1] = [(
    "GAVEL_RESPONDER_ALLOW_PRINCIPALS",
    "arn:aws:iam::123456789012:role/*,arn:aws:iam::123456789012:user/*",
)];

fn revoke(arn: &str) -> Vec<String> {
    vec![format!("revoke-principal:{arn}")]
}

fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::123456789012:user/{name}")
}

async fn user_with_keys(c: &Clients, name: &str, keys: usize) -> Vec<String> {
    c.iam.create_user().user_name(name).send().await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..keys {
        let k = c
            .iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap();
        ids.push(k.access_key_id);
    }
    ids
}

/// (key id, status) of a user's keys.
async fn keys(c: &Clients, user: &str) -> Vec<(String, StatusType)> {
    let mut out: Vec<_> = c
        .iam
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .access_key_metadata
        .into_iter()
        .map(|k| (k.access_key_id.unwrap(), k.status.unwrap()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn user_policies(c: &Clients, user: &str) -> Vec<(String, Value)> {
    let names = c
        .iam
        .list_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .policy_names;
    let mut out = Vec::new();
    for n in names {
        let doc = c
            .iam
            .get_user_policy()
            .user_name(user)
            .policy_name(&n)
            .send()
            .await
            .unwrap()
            .policy_document;
        let doc = percent_encoding::percent_decode_str(&doc)
            .decode_utf8_lossy()
            .into_owned();
        out.push((n, serde_json::from_str(&doc).unwrap()));
    }
    out
}

/// Checks a gavel-revoke document: deny all, and older sessions revoked at about `now`.
fn assert_revoke_document(doc: &Value) {
    let s = doc["Statement"].as_array().unwrap();
    assert_eq!(s[0]["Sid"], DENY_ALL_SID);
    assert_eq!(
        (&s[0]["Effect"], &s[0]["Action"], &s[0]["Resource"]),
        (&"Deny".into(), &"*".into(), &"*".into())
    );
    assert!(s[0].get("Condition").is_none());
    assert_eq!(s[1]["Sid"], OLDER_SESSIONS_SID);
    assert_eq!(s[1]["Effect"], "Deny");
    let t = s[1]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .unwrap();
    let t = humantime::parse_rfc3339(t).unwrap();
    let age = SystemTime::now().duration_since(t).unwrap_or_default();
    assert!(
        age < Duration::from_secs(120),
        "revocation time {t:?} is not now"
    );
}

async fn put_inline(c: &Clients, role: &str) {
    c.iam
        .put_role_policy()
        .role_name(role)
        .policy_name("reads")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn role_gets_the_inline_deny_and_nothing_else_changes() {
    let f = Fixture::start().await;
    create_role(&f.c, "contractor").await;
    create_role(&f.c, "bystander").await;
    put_inline(&f.c, "bystander").await;
    let bystander = role_policies(&f.c.iam, "bystander").await.unwrap();
    let trust_before =
        f.c.iam
            .get_role()
            .role_name("contractor")
            .send()
            .await
            .unwrap()
            .role
            .unwrap()
            .assume_role_policy_document;

    let r = f.responder(&ALLOW_ROLES);
    let report = respond(&r, &record("r-1", "deny", &revoke(&role_arn("contractor")))).await;
    assert_eq!(
        outcomes(&report),
        [("revoke-principal".into(), "applied")],
        "{report:?}"
    );

    let policies = role_policies(&f.c.iam, "contractor").await.unwrap();
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].0, POLICY_NAME);
    assert_revoke_document(&policies[0].1);
    assert_eq!(
        role_policies(&f.c.iam, "bystander").await.unwrap(),
        bystander
    );
    let trust_after =
        f.c.iam
            .get_role()
            .role_name("contractor")
            .send()
            .await
            .unwrap()
            .role
            .unwrap()
            .assume_role_policy_document;
    assert_eq!(trust_after, trust_before);
}

#[tokio::test]
async fn assumed_role_session_resolves_to_its_role() {
    let f = Fixture::start().await;
    create_role(&f.c, "contractor").await;
    create_role(&f.c, "mallory").await;
    // Only the role is listed: the session is judged as its role.
    let r = f.responder(&[(
        "GAVEL_RESPONDER_ALLOW_PRINCIPALS",
        "arn:aws:iam::123456789012:role/contractor",
    )]);
    let session = "arn:aws:sts::123456789012:assumed-role/contractor/mallory";
    let report = respond(&r, &record("r-2", "deny", &revoke(session))).await;
    assert_eq!(
        outcomes(&report),
        [("revoke-principal".into(), "applied")],
        "{report:?}"
    );
    assert_eq!(report.responder.actions[0].target, session);
    let policies = role_policies(&f.c.iam, "contractor").await.unwrap();
    assert_eq!(policies.len(), 1);
    assert_revoke_document(&policies[0].1);
    // The session name is not a role to touch.
    assert!(role_policies(&f.c.iam, "mallory").await.unwrap().is_empty());
}

#[tokio::test]
async fn role_second_run_is_already_applied_and_keeps_the_revocation_time() {
    let f = Fixture::start().await;
    create_role(&f.c, "contractor").await;
    let r = f.responder(&ALLOW_ROLES);
    let rec = record("r-3", "deny", &revoke(&role_arn("contractor")));
    respond(&r, &rec).await;
    let first = role_policies(&f.c.iam, "contractor").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = respond(&r, &rec).await;
    assert_eq!(
        outcomes(&again),
        [("revoke-principal".into(), "already-applied")]
    );
    assert_eq!(role_policies(&f.c.iam, "contractor").await.unwrap(), first);
}

#[tokio::test]
async fn user_keys_become_inactive_and_the_user_gets_the_deny() {
    let f = Fixture::start().await;
    let bob_keys = user_with_keys(&f.c, "bob", 2).await;
    user_with_keys(&f.c, "alice", 1).await;
    // One of bob's keys is already inactive: it stays so, and is not reported as changed.
    f.c.iam
        .update_access_key()
        .user_name("bob")
        .access_key_id(&bob_keys[1])
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let alice_before = (
        keys(&f.c, "alice").await,
        user_policies(&f.c, "alice").await,
    );

    let r = f.responder(&ALLOW_ROLES);
    let rec = record("r-4", "deny", &revoke(&user_arn("bob")));
    let report = respond(&r, &rec).await;
    assert_eq!(
        outcomes(&report),
        [("revoke-principal".into(), "applied")],
        "{report:?}"
    );
    let detail = &report.responder.actions[0].detail;
    assert!(
        detail.contains(&bob_keys[0]) && !detail.contains(&bob_keys[1]),
        "{detail}"
    );

    let bob = keys(&f.c, "bob").await;
    assert_eq!(bob.len(), 2);
    assert!(
        bob.iter().all(|(_, s)| *s == StatusType::Inactive),
        "{bob:?}"
    );
    let policies = user_policies(&f.c, "bob").await;
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].0, POLICY_NAME);
    assert_revoke_document(&policies[0].1);
    let alice_after = (
        keys(&f.c, "alice").await,
        user_policies(&f.c, "alice").await,
    );
    assert_eq!(alice_after, alice_before);
    assert_eq!(alice_after.0[0].1, StatusType::Active);

    let again = respond(&r, &rec).await;
    assert_eq!(
        outcomes(&again),
        [("revoke-principal".into(), "already-applied")]
    );
    assert_eq!(keys(&f.c, "bob").await, bob);
    assert_eq!(user_policies(&f.c, "bob").await, policies);
}

#[tokio::test]
async fn a_key_reactivated_after_revocation_is_deactivated_again() {
    let f = Fixture::start().await;
    let k = user_with_keys(&f.c, "carol", 1).await;
    let r = f.responder(&ALLOW_ROLES);
    let rec = record("r-5", "deny", &revoke(&user_arn("carol")));
    respond(&r, &rec).await;
    f.c.iam
        .update_access_key()
        .user_name("carol")
        .access_key_id(&k[0])
        .status(StatusType::Active)
        .send()
        .await
        .unwrap();
    let again = respond(&r, &rec).await;
    assert_eq!(outcomes(&again), [("revoke-principal".into(), "applied")]);
    assert_eq!(
        keys(&f.c, "carol").await,
        [(k[0].clone(), StatusType::Inactive)]
    );
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let f = Fixture::start().await;
    create_role(&f.c, "contractor").await;
    user_with_keys(&f.c, "bob", 1).await;
    let before = (
        role_policies(&f.c.iam, "contractor").await.unwrap(),
        keys(&f.c, "bob").await,
        user_policies(&f.c, "bob").await,
    );
    let r = f.responder(&[("GAVEL_RESPONDER_DRY_RUN", "true"), ALLOW_ROLES[0]]);
    let mut actions = revoke(&role_arn("contractor"));
    actions.extend(revoke(&user_arn("bob")));
    let report = respond(&r, &record("r-6", "deny", &actions)).await;
    assert_eq!(
        outcomes(&report),
        [
            ("revoke-principal".into(), "dry-run"),
            ("revoke-principal".into(), "dry-run")
        ]
    );
    assert!(report.responder.actions[1].detail.contains("Inactive"));
    let after = (
        role_policies(&f.c.iam, "contractor").await.unwrap(),
        keys(&f.c, "bob").await,
        user_policies(&f.c, "bob").await,
    );
    assert_eq!(after, before);
}

#[tokio::test]
async fn refusals_outside_the_allow_list_break_glass_and_unsupported() {
    let f = Fixture::start().await;
    create_role(&f.c, "admin").await;
    create_role(&f.c, "break-glass").await;
    let r = f.responder(&[
        (
            "GAVEL_RESPONDER_ALLOW_PRINCIPALS",
            "arn:aws:iam::123456789012:role/contractor-*,arn:aws:iam::123456789012:role/break-glass,arn:aws:iam::123456789012:root",
        ),
        ("GAVEL_RESPONDER_BREAK_GLASS_ROLE", BREAK_GLASS),
    ]);
    let mut actions = revoke(&role_arn("admin"));
    actions.extend(revoke(BREAK_GLASS));
    actions.extend(revoke(
        "arn:aws:sts::123456789012:assumed-role/break-glass/oncall",
    ));
    actions.extend(revoke("arn:aws:iam::123456789012:root"));
    let report = respond(&r, &record("r-7", "deny", &actions)).await;
    let got: Vec<_> = report
        .responder
        .actions
        .iter()
        .map(|a| (a.outcome.as_str(), a.detail.as_str()))
        .collect();
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.iter().all(|(o, _)| *o == "refused"), "{got:?}");
    assert!(
        got[0].1.contains("GAVEL_RESPONDER_ALLOW_PRINCIPALS"),
        "{got:?}"
    );
    assert!(
        got[1].1.contains("break-glass role is never revoked"),
        "{got:?}"
    );
    assert!(
        got[2].1.contains("break-glass role is never revoked"),
        "{got:?}"
    );
    assert!(got[3].1.contains("only IAM roles"), "{got:?}");
    assert!(!report.should_retry());
    for role in ["admin", "break-glass"] {
        assert!(
            role_policies(&f.c.iam, role).await.unwrap().is_empty(),
            "{role} changed"
        );
    }
}

#[tokio::test]
async fn missing_role_fails() {
    let f = Fixture::start().await;
    let r = f.responder(&ALLOW_ROLES);
    let report = respond(&r, &record("r-8", "deny", &revoke(&role_arn("ghost")))).await;
    assert_eq!(outcomes(&report), [("revoke-principal".into(), "failed")]);
    assert!(
        report.responder.actions[0].detail.contains("NoSuchEntity"),
        "{:?}",
        report.responder.actions[0]
    );
}
