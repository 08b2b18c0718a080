//! actions/s3: `quarantine-bucket:<bucket>` — save the bucket's policy and public access block,
//! then deny every S3 action to every principal except the break-glass role, and block all
//! public access. [`restore`] undoes it from what was saved.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use serde_json::{Value, json};

use crate::aws::{code, describe};
use crate::report::{ActionReport, Outcome, now_rfc3339};

/// The object, in the quarantined bucket itself, holding what the quarantine replaced. Inside
/// the bucket, so the quarantine protects it too (only the break-glass role reads it); an
/// object rather than a tag because a policy outgrows a tag's 256 characters.
pub const SAVED_KEY: &str = "gavel-quarantine/previous-policy.json";
/// Every statement of a quarantine policy has a `Sid` starting with this.
pub const SID_PREFIX: &str = "GavelQuarantine";
/// What the responder may still do on a quarantined bucket: read and replace the policy and
/// the public access block (to check its own work on redelivery, and for `restore`).
pub const RESPONDER_ACTIONS: [&str; 4] = [
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock",
];

/// One quarantine to perform.
#[derive(Debug, Clone, Copy)]
pub struct Quarantine<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// `GAVEL_RESPONDER_BREAK_GLASS_ROLE`: exempt from the deny.
    pub break_glass_role: &'a str,
    /// The responder's own principal ARN: exempt for [`RESPONDER_ACTIONS`] only. `None` when it
    /// is the break-glass role.
    pub responder: Option<&'a str>,
    /// The gavel record being acted on (saved with the previous policy).
    pub request_id: &'a str,
}

impl Quarantine<'_> {
    /// The policy the bucket gets.
    pub fn policy(&self) -> Value {
        // The partition of the break-glass role is the bucket's (one account, one partition).
        let partition = self
            .break_glass_role
            .split(':')
            .nth(1)
            .filter(|p| !p.is_empty())
            .unwrap_or("aws");
        let resources = json!([
            format!("arn:{partition}:s3:::{}", self.bucket),
            format!("arn:{partition}:s3:::{}/*", self.bucket)
        ]);
        let responder = self.responder.filter(|r| *r != self.break_glass_role);
        let mut exempt = vec![self.break_glass_role];
        exempt.extend(responder);
        // ArnNotEquals is true when aws:PrincipalArn is absent, so anonymous requests are
        // denied too.
        let mut statements = vec![json!({
            "Sid": format!("{SID_PREFIX}DenyAll"),
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": exempt}},
        })];
        if let Some(r) = responder {
            statements.push(json!({
                "Sid": format!("{SID_PREFIX}ResponderPolicyOnly"),
                "Effect": "Deny",
                "Principal": "*",
                "NotAction": RESPONDER_ACTIONS,
                "Resource": resources,
                "Condition": {"ArnEquals": {"aws:PrincipalArn": r}},
            }));
        }
        json!({"Version": "2012-10-17", "Id": "gavel-quarantine", "Statement": statements})
    }
}

/// Whether a policy document is one of ours (any version of it).
pub fn is_quarantine_policy(policy: &Value) -> bool {
    let statements = match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => return false,
    };
    statements.iter().any(|s| {
        s["Sid"]
            .as_str()
            .is_some_and(|sid| sid.starts_with(SID_PREFIX))
    })
}

/// A bucket's policy and public access block.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketState {
    /// The policy text, exactly as S3 returned it.
    pub policy: Option<String>,
    /// The public access block as `{"BlockPublicAcls": …, …}`.
    pub public_access_block: Option<Value>,
}

impl BucketState {
    /// As saved in [`SAVED_KEY`] and reported as `previous`.
    pub fn to_json(&self) -> Value {
        json!({"policy": self.policy, "publicAccessBlock": self.public_access_block})
    }

    fn policy_json(&self) -> Option<Value> {
        self.policy
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
    }

    fn fully_blocked(&self) -> bool {
        self.public_access_block.as_ref().is_some_and(|b| {
            [
                "BlockPublicAcls",
                "IgnorePublicAcls",
                "BlockPublicPolicy",
                "RestrictPublicBuckets",
            ]
            .iter()
            .all(|k| b[k] == true)
        })
    }
}

