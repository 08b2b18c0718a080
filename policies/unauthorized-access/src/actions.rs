//! The built-in catalogue of sensitive AWS API calls (MITRE ATT&CK for cloud tactics) and
//! the per-call conditions that separate risky use from routine use.

use gavel_policy_sdk::cloudtrail::Record;
use gavel_policy_sdk::{Decision, Severity};
use serde_json::Value;

/// When a catalogued call counts as sensitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    /// Every call.
    Always,
    /// `attribute == userData` (read) or a `userData` parameter (write).
    UserData,
    /// Secret read by long-term credentials (IAM user / root) or in bulk.
    SecretRead,
    /// SSM parameter read `withDecryption` by long-term credentials or in bulk.
    Decrypt,
    /// Acting on another IAM user than the caller (self-service rotation is routine).
    OtherUser,
    /// Console sign-in without MFA, or any root sign-in.
    NoMfaLogin,
    /// GPU / very large instance types or large counts (cryptomining).
    UnusualInstances,
    /// A `layers` change (a layer can carry an extension that sees every invocation).
    Layers,
    /// Event selectors that drop management or write events.
    WeakSelectors,
    /// Instance metadata service opened to IMDSv1.
    ImdsV1,
}

/// One catalogue entry.
pub struct Sensitive {
    /// Service (eventSource without `.amazonaws.com`).
    pub service: &'static str,
    /// Event name (API version suffix removed).
    pub action: &'static str,
    /// ATT&CK tactic.
    pub tactic: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Default decision.
    pub decision: Decision,
    /// Condition.
    pub cond: Cond,
}

const fn s(
    service: &'static str,
    action: &'static str,
    tactic: &'static str,
    severity: Severity,
    decision: Decision,
    cond: Cond,
) -> Sensitive {
    Sensitive {
        service,
        action,
        tactic,
        severity,
        decision,
        cond,
    }
}

use Cond::*;
use Decision::{Alert as A, Deny as D};
use Severity::{Critical as C, High as H, Low as L, Medium as M};

const EVASION: &str = "defence evasion";
const PERSIST: &str = "persistence";
const PRIVESC: &str = "privilege escalation";
const CREDS: &str = "credential access";
const EXEC: &str = "execution";
const LATERAL: &str = "lateral movement";
const EXFIL: &str = "exfiltration";
const IMPACT: &str = "impact";
const INITIAL: &str = "initial access";

