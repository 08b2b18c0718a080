//! The rules: each CloudTrail record, S3 notification and Object Lambda request is judged
//! against the settings; findings go to [`Out`], which applies decision overrides.

use gavel_policy_sdk::cloudtrail::{
    Identity, ObjectLambda, Record, S3Notification, account_of_arn,
};
use gavel_policy_sdk::{Decision, Report, Severity, redact};

use crate::actions::{self, Cond};
use crate::grants;
use crate::settings::{Level, Settings};

/// Findings plus settings-driven decision overrides.
pub struct Out<'s> {
    /// The report being built.
    pub report: Report,
    /// Settings.
    pub settings: &'s Settings,
}

impl Out<'_> {
    /// Record a finding; returns the final decision (`Allow` = suppressed by settings).
    pub fn add(
        &mut self,
        rule: &str,
        default: Decision,
        severity: Severity,
        message: String,
        location: String,
        evidence: &str,
    ) -> Decision {
        let decision = self
            .settings
            .override_for(rule)
            .map(Decision::from)
            .unwrap_or(default);
        if decision != Decision::Allow {
            let evidence = redact::snippet(evidence, 0, evidence.len());
            self.report
                .add(decision, rule, severity, message, location, evidence);
        }
        decision
    }
}

fn level(l: Level) -> Decision {
    l.into()
}

/// The principal strings settings are matched against: role ARN for sessions, the raw ARN,
/// the principal id.
fn candidates<'a>(id: &Identity<'a>, role: &'a Option<String>) -> Vec<&'a str> {
    let mut c: Vec<&str> = Vec::new();
    c.extend(role.as_deref());
    c.extend(id.arn());
    c.extend(id.principal_id());
    c
}

fn who(role: &Option<String>, id: &Identity<'_>) -> String {
    role.clone()
        .or_else(|| id.principal_id().map(str::to_string))
        .unwrap_or_else(|| "unknown principal".into())
}

fn is_data_action(action: &str) -> bool {
    [
        "GetObject",
        "PutObject",
        "DeleteObject",
        "DeleteObjects",
        "CopyObject",
        "HeadObject",
        "ListObjects",
        "ListObjectsV2",
        "RestoreObject",
        "SelectObjectContent",
        "UploadPart",
        "CreateMultipartUpload",
        "CompleteMultipartUpload",
        "GetObjectAcl",
        "GetObjectTagging",
        "ListObjectVersions",
    ]
    .contains(&action)
}

