//! Scenario tests of unauthorized-access rules on hand-written S3 and CloudTrail events.

use gavel_policy_sdk::{Decision, Input, Invocation, Phase, Policy};
use serde_json::{Value, json};
use unauthorized_access::{Settings, UnauthorizedAccess};

fn judge(event: Value, settings: Value) -> (Decision, Vec<String>, Vec<String>) {
    let settings_text = settings.to_string();
    let parsed: Settings = serde_json::from_value(settings).unwrap();
    UnauthorizedAccess::validate(&parsed).unwrap();
    let invocation = Invocation {
        request_id: "t".into(),
        function_name: "f".into(),
        function_arn: "arn:aws:lambda:eu-west-1:111122223333:function:f".into(),
        phase: Phase::Request,
        event: serde_json::to_vec(&event).unwrap(),
        result: None,
        function_error: None,
        telemetry: Vec::new(),
        settings: settings_text,
    };
    let report = <UnauthorizedAccess as Policy>::evaluate(&Input::new(invocation, parsed)).unwrap();
    let rules = report
        .findings()
        .iter()
        .map(|f| f.rule_id.clone())
        .collect();
    (report.decision(), rules, report.actions().to_vec())
}

fn ct(detail: Value) -> Value {
    json!({"version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
        "account": "111122223333", "region": "eu-west-1", "detail": detail})
}

fn session(role: &str, account: &str) -> Value {
    json!({"type": "AssumedRole", "accountId": account, "principalId": "AROAEXAMPLE:s",
        "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/s"),
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{account}:role/{role}")}}})
}

#[test]
fn unauthorized_session_reading_sensitive_bucket_is_denied_with_role_revocation() {
    let ev = ct(
        json!({"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "recipientAccountId": "111122223333",
        "requestParameters": {"bucketName": "payroll-2024", "key": "salaries.csv"},
        "userIdentity": session("intern", "111122223333")}),
    );
    let settings = json!({"sensitiveBuckets": ["payroll-*"], "allowedPrincipals": ["arn:aws:iam::111122223333:role/etl"]});
    let (d, rules, actions) = judge(ev.clone(), settings);
    assert_eq!(d, Decision::Deny);
    assert_eq!(rules, ["ua.sensitive-bucket"]);
    assert!(actions.contains(&"quarantine-bucket:payroll-2024".to_string()));
    assert!(
        actions.contains(&"revoke-principal:arn:aws:iam::111122223333:role/intern".to_string())
    );
    // The allowed role (matched through its session) passes.
    let ok = json!({"sensitiveBuckets": ["payroll-*"], "allowedPrincipals": ["arn:aws:iam::111122223333:role/intern"]});
    assert_eq!(judge(ev, ok).0, Decision::Allow);
}

#[test]
fn access_denied_on_sensitive_bucket_follows_setting() {
    let ev = ct(
        json!({"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "errorCode": "AccessDenied",
        "recipientAccountId": "111122223333", "requestParameters": {"bucketName": "payroll-2024"},
        "userIdentity": session("intern", "111122223333")}),
    );
    let (d, rules, _) = judge(ev.clone(), json!({"sensitiveBuckets": ["payroll-*"]}));
    assert_eq!(
        (d, rules),
        (Decision::Alert, vec!["ua.access-denied".to_string()])
    );
    let (d, _, _) = judge(
        ev,
        json!({"sensitiveBuckets": ["payroll-*"], "accessDenied": "deny"}),
    );
    assert_eq!(d, Decision::Deny);
}

#[test]
fn public_bucket_policy_and_foreign_principal() {
    let ev = ct(
        json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy", "recipientAccountId": "111122223333",
        "requestParameters": {"bucketName": "assets", "bucketPolicy": {"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::assets/*"}]}},
        "userIdentity": {"type": "IAMUser", "accountId": "999988887777", "arn": "arn:aws:iam::999988887777:user/mallory"}}),
    );
    let (d, rules, actions) = judge(ev, json!({}));
    assert_eq!(d, Decision::Deny);
    assert!(rules.contains(&"ua.public-grant".to_string()));
    assert!(rules.contains(&"ua.foreign-principal".to_string()));
    assert!(actions.contains(&"quarantine-bucket:assets".to_string()));
}

#[test]
fn trusted_accounts_and_rule_overrides() {
    let ev = ct(
        json!({"eventSource": "ec2.amazonaws.com", "eventName": "ModifySnapshotAttribute", "recipientAccountId": "111122223333",
        "requestParameters": {"snapshotId": "snap-1", "createVolumePermission": {"add": {"items": [{"userId": "444455556666"}]}}},
        "userIdentity": {"type": "IAMUser", "accountId": "111122223333", "arn": "arn:aws:iam::111122223333:user/ops"}}),
    );
    assert_eq!(judge(ev.clone(), json!({})).0, Decision::Deny);
    let (d, rules, _) = judge(ev.clone(), json!({"trustedAccounts": ["444455556666"]}));
    assert_eq!(
        (d, rules),
        (Decision::Alert, vec!["ua.sensitive-action".to_string()])
    );
    let (d, _, _) = judge(ev, json!({"ruleDecisions": {"ua.foreign-share": "alert"}}));
    assert_eq!(d, Decision::Alert);
}