/// Reads the bucket's policy and public access block ("none" is not an error).
pub async fn read_state(s3: &Client, bucket: &str) -> Result<BucketState, String> {
    let policy = match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => out.policy,
        Err(e) if code(&e) == Some("NoSuchBucketPolicy") => None,
        Err(e) => return Err(format!("GetBucketPolicy: {}", describe(&e))),
    };
    let public_access_block = match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => out.public_access_block_configuration.map(|c| {
            json!({
                "BlockPublicAcls": c.block_public_acls,
                "IgnorePublicAcls": c.ignore_public_acls,
                "BlockPublicPolicy": c.block_public_policy,
                "RestrictPublicBuckets": c.restrict_public_buckets,
            })
        }),
        Err(e) if code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => None,
        Err(e) => return Err(format!("GetPublicAccessBlock: {}", describe(&e))),
    };
    Ok(BucketState {
        policy,
        public_access_block,
    })
}

fn block_config(v: Option<&Value>) -> PublicAccessBlockConfiguration {
    let get = |k: &str| v.and_then(|v| v[k].as_bool());
    let all = v.is_none();
    PublicAccessBlockConfiguration::builder()
        .set_block_public_acls(if all {
            Some(true)
        } else {
            get("BlockPublicAcls")
        })
        .set_ignore_public_acls(if all {
            Some(true)
        } else {
            get("IgnorePublicAcls")
        })
        .set_block_public_policy(if all {
            Some(true)
        } else {
            get("BlockPublicPolicy")
        })
        .set_restrict_public_buckets(if all {
            Some(true)
        } else {
            get("RestrictPublicBuckets")
        })
        .build()
}

/// Quarantines a bucket (or, in dry-run, says what it would change). Checks the current state
/// first: a bucket already under this exact policy with all public access blocked is
/// `already-applied`, and a bucket under an older quarantine policy keeps its saved original.
pub async fn quarantine(s3: &Client, q: Quarantine<'_>, dry_run: bool) -> ActionReport {
    let report =
        |outcome, detail: String| ActionReport::new("quarantine-bucket", q.bucket, outcome, detail);
    let before = match read_state(s3, q.bucket).await {
        Ok(s) => s,
        Err(e) => return report(Outcome::Failed, e),
    };
    let wanted = q.policy();
    let current = before.policy_json();
    let policy_done = current.as_ref() == Some(&wanted);
    let block_done = before.fully_blocked();
    if policy_done && block_done {
        return report(
            Outcome::AlreadyApplied,
            "bucket policy is the quarantine policy and all public access is blocked".into(),
        );
    }
    // A previous quarantine (say, with another break-glass role) is not the original to keep.
    let save = !current.as_ref().is_some_and(is_quarantine_policy);
    let mut plan = Vec::new();
    if !policy_done {
        if save {
            plan.push(format!(
                "save the current policy ({}) and public access block to s3://{}/{SAVED_KEY}",
                if before.policy.is_some() {
                    "present"
                } else {
                    "none"
                },
                q.bucket
            ));
        }
        plan.push(format!(
            "put the quarantine policy (deny s3:* to every principal but {})",
            q.break_glass_role
        ));
    }
    if !block_done {
        plan.push("block all public access".into());
    }
    if dry_run {
        let mut r = report(Outcome::DryRun, format!("would {}", plan.join("; ")));
        r.previous = Some(before.to_json());
        return r;
    }

    let mut done = Vec::new();
    if !policy_done {
        if save {
            let saved = json!({
                "bucket": q.bucket,
                "savedAt": now_rfc3339(),
                "recordRequestId": q.request_id,
                "policy": before.policy,
                "publicAccessBlock": before.public_access_block,
            });
            let put = s3
                .put_object()
                .bucket(q.bucket)
                .key(SAVED_KEY)
                .content_type("application/json")
                .body(ByteStream::from(saved.to_string().into_bytes()))
                .send()
                .await;
            // Containment goes first: the report's `previous` still carries the original.
            match put {
                Ok(_) => done.push(format!(
                    "saved the previous policy to s3://{}/{SAVED_KEY}",
                    q.bucket
                )),
                Err(e) => {
                    tracing::warn!(bucket = q.bucket, error = %describe(&e), "previous policy not saved in the bucket; it is in the report");
                    done.push(format!(
                        "could not save the previous policy in the bucket ({}); it is in this report's `previous`",
                        describe(&e)
                    ));
                }
            }
        }
        if let Err(e) = s3
            .put_bucket_policy()
            .bucket(q.bucket)
            .policy(wanted.to_string())
            .send()
            .await
        {
            let mut r = report(
                Outcome::Failed,
                format!("PutBucketPolicy: {}", describe(&e)),
            );
            r.previous = Some(before.to_json());
            return r;
        }
        done.push("put the quarantine policy".into());
    }
    if !block_done {
        if let Err(e) = s3
            .put_public_access_block()
            .bucket(q.bucket)
            .public_access_block_configuration(block_config(None))
            .send()
            .await
        {
            done.push(format!("PutPublicAccessBlock failed: {}", describe(&e)));
            let mut r = report(Outcome::Failed, done.join("; "));
            r.previous = Some(before.to_json());
            return r;
        }
        done.push("blocked all public access".into());
    }
    let mut r = report(Outcome::Applied, done.join("; "));
    r.previous = Some(before.to_json());
    r
}