/// Judge one CloudTrail record. `event_accounts` are the event's own accounts (home when
/// `homeAccounts` is empty); `secret_reads` counts secret reads in the event (bulk reads).
pub fn record(rec: &Record<'_>, event_accounts: &[&str], secret_reads: usize, out: &mut Out<'_>) {
    let s = out.settings;
    let id = rec.user_identity();
    let role = id.principal_arn();
    let cands = candidates(&id, &role);
    let service_caller = id.kind() == Some("AWSService");
    let mut home: Vec<&str> = event_accounts.to_vec();
    home.extend(rec.recipient_account_id());
    let service = rec.service();
    let action = rec.action();
    let api = format!("{service}:{action}");
    let denied = rec.is_access_denied();
    let bucket = rec.bucket_name();
    let principal = who(&role, &id);
    let loc = rec.pointer_to("eventName");
    let mut subsumed = false;

    // Grants: public or to accounts outside home/trusted.
    if !denied {
        let g = grants::of_record(rec);
        let foreign: Vec<&String> = g
            .accounts
            .iter()
            .filter(|a| !s.is_known_account(a, &home))
            .collect();
        if !foreign.is_empty() {
            subsumed = true;
            let list = foreign
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(",");
            let d = out.add(
                "ua.foreign-share",
                Decision::Deny,
                Severity::Critical,
                format!("{api} grants access to foreign account(s) {list}"),
                rec.pointer_to("requestParameters"),
                &format!("{api} → {list} by {principal}"),
            );
            respond(out, d, role.as_deref(), bucket);
        }
        if g.public {
            subsumed = true;
            let (d, sev) = if g.network {
                (Decision::Alert, Severity::High)
            } else {
                (Decision::Deny, Severity::Critical)
            };
            let d = out.add(
                "ua.public-grant",
                d,
                sev,
                format!("{api} makes a resource public ({})", g.public_via),
                rec.pointer_to("requestParameters"),
                &format!("{api}: {} by {principal}", g.public_via),
            );
            respond(out, d, role.as_deref(), bucket);
        }
    }

    // Sensitive actions.
    let entry = actions::lookup(service, action);
    let selected = s.action_selected(service, action, entry.is_some());
    let sensitive = selected
        && entry.is_none_or(|e| {
            e.cond == Cond::WeakSelectors || actions::holds(e.cond, rec, secret_reads)
        });
    if sensitive && !service_caller {
        let tactic = entry.map_or("custom", |e| e.tactic);
        if denied {
            out.add(
                "ua.sensitive-action-denied",
                level(s.access_denied),
                Severity::Medium,
                format!("denied attempt at sensitive call {api} ({tactic})"),
                loc.clone(),
                &format!("{api} {} by {principal}", rec.error_code().unwrap_or("")),
            );
        } else if !subsumed && !s.is_admin(&cands) {
            let (mut decision, mut severity) = entry
                .map_or((Decision::Alert, Severity::Medium), |e| {
                    (e.decision, e.severity)
                });
            if entry.is_some_and(|e| e.cond == Cond::WeakSelectors)
                && actions::selectors_weakened(rec)
            {
                decision = Decision::Deny;
                severity = Severity::Critical;
            }
            if service == "iam"
                && (action.starts_with("Attach") || action.starts_with("Put"))
                && actions::grants_admin(rec)
            {
                severity = Severity::Critical;
            }
            // With principal lists configured, "not listed" is an unauthorized principal.
            if s.principals_configured() && matches!(severity, Severity::High | Severity::Critical)
            {
                decision = Decision::Deny;
            }
            let d = out.add(
                "ua.sensitive-action",
                decision,
                severity,
                format!("{tactic}: {api} by a principal not in allowedPrincipals/policyAdmins"),
                loc.clone(),
                &format!("{api} by {principal}"),
            );
            respond(out, d, role.as_deref(), None);
        }
    }

    // Callers from outside home/trusted accounts.
    if let Some(acct) = id.account()
        && !service_caller
        && !id.is_anonymous()
        && (!s.home_accounts.is_empty() || !home.is_empty())
        && !s.is_known_account(acct, &home)
    {
        let strong = sensitive || bucket.is_some_and(|b| s.sensitive_bucket(b));
        let d = out.add(
            "ua.foreign-principal",
            if strong && !denied {
                Decision::Deny
            } else {
                Decision::Alert
            },
            if strong {
                Severity::High
            } else {
                Severity::Medium
            },
            format!("{api} by a principal of foreign account {acct}"),
            rec.pointer_to("userIdentity"),
            &format!("{api} by {principal}"),
        );
        respond(out, d, role.as_deref(), None);
    }

    // Sensitive buckets and access points.
    if service == "s3" {
        let data = is_data_action(action);
        let allowed = if data {
            s.is_allowed(&cands)
        } else {
            s.is_admin(&cands)
        };
        let mut targets: Vec<(&str, String, &str)> = Vec::new();
        if let Some(b) = bucket.filter(|b| s.sensitive_bucket(b)) {
            targets.push(("ua.sensitive-bucket", format!("bucket {b}"), b));
        }
        for r in rec.resources() {
            if r.kind == Some("AWS::S3::AccessPoint")
                && let Some(arn) = r.arn.filter(|a| s.sensitive_access_point(a))
            {
                targets.push((
                    "ua.sensitive-access-point",
                    format!("access point {arn}"),
                    "",
                ));
            }
        }
        for (rule, what, b) in targets {
            let bucket = (!b.is_empty()).then_some(b);
            if denied {
                out.add(
                    "ua.access-denied",
                    level(s.access_denied),
                    Severity::High,
                    format!("access denied on sensitive {what}"),
                    loc.clone(),
                    &format!("{api} on {what} by {principal}"),
                );
            } else if id.is_anonymous() || !allowed {
                let sev = if id.is_anonymous() {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let d = out.add(
                    rule,
                    Decision::Deny,
                    sev,
                    format!("{api} on sensitive {what} by a principal not in allowedPrincipals"),
                    loc.clone(),
                    &format!(
                        "{api} on {what} by {}",
                        if id.is_anonymous() {
                            "anonymous"
                        } else {
                            &principal
                        }
                    ),
                );
                respond(out, d, role.as_deref(), bucket);
            }
        }
        if id.is_anonymous() && !denied && !bucket.is_some_and(|b| s.sensitive_bucket(b)) {
            out.add(
                "ua.anonymous-access",
                Decision::Alert,
                Severity::Low,
                format!("anonymous {api}"),
                loc,
                &format!("{api} on {}", bucket.unwrap_or("?")),
            );
        }
    }
}

/// Suggest responses for a blocking finding.
fn respond(out: &mut Out<'_>, d: Decision, role: Option<&str>, bucket: Option<&str>) {
    if d != Decision::Deny {
        return;
    }
    if let Some(r) = role {
        out.report.action(format!("revoke-principal:{r}"));
    }
    if let Some(b) = bucket {
        out.report.action(format!("quarantine-bucket:{b}"));
    }
}

/// Judge one S3 event notification record.
pub fn notification(n: &S3Notification<'_>, out: &mut Out<'_>) {
    let s = out.settings;
    let Some(bucket) = n.bucket() else { return };
    let principal = n.principal_id().unwrap_or("unknown");
    let loc = format!("{}/userIdentity/principalId", n.pointer());
    if s.sensitive_bucket(bucket) {
        if n.is_anonymous() || !s.is_allowed(&[principal]) {
            let sev = if n.is_anonymous() {
                Severity::Critical
            } else {
                Severity::High
            };
            let d = out.add(
                "ua.sensitive-bucket",
                Decision::Deny,
                sev,
                format!(
                    "{} on sensitive bucket {bucket} by a principal not in allowedPrincipals",
                    n.event_name()
                ),
                loc,
                &format!(
                    "{} s3://{bucket}/{} by {principal}",
                    n.event_name(),
                    n.key().unwrap_or("")
                ),
            );
            respond(out, d, None, Some(bucket));
        }
    } else if n.is_anonymous() {
        out.add(
            "ua.anonymous-access",
            Decision::Alert,
            Severity::Low,
            format!("anonymous {} on bucket {bucket}", n.event_name()),
            loc,
            &format!("{} s3://{bucket}", n.event_name()),
        );
    }
}

/// Judge an S3 Object Lambda request.
pub fn object_lambda(o: &ObjectLambda<'_>, out: &mut Out<'_>) {
    let s = out.settings;
    let id = o.user_identity();
    let role = id.principal_arn();
    let cands = candidates(&id, &role);
    let principal = who(&role, &id);
    let aps: Vec<&str> = [o.access_point_arn(), o.supporting_access_point_arn()]
        .into_iter()
        .flatten()
        .collect();
    let sensitive = aps.iter().find(|a| s.sensitive_access_point(a));
    if let Some(ap) = sensitive
        && !s.is_allowed(&cands)
    {
        let d = out.add(
            "ua.sensitive-access-point",
            Decision::Deny,
            if id.is_anonymous() {
                Severity::Critical
            } else {
                Severity::High
            },
            format!(
                "{} through sensitive access point by a principal not in allowedPrincipals",
                o.context()
            ),
            "/userIdentity".into(),
            &format!("{ap} by {principal}"),
        );
        respond(out, d, role.as_deref(), None);
    }
    let home: Vec<&str> = aps.iter().filter_map(|a| account_of_arn(a)).collect();
    if let Some(acct) = id.account()
        && (!home.is_empty() || !s.home_accounts.is_empty())
        && !s.is_known_account(acct, &home)
    {
        let d = out.add(
            "ua.foreign-principal",
            if sensitive.is_some() {
                Decision::Deny
            } else {
                Decision::Alert
            },
            Severity::Medium,
            format!(
                "{} through access point by a principal of foreign account {acct}",
                o.context()
            ),
            "/userIdentity/accountId".into(),
            &principal,
        );
        respond(out, d, role.as_deref(), None);
    }
}