/// The built-in list (`"default"` in `sensitiveActions`).
pub const CATALOGUE: &[Sensitive] = &[
    // Defence evasion: logging and detection switched off.
    s("cloudtrail", "StopLogging", EVASION, C, D, Always),
    s("cloudtrail", "DeleteTrail", EVASION, C, D, Always),
    s("cloudtrail", "UpdateTrail", EVASION, H, A, Always),
    s(
        "cloudtrail",
        "PutEventSelectors",
        EVASION,
        H,
        A,
        WeakSelectors,
    ),
    s(
        "cloudtrail",
        "PutAdvancedEventSelectors",
        EVASION,
        M,
        A,
        Always,
    ),
    s("cloudtrail", "DeleteEventDataStore", EVASION, C, D, Always),
    s(
        "cloudtrail",
        "StopEventDataStoreIngestion",
        EVASION,
        C,
        D,
        Always,
    ),
    s("ec2", "DeleteFlowLogs", EVASION, H, D, Always),
    s("guardduty", "DeleteDetector", EVASION, C, D, Always),
    s("guardduty", "UpdateDetector", EVASION, M, A, Always),
    s(
        "guardduty",
        "DisassociateFromMasterAccount",
        EVASION,
        H,
        A,
        Always,
    ),
    s(
        "guardduty",
        "DisassociateFromAdministratorAccount",
        EVASION,
        H,
        A,
        Always,
    ),
    s("guardduty", "DeleteMembers", EVASION, H, A, Always),
    s("guardduty", "StopMonitoringMembers", EVASION, H, A, Always),
    s("guardduty", "CreateIPSet", EVASION, M, A, Always),
    s("guardduty", "UpdateIPSet", EVASION, M, A, Always),
    s("guardduty", "CreateFilter", EVASION, M, A, Always),
    s("securityhub", "DisableSecurityHub", EVASION, C, D, Always),
    s(
        "securityhub",
        "BatchDisableStandards",
        EVASION,
        H,
        A,
        Always,
    ),
    s(
        "securityhub",
        "DisassociateFromAdministratorAccount",
        EVASION,
        H,
        A,
        Always,
    ),
    s("config", "StopConfigurationRecorder", EVASION, C, D, Always),
    s(
        "config",
        "DeleteConfigurationRecorder",
        EVASION,
        C,
        D,
        Always,
    ),
    s("config", "DeleteDeliveryChannel", EVASION, H, D, Always),
    s("config", "DeleteConfigRule", EVASION, M, A, Always),
    s(
        "route53resolver",
        "DeleteResolverQueryLogConfig",
        EVASION,
        H,
        D,
        Always,
    ),
    s(
        "route53resolver",
        "DisassociateResolverQueryLogConfig",
        EVASION,
        H,
        D,
        Always,
    ),
    s("logs", "DeleteLogGroup", EVASION, H, A, Always),
    s("logs", "DeleteLogStream", EVASION, M, A, Always),
    s("logs", "DeleteSubscriptionFilter", EVASION, M, A, Always),
    s("organizations", "LeaveOrganization", EVASION, C, D, Always),
    s("access-analyzer", "DeleteAnalyzer", EVASION, M, A, Always),
    s("macie2", "DisableMacie", EVASION, H, A, Always),
    s("detective", "DeleteGraph", EVASION, H, A, Always),
    s("wafv2", "DeleteWebACL", EVASION, M, A, Always),
    s(
        "ec2",
        "DisableEbsEncryptionByDefault",
        EVASION,
        M,
        A,
        Always,
    ),
    s("cloudwatch", "DeleteAlarms", EVASION, M, A, Always),
    s("cloudwatch", "DisableAlarmActions", EVASION, M, A, Always),
    s("kms", "ScheduleKeyDeletion", IMPACT, H, A, Always),
    s("kms", "DisableKey", IMPACT, M, A, Always),
    s("kms", "PutKeyPolicy", PRIVESC, M, A, Always),
    // Persistence / privilege escalation: new credentials, identities and permissions.
    s("iam", "CreateAccessKey", PERSIST, H, A, OtherUser),
    s("iam", "CreateLoginProfile", PERSIST, H, A, Always),
    s("iam", "UpdateLoginProfile", PRIVESC, H, A, Always),
    s("iam", "CreateUser", PERSIST, M, A, Always),
    s("iam", "CreateRole", PERSIST, M, A, Always),
    s("iam", "AttachUserPolicy", PRIVESC, H, A, Always),
    s("iam", "AttachRolePolicy", PRIVESC, H, A, Always),
    s("iam", "AttachGroupPolicy", PRIVESC, H, A, Always),
    s("iam", "PutUserPolicy", PRIVESC, H, A, Always),
    s("iam", "PutRolePolicy", PRIVESC, H, A, Always),
    s("iam", "PutGroupPolicy", PRIVESC, H, A, Always),
    s("iam", "AddUserToGroup", PRIVESC, M, A, Always),
    s("iam", "CreatePolicyVersion", PRIVESC, H, A, Always),
    s("iam", "SetDefaultPolicyVersion", PRIVESC, H, A, Always),
    s("iam", "UpdateAssumeRolePolicy", PERSIST, H, A, Always),
    s(
        "iam",
        "DeleteRolePermissionsBoundary",
        PRIVESC,
        H,
        A,
        Always,
    ),
    s(
        "iam",
        "DeleteUserPermissionsBoundary",
        PRIVESC,
        H,
        A,
        Always,
    ),
    s("iam", "DeactivateMFADevice", PERSIST, H, A, Always),
    s("iam", "DeleteVirtualMFADevice", PERSIST, M, A, Always),
    s("iam", "CreateSAMLProvider", PERSIST, H, A, Always),
    s("iam", "UpdateSAMLProvider", PERSIST, H, A, Always),
    s("iam", "CreateOpenIDConnectProvider", PERSIST, H, A, Always),
    s("rolesanywhere", "CreateTrustAnchor", PERSIST, H, A, Always),
    s("rolesanywhere", "UpdateTrustAnchor", PERSIST, H, A, Always),
    s("rolesanywhere", "CreateProfile", PERSIST, M, A, Always),
    s("lambda", "UpdateFunctionCode", PERSIST, M, A, Always),
    s(
        "lambda",
        "UpdateFunctionConfiguration",
        PERSIST,
        M,
        A,
        Layers,
    ),
    s("lambda", "CreateFunctionUrlConfig", PERSIST, M, A, Always),
    s("lambda", "UpdateFunctionUrlConfig", PERSIST, M, A, Always),
    s("signin", "ConsoleLogin", INITIAL, M, A, NoMfaLogin),
    // Credential access.
    s("secretsmanager", "GetSecretValue", CREDS, M, A, SecretRead),
    s("secretsmanager", "BatchGetSecretValue", CREDS, H, A, Always),
    s("ssm", "GetParameter", CREDS, M, A, Decrypt),
    s("ssm", "GetParameters", CREDS, M, A, Decrypt),
    s("ssm", "GetParametersByPath", CREDS, M, A, Decrypt),
    s("ec2", "GetPasswordData", CREDS, H, A, Always),
    s("ec2", "DescribeInstanceAttribute", CREDS, M, A, UserData),
    s("ec2", "ModifyInstanceMetadataOptions", CREDS, M, A, ImdsV1),
    // Execution / lateral movement on instances.
    s("ec2", "ModifyInstanceAttribute", EXEC, H, A, UserData),
    s("ec2", "RunInstances", IMPACT, M, A, UnusualInstances),
    s("ssm", "SendCommand", EXEC, H, A, Always),
    s("ssm", "StartSession", EXEC, M, A, Always),
    s("ssm", "CreateAssociation", EXEC, M, A, Always),
    s(
        "ec2-instance-connect",
        "SendSSHPublicKey",
        LATERAL,
        M,
        A,
        Always,
    ),
    s(
        "ec2-instance-connect",
        "SendSerialConsoleSSHPublicKey",
        LATERAL,
        H,
        A,
        Always,
    ),
    s("ec2", "EnableSerialConsoleAccess", LATERAL, H, A, Always),
    // Exfiltration / data exposure (grants are judged separately; these catch the rest).
    s("s3", "PutBucketPolicy", EXFIL, L, A, Always),
    s("s3", "PutBucketAcl", EXFIL, L, A, Always),
    s("s3", "PutBucketReplication", EXFIL, H, A, Always),
    s("s3", "DeleteBucketPublicAccessBlock", EXFIL, H, A, Always),
    s("s3", "PutBucketVersioning", IMPACT, L, A, Always),
    s("ec2", "ModifySnapshotAttribute", EXFIL, M, A, Always),
    s("ec2", "ModifyImageAttribute", EXFIL, M, A, Always),
    s("rds", "ModifyDBSnapshotAttribute", EXFIL, M, A, Always),
    s(
        "rds",
        "ModifyDBClusterSnapshotAttribute",
        EXFIL,
        M,
        A,
        Always,
    ),
    s("secretsmanager", "PutResourcePolicy", EXFIL, M, A, Always),
    // LLM-jacking: enabling paid foundation models.
    s(
        "bedrock",
        "PutFoundationModelEntitlement",
        IMPACT,
        M,
        A,
        Always,
    ),
    s(
        "bedrock",
        "CreateFoundationModelAgreement",
        IMPACT,
        M,
        A,
        Always,
    ),
    s("bedrock", "PutUseCaseForModelAccess", IMPACT, M, A, Always),
];