/// Lifts a quarantine: puts back the saved policy and public access block (deleting them if
/// there were none), then deletes the saved object. Run it as the break-glass role.
pub async fn restore(s3: &Client, bucket: &str) -> Result<String, String> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(SAVED_KEY)
        .send()
        .await
        .map_err(|e| format!("GetObject s3://{bucket}/{SAVED_KEY}: {}", describe(&e)))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| format!("reading s3://{bucket}/{SAVED_KEY}: {e}"))?
        .into_bytes();
    let saved: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("s3://{bucket}/{SAVED_KEY}: not JSON: {e}"))?;
    let mut done = Vec::new();
    match saved["policy"].as_str() {
        Some(policy) => {
            s3.put_bucket_policy()
                .bucket(bucket)
                .policy(policy)
                .send()
                .await
                .map_err(|e| format!("PutBucketPolicy: {}", describe(&e)))?;
            done.push("put back the previous bucket policy");
        }
        None => {
            s3.delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| format!("DeleteBucketPolicy: {}", describe(&e)))?;
            done.push("deleted the bucket policy (there was none)");
        }
    }
    match saved.get("publicAccessBlock").filter(|v| v.is_object()) {
        Some(block) => {
            s3.put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(block_config(Some(block)))
                .send()
                .await
                .map_err(|e| format!("PutPublicAccessBlock: {}", describe(&e)))?;
            done.push("put back the previous public access block");
        }
        None => {
            s3.delete_public_access_block()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| format!("DeletePublicAccessBlock: {}", describe(&e)))?;
            done.push("deleted the public access block (there was none)");
        }
    }
    s3.delete_object()
        .bucket(bucket)
        .key(SAVED_KEY)
        .send()
        .await
        .map_err(|e| format!("DeleteObject s3://{bucket}/{SAVED_KEY}: {}", describe(&e)))?;
    done.push("deleted the saved copy");
    Ok(done.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BG: &str = "arn:aws:iam::123456789012:role/break-glass";

    fn q(responder: Option<&'static str>) -> Quarantine<'static> {
        Quarantine {
            bucket: "payroll-exports",
            break_glass_role: BG,
            responder,
            request_id: "r",
        }
    }

    #[test]
    fn policy_denies_all_but_break_glass_and_limits_the_responder() {
        let p = q(Some("arn:aws:iam::123456789012:role/responder")).policy();
        let s = p["Statement"].as_array().unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0]["Effect"], "Deny");
        assert_eq!(s[0]["Action"], "s3:*");
        assert_eq!(
            s[0]["Resource"],
            json!([
                "arn:aws:s3:::payroll-exports",
                "arn:aws:s3:::payroll-exports/*"
            ])
        );
        assert_eq!(
            s[0]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"],
            json!([BG, "arn:aws:iam::123456789012:role/responder"])
        );
        assert_eq!(s[1]["NotAction"], json!(RESPONDER_ACTIONS));
        assert!(is_quarantine_policy(&p));
        assert!(!is_quarantine_policy(
            &json!({"Statement": {"Sid": "Other"}})
        ));
    }

    #[test]
    fn responder_that_is_the_break_glass_role_gets_no_second_statement() {
        let p = q(Some(BG)).policy();
        assert_eq!(p["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(p, q(None).policy());
    }
}
