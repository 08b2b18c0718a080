//! actions/iam: `revoke-principal:<arn>` — an inline deny-all policy on the role or user, which
//! also revokes every session issued before now (AWS's "revoke active sessions" pattern), and
//! for a user every active access key set `Inactive`.

use std::time::SystemTime;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::StatusType;
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use crate::arn::Principal;
use crate::aws::{code, describe};
use crate::report::{ActionReport, Outcome};

/// The inline policy's name, on roles and users alike.
pub const POLICY_NAME: &str = "gavel-revoke";
/// The statement denying everything.
pub const DENY_ALL_SID: &str = "GavelRevokeDenyAll";
/// The statement denying sessions issued before the revocation.
pub const OLDER_SESSIONS_SID: &str = "GavelRevokeOlderSessions";

/// The inline policy. The first statement denies everything outright. The second is AWS's
/// session revocation (`aws:TokenIssueTime` before now): when an operator later deletes the
/// first to put the role back into service, sessions minted before the incident stay dead.
pub fn revoke_policy(now: SystemTime) -> Value {
    let now = humantime::format_rfc3339_seconds(now).to_string();
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": DENY_ALL_SID, "Effect": "Deny", "Action": "*", "Resource": "*"},
            {"Sid": OLDER_SESSIONS_SID, "Effect": "Deny", "Action": "*", "Resource": "*",
             "Condition": {"DateLessThan": {"aws:TokenIssueTime": now}}}
        ]
    })
}

/// Whether an inline policy document already denies everything unconditionally (ours, from any
/// earlier run: its timestamp is not compared, so a redelivery keeps the first revocation time).
pub fn denies_all(doc: &Value) -> bool {
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => return false,
    };
    let is_star = |v: &Value| v == "*" || *v == json!(["*"]);
    statements.iter().any(|s| {
        s["Effect"] == "Deny"
            && is_star(&s["Action"])
            && is_star(&s["Resource"])
            && s.get("Condition").is_none()
    })
}

/// IAM returns policy documents URL-encoded (RFC 3986); moto returns them as stored.
fn parse_document(doc: &str) -> Option<Value> {
    serde_json::from_str(doc).ok().or_else(|| {
        percent_decode_str(doc)
            .decode_utf8()
            .ok()
            .and_then(|d| serde_json::from_str(&d).ok())
    })
}

/// The current `gavel-revoke` document of a role or user, if any.
async fn current_policy(iam: &Client, p: &Principal) -> Result<Option<Value>, String> {
    let doc = match p {
        Principal::Role { name, .. } => {
            match iam
                .get_role_policy()
                .role_name(name)
                .policy_name(POLICY_NAME)
                .send()
                .await
            {
                Ok(out) => out.policy_document,
                Err(e) if code(&e) == Some("NoSuchEntity") => return Ok(None),
                Err(e) => return Err(format!("GetRolePolicy: {}", describe(&e))),
            }
        }
        Principal::User { name, .. } => {
            match iam
                .get_user_policy()
                .user_name(name)
                .policy_name(POLICY_NAME)
                .send()
                .await
            {
                Ok(out) => out.policy_document,
                Err(e) if code(&e) == Some("NoSuchEntity") => return Ok(None),
                Err(e) => return Err(format!("GetUserPolicy: {}", describe(&e))),
            }
        }
    };
    Ok(parse_document(&doc))
}

/// Checks the principal exists (a missing inline policy and a missing role both say
/// `NoSuchEntity`); returns the ARN IAM knows it by (with its path).
async fn existing_arn(iam: &Client, p: &Principal) -> Result<String, String> {
    match p {
        Principal::Role { name, .. } => iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| format!("GetRole {name}: {}", describe(&e)))
            .map(|o| o.role.map(|r| r.arn).unwrap_or_default()),
        Principal::User { name, .. } => iam
            .get_user()
            .user_name(name)
            .send()
            .await
            .map_err(|e| format!("GetUser {name}: {}", describe(&e)))
            .map(|o| o.user.map(|u| u.arn).unwrap_or_default()),
    }
}

/// A user's active access key ids.
async fn active_keys(iam: &Client, user: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut marker = None;
    loop {
        let out = iam
            .list_access_keys()
            .user_name(user)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| format!("ListAccessKeys: {}", describe(&e)))?;
        keys.extend(
            out.access_key_metadata
                .into_iter()
                .filter(|k| k.status == Some(StatusType::Active))
                .filter_map(|k| k.access_key_id),
        );
        if !out.is_truncated {
            return Ok(keys);
        }
        marker = out.marker;
    }
}