/// The catalogue entry for a record, if any.
pub fn lookup(service: &str, action: &str) -> Option<&'static Sensitive> {
    CATALOGUE
        .iter()
        .find(|e| e.service == service && e.action == action)
}

/// How many secret reads make a bulk read within one event.
pub const BULK_READS: usize = 5;

fn long_term(rec: &Record<'_>) -> bool {
    matches!(rec.user_identity().kind(), Some("IAMUser" | "Root"))
}

/// Whether the condition holds; `secret_reads` counts secret reads in the whole event.
pub fn holds(cond: Cond, rec: &Record<'_>, secret_reads: usize) -> bool {
    let p = rec.request_parameters();
    let param = |k: &str| p.and_then(|p| p.get(k));
    match cond {
        Always => true,
        UserData => {
            rec.request_str("attribute") == Some("userData")
                || param("userData").is_some()
                || param("attribute").and_then(|a| a.get("userData")).is_some()
        }
        SecretRead => long_term(rec) || secret_reads >= BULK_READS,
        Decrypt => {
            let decrypt = param("withDecryption").and_then(Value::as_bool) == Some(true);
            let names = param("names").and_then(Value::as_array).map_or(1, Vec::len);
            decrypt && (long_term(rec) || names >= BULK_READS || secret_reads >= BULK_READS)
        }
        OtherUser => match rec.request_str("userName") {
            Some(target) => {
                rec.user_identity().user_name() != Some(target)
                    || rec.user_identity().is_assumed_role()
            }
            None => false,
        },
        NoMfaLogin => {
            let root = rec.user_identity().kind() == Some("Root");
            let ok = rec
                .response_elements()
                .and_then(|r| r.get("ConsoleLogin"))
                .and_then(Value::as_str)
                == Some("Success");
            let mfa = rec
                .additional_event_data()
                .and_then(|d| d.get("MFAUsed"))
                .and_then(Value::as_str);
            ok && (root || mfa == Some("No"))
        }
        UnusualInstances => unusual_instances(p),
        Layers => param("layers").is_some(),
        WeakSelectors => true,
        ImdsV1 => rec.request_str("httpTokens") == Some("optional"),
    }
}