#[test]
fn sensitive_actions_setting_and_admins() {
    let ev = ct(
        json!({"eventSource": "iam.amazonaws.com", "eventName": "AttachRolePolicy", "recipientAccountId": "111122223333",
        "requestParameters": {"roleName": "app", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        "userIdentity": session("deployer", "111122223333")}),
    );
    assert_eq!(judge(ev.clone(), json!({})).0, Decision::Alert);
    // Configured principal lists turn "not listed" into an unauthorized principal.
    let (d, _, actions) = judge(
        ev.clone(),
        json!({"policyAdmins": ["arn:aws:iam::111122223333:role/security"]}),
    );
    assert_eq!(d, Decision::Deny);
    assert_eq!(
        actions,
        ["revoke-principal:arn:aws:iam::111122223333:role/deployer"]
    );
    assert_eq!(
        judge(
            ev.clone(),
            json!({"policyAdmins": ["arn:aws:iam::*:role/deployer"]})
        )
        .0,
        Decision::Allow
    );
    assert_eq!(
        judge(ev, json!({"sensitiveActions": ["default", "!iam:Attach*"]})).0,
        Decision::Allow
    );
}

#[test]
fn s3_notifications_and_object_lambda() {
    let n = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AROAEXAMPLE:intruder"}, "requestParameters": {"sourceIPAddress": "203.0.113.9"},
        "s3": {"bucket": {"name": "prod-cloudtrail-logs", "arn": "arn:aws:s3:::prod-cloudtrail-logs"}, "object": {"key": "x"}}}]});
    let (d, rules, actions) = judge(
        n.clone(),
        json!({"sensitiveBuckets": ["*-cloudtrail-logs"]}),
    );
    assert_eq!(
        (d, rules),
        (Decision::Deny, vec!["ua.sensitive-bucket".to_string()])
    );
    assert_eq!(actions, ["quarantine-bucket:prod-cloudtrail-logs"]);
    let ok = json!({"sensitiveBuckets": ["*-cloudtrail-logs"], "allowedPrincipals": ["AWS:AROAEXAMPLE:*"]});
    assert_eq!(judge(n, ok).0, Decision::Allow);

    let olap = json!({"getObjectContext": {"inputS3Url": "https://x"}, "configuration": {
        "accessPointArn": "arn:aws:s3-object-lambda:us-east-1:111122223333:accesspoint/pii-redactor",
        "supportingAccessPointArn": "arn:aws:s3:us-east-1:111122223333:accesspoint/pii"},
        "userRequest": {"url": "https://u"}, "userIdentity": session("analyst", "999988887777")});
    let (d, rules, actions) = judge(olap, json!({"sensitiveAccessPoints": ["pii"]}));
    assert_eq!(d, Decision::Deny);
    assert_eq!(rules, ["ua.sensitive-access-point", "ua.foreign-principal"]);
    assert_eq!(
        actions,
        ["revoke-principal:arn:aws:iam::999988887777:role/analyst"]
    );
}

#[test]
fn denied_burst_in_one_log_file() {
    let rec = json!({"eventSource": "s3.amazonaws.com", "eventName": "ListBuckets", "errorCode": "AccessDenied",
        "recipientAccountId": "111122223333", "userIdentity": session("probe", "111122223333")});
    let file = json!({"Records": vec![rec; 6]});
    let (d, rules, _) = judge(file, json!({}));
    assert_eq!(
        (d, rules),
        (Decision::Alert, vec!["ua.access-denied-burst".to_string()])
    );
}

#[test]
fn routine_calls_pass() {
    let ev = ct(
        json!({"eventSource": "s3.amazonaws.com", "eventName": "GetObject", "recipientAccountId": "111122223333",
        "requestParameters": {"bucketName": "assets"}, "userIdentity": session("web", "111122223333")}),
    );
    assert_eq!(judge(ev, json!({})).0, Decision::Allow);
    let self_rotation = ct(
        json!({"eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "recipientAccountId": "111122223333",
        "requestParameters": {"userName": "alice"},
        "userIdentity": {"type": "IAMUser", "accountId": "111122223333", "userName": "alice", "arn": "arn:aws:iam::111122223333:user/alice"}}),
    );
    assert_eq!(judge(self_rotation, json!({})).0, Decision::Allow);
}