/// Revokes a role or user (or, in dry-run, says what it would change). `target` is the ARN as
/// the record gave it.
pub async fn revoke(iam: &Client, target: &str, p: &Principal, dry_run: bool) -> ActionReport {
    let report =
        |outcome, detail: String| ActionReport::new("revoke-principal", target, outcome, detail);
    let arn = match existing_arn(iam, p).await {
        Ok(a) => a,
        Err(e) => return report(Outcome::Failed, e),
    };
    let has_deny = match current_policy(iam, p).await {
        Ok(doc) => doc.as_ref().is_some_and(denies_all),
        Err(e) => return report(Outcome::Failed, e),
    };
    let keys = match p {
        Principal::User { name, .. } => match active_keys(iam, name).await {
            Ok(k) => k,
            Err(e) => return report(Outcome::Failed, e),
        },
        Principal::Role { .. } => Vec::new(),
    };
    let what = match p {
        Principal::Role { .. } => "role",
        Principal::User { .. } => "user",
    };
    if has_deny && keys.is_empty() {
        let keys_note = if what == "user" {
            "; no active access keys"
        } else {
            ""
        };
        return report(
            Outcome::AlreadyApplied,
            format!("{what} {arn} already has the inline deny-all policy {POLICY_NAME}{keys_note}"),
        );
    }
    let mut plan = Vec::new();
    if !keys.is_empty() {
        plan.push(format!("set access keys {} Inactive", keys.join(", ")));
    }
    if !has_deny {
        plan.push(format!(
            "put inline policy {POLICY_NAME} on {what} {arn} (deny all; revoke sessions issued before now)"
        ));
    }
    if dry_run {
        return report(Outcome::DryRun, format!("would {}", plan.join("; ")));
    }

    let mut done = Vec::new();
    if let Principal::User { name, .. } = p {
        // Keys first: a deny policy stops what keys can do, deactivation stops the keys.
        for key in &keys {
            if let Err(e) = iam
                .update_access_key()
                .user_name(name)
                .access_key_id(key)
                .status(StatusType::Inactive)
                .send()
                .await
            {
                done.push(format!("UpdateAccessKey {key} failed: {}", describe(&e)));
                return report(Outcome::Failed, done.join("; "));
            }
            done.push(format!("set access key {key} Inactive"));
        }
    }
    if !has_deny {
        let doc = revoke_policy(SystemTime::now()).to_string();
        let put = match p {
            Principal::Role { name, .. } => iam
                .put_role_policy()
                .role_name(name)
                .policy_name(POLICY_NAME)
                .policy_document(doc)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("PutRolePolicy: {}", describe(&e))),
            Principal::User { name, .. } => iam
                .put_user_policy()
                .user_name(name)
                .policy_name(POLICY_NAME)
                .policy_document(doc)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("PutUserPolicy: {}", describe(&e))),
        };
        if let Err(e) = put {
            done.push(e);
            return report(Outcome::Failed, done.join("; "));
        }
        done.push(format!(
            "put inline policy {POLICY_NAME} on {what} {arn} (deny all; sessions issued before now revoked)"
        ));
    }
    report(Outcome::Applied, done.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn policy_denies_all_and_older_sessions() {
        let p = revoke_policy(UNIX_EPOCH + Duration::from_secs(1_796_068_800));
        assert!(denies_all(&p));
        assert_eq!(
            p["Statement"][1]["Condition"]["DateLessThan"]["aws:TokenIssueTime"],
            "2026-11-30T20:00:00Z"
        );
    }

    #[test]
    fn conditional_or_narrow_denies_are_not_deny_all() {
        let cond = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}}}]});
        assert!(!denies_all(&cond));
        assert!(!denies_all(
            &json!({"Statement": {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}})
        ));
        assert!(denies_all(
            &json!({"Statement": {"Effect": "Deny", "Action": ["*"], "Resource": "*"}})
        ));
    }

    #[test]
    fn documents_are_read_url_encoded_or_plain() {
        let plain = r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        assert_eq!(parse_document(plain), parse_document(encoded));
        assert!(denies_all(&parse_document(encoded).unwrap()));
    }
}