/// Selectors that stop recording management events or write events are an evasion.
pub fn selectors_weakened(rec: &Record<'_>) -> bool {
    let Some(sel) = rec
        .request_parameters()
        .and_then(|p| p.get("eventSelectors"))
        .and_then(Value::as_array)
    else {
        return false;
    };
    sel.is_empty()
        || sel.iter().any(|s| {
            s.get("includeManagementEvents").and_then(Value::as_bool) == Some(false)
                || s.get("readWriteType")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t != "All" && t != "WriteOnly")
        })
}

/// GPU / accelerator / memory-optimised families favoured for cryptomining, or many at once.
fn unusual_instances(p: Option<&Value>) -> bool {
    let Some(p) = p else { return false };
    const FAMILIES: &[&str] = &[
        "p2", "p3", "p4", "p5", "g3", "g4", "g5", "g6", "inf", "trn", "dl", "x1", "x2", "u-",
    ];
    let kind = p.get("instanceType").and_then(Value::as_str).unwrap_or("");
    let unusual = FAMILIES.iter().any(|f| kind.starts_with(f));
    let count = p
        .pointer("/instancesSet/items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("maxCount").and_then(Value::as_u64))
                .sum::<u64>()
        })
        .unwrap_or(0);
    unusual || count >= 20
}

/// Policies that grant everything (`AdministratorAccess`, `*:*`) make an attach critical.
pub fn grants_admin(rec: &Record<'_>) -> bool {
    let p = rec.request_parameters();
    let arn = p
        .and_then(|p| p.get("policyArn"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if arn.ends_with("/AdministratorAccess")
        || arn.ends_with("/IAMFullAccess")
        || arn.ends_with("/PowerUserAccess")
    {
        return true;
    }
    let Some(doc) = p
        .and_then(|p| p.get("policyDocument"))
        .and_then(gavel_policy_sdk::cloudtrail::json_document)
    else {
        return false;
    };
    crate::grants::statements(&doc).iter().any(|st| {
        st.get("Effect").and_then(Value::as_str) == Some("Allow")
            && crate::grants::strings(st.get("Action"))
                .iter()
                .any(|a| *a == "*" || a.ends_with(":*") && a.starts_with("iam"))
    })
}
