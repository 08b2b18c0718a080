//! Typed view of CloudTrail records and S3 access events as they reach a Lambda function.
//!
//! Shapes understood:
//! - EventBridge `AWS API Call via CloudTrail` (and the other `… via CloudTrail` detail types):
//!   `detail` is the record;
//! - a bare CloudTrail record (the event *is* the record);
//! - a CloudTrail log file object `{"Records": [record, …]}`;
//! - S3 event notifications (`Records[].s3`), which carry only a `principalId`;
//! - S3 Object Lambda events (`getObjectContext` / `headObjectContext` / `list…Context`).
//!
//! Every view borrows the parsed event and knows its RFC 6901 pointer, so findings can point
//! at the evidence.

use serde_json::Value;

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// One CloudTrail record.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    raw: &'a Value,
    pointer: String,
}

impl<'a> Record<'a> {
    /// View `raw` as a record located at `pointer` (`""` when it is the whole event).
    pub fn new(raw: &'a Value, pointer: impl Into<String>) -> Self {
        Self {
            raw,
            pointer: pointer.into(),
        }
    }

    /// The record's JSON.
    pub fn raw(&self) -> &'a Value {
        self.raw
    }

    /// JSON pointer to the record inside the event.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// Pointer to one of the record's fields, e.g. `/detail/eventName`.
    pub fn pointer_to(&self, field: &str) -> String {
        format!("{}/{}", self.pointer, field)
    }

    /// `eventSource`, e.g. `s3.amazonaws.com`.
    pub fn event_source(&self) -> &'a str {
        str_at(self.raw, "eventSource").unwrap_or("")
    }

    /// The service part of `eventSource` (`s3` for `s3.amazonaws.com`).
    pub fn service(&self) -> &'a str {
        let src = self.event_source();
        src.strip_suffix(".amazonaws.com").unwrap_or(src)
    }

    /// `eventName`, e.g. `PutBucketPolicy`.
    pub fn event_name(&self) -> &'a str {
        str_at(self.raw, "eventName").unwrap_or("")
    }

    /// `eventName` without the API version suffix Lambda appends
    /// (`UpdateFunctionCode20150331v2` → `UpdateFunctionCode`).
    pub fn action(&self) -> &'a str {
        strip_api_version(self.event_name())
    }

    /// `awsRegion`.
    pub fn aws_region(&self) -> Option<&'a str> {
        str_at(self.raw, "awsRegion")
    }

    /// `recipientAccountId`: the account that owns the resource / received the call.
    pub fn recipient_account_id(&self) -> Option<&'a str> {
        str_at(self.raw, "recipientAccountId")
    }

    /// `userIdentity`.
    pub fn user_identity(&self) -> Identity<'a> {
        Identity {
            raw: self.raw.get("userIdentity"),
        }
    }

    /// `sourceIPAddress` (an IP, or a service name such as `lambda.amazonaws.com`).
    pub fn source_ip(&self) -> Option<&'a str> {
        str_at(self.raw, "sourceIPAddress")
    }

    /// `userAgent`.
    pub fn user_agent(&self) -> Option<&'a str> {
        str_at(self.raw, "userAgent")
    }

    /// `errorCode`, when the call failed.
    pub fn error_code(&self) -> Option<&'a str> {
        str_at(self.raw, "errorCode")
    }

    /// `errorMessage`, when the call failed.
    pub fn error_message(&self) -> Option<&'a str> {
        str_at(self.raw, "errorMessage")
    }

    /// The call was refused for lack of permission (IAM, SCP, resource policy).
    pub fn is_access_denied(&self) -> bool {
        self.error_code().is_some_and(is_access_denied_code)
    }

    /// `readOnly`, when present.
    pub fn read_only(&self) -> Option<bool> {
        self.raw.get("readOnly").and_then(Value::as_bool)
    }

    /// `requestParameters` (an object), when present and not null.
    pub fn request_parameters(&self) -> Option<&'a Value> {
        self.raw.get("requestParameters").filter(|v| v.is_object())
    }

    /// A string request parameter.
    pub fn request_str(&self, key: &str) -> Option<&'a str> {
        self.request_parameters().and_then(|p| str_at(p, key))
    }

    /// `responseElements`, when present and not null.
    pub fn response_elements(&self) -> Option<&'a Value> {
        self.raw.get("responseElements").filter(|v| !v.is_null())
    }

    /// `additionalEventData`, when present and not null.
    pub fn additional_event_data(&self) -> Option<&'a Value> {
        self.raw.get("additionalEventData").filter(|v| !v.is_null())
    }

    /// The S3 bucket a call addressed: `requestParameters.bucketName`, else the first
    /// `AWS::S3::Bucket` resource.
    pub fn bucket_name(&self) -> Option<&'a str> {
        self.request_str("bucketName").or_else(|| {
            self.resources()
                .into_iter()
                .find(|r| r.kind == Some("AWS::S3::Bucket"))
                .and_then(|r| r.arn)
                .and_then(|arn| arn.strip_prefix("arn:aws:s3:::"))
        })
    }

    /// `resources[]`.
    pub fn resources(&self) -> Vec<Resource<'a>> {
        self.raw
            .get("resources")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|r| Resource {
                        arn: str_at(r, "ARN").or_else(|| str_at(r, "arn")),
                        kind: str_at(r, "type"),
                        account_id: str_at(r, "accountId"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Whether a CloudTrail `errorCode` means "not permitted".
pub fn is_access_denied_code(code: &str) -> bool {
    code.contains("AccessDenied")
        || code.contains("UnauthorizedOperation")
        || code.contains("UnauthorizedAccess")
        || code == "Forbidden"
        || code == "NotAuthorized"
}

/// Lambda's CloudTrail event names carry the API version (`AddPermission20150331v2`).
pub fn strip_api_version(name: &str) -> &str {
    let bytes = name.as_bytes();
    // A run of 8 digits (a date) optionally followed by `v<digits>` ends the name.
    let mut i = 0;
    while i + 8 <= bytes.len() {
        if bytes[i..i + 8].iter().all(u8::is_ascii_digit) && i > 0 {
            let rest = &name[i + 8..];
            let tail_ok = rest.is_empty()
                || (rest.starts_with('v') && rest[1..].bytes().all(|b| b.is_ascii_digit()));
            if tail_ok {
                return &name[..i];
            }
        }
        i += 1;
    }
    name
}

/// One entry of a record's `resources[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource<'a> {
    /// `ARN`.
    pub arn: Option<&'a str>,
    /// `type`, e.g. `AWS::S3::Bucket`.
    pub kind: Option<&'a str>,
    /// `accountId`: the resource owner.
    pub account_id: Option<&'a str>,
}

/// `userIdentity` of a record (or of an S3 Object Lambda event).
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    raw: Option<&'a Value>,
}

impl<'a> Identity<'a> {
    /// View an arbitrary `userIdentity` object.
    pub fn new(raw: Option<&'a Value>) -> Self {
        Self { raw }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.raw.and_then(|v| str_at(v, key))
    }

    /// `type`: `IAMUser`, `AssumedRole`, `Root`, `FederatedUser`, `AWSAccount`, `AWSService`, …
    pub fn kind(&self) -> Option<&'a str> {
        self.get("type")
    }

    /// `arn` of the caller (a session ARN for assumed roles).
    pub fn arn(&self) -> Option<&'a str> {
        self.get("arn")
    }

    /// `accountId` of the caller.
    pub fn account_id(&self) -> Option<&'a str> {
        self.get("accountId")
    }

    /// `principalId`.
    pub fn principal_id(&self) -> Option<&'a str> {
        self.get("principalId")
    }

    /// `userName`.
    pub fn user_name(&self) -> Option<&'a str> {
        self.get("userName")
    }

    /// `accessKeyId` (`AKIA…` long-term, `ASIA…` temporary).
    pub fn access_key_id(&self) -> Option<&'a str> {
        self.get("accessKeyId")
    }

    /// `invokedBy`: the AWS service that made the call on the caller's behalf.
    pub fn invoked_by(&self) -> Option<&'a str> {
        self.get("invokedBy")
    }

    /// `sessionContext.sessionIssuer.arn`: the role (or user) that issued the session.
    pub fn session_issuer_arn(&self) -> Option<&'a str> {
        self.raw
            .and_then(|v| v.pointer("/sessionContext/sessionIssuer"))
            .and_then(|v| str_at(v, "arn"))
    }

    /// `sessionContext.attributes.mfaAuthenticated == "true"`.
    pub fn mfa_authenticated(&self) -> bool {
        self.raw
            .and_then(|v| v.pointer("/sessionContext/attributes/mfaAuthenticated"))
            .and_then(Value::as_str)
            == Some("true")
    }

    /// The caller is an assumed-role session.
    pub fn is_assumed_role(&self) -> bool {
        self.kind() == Some("AssumedRole")
            || self.arn().is_some_and(|a| a.contains(":assumed-role/"))
    }

    /// The caller used no credentials (S3 public access).
    pub fn is_anonymous(&self) -> bool {
        self.account_id() == Some("ANONYMOUS_PRINCIPAL")
            || self
                .principal_id()
                .is_some_and(|p| p.eq_ignore_ascii_case("anonymous"))
            || self.kind() == Some("Anonymous")
    }

    /// The stable principal to judge and revoke: for an assumed-role session the role ARN
    /// (`arn:aws:iam::<acct>:role/<path/name>`), otherwise the caller's ARN.
    pub fn principal_arn(&self) -> Option<String> {
        if self.is_assumed_role() {
            if let Some(issuer) = self.session_issuer_arn() {
                return Some(issuer.to_string());
            }
            return self.arn().and_then(role_arn_of_session);
        }
        self.arn().map(str::to_string)
    }

    /// The account the caller belongs to: `accountId`, else the account field of its ARN.
    pub fn account(&self) -> Option<&'a str> {
        self.account_id()
            .filter(|a| a.bytes().all(|b| b.is_ascii_digit()))
            .or_else(|| self.arn().and_then(account_of_arn))
    }
}

/// `arn:aws:sts::123:assumed-role/Name/session` → `arn:aws:iam::123:role/Name`.
/// (The session ARN drops the role's path; prefer `sessionIssuer.arn` when present.)
pub fn role_arn_of_session(arn: &str) -> Option<String> {
    let (head, rest) = arn.split_once(":assumed-role/")?;
    let partition_account = head.strip_prefix("arn:")?;
    let (partition, account) = partition_account.split_once(":sts::")?;
    let role = rest.split('/').next().filter(|r| !r.is_empty())?;
    Some(format!("arn:{partition}:iam::{account}:role/{role}"))
}

/// The account id field of an ARN (`arn:aws:iam::123456789012:user/x` → `123456789012`).
pub fn account_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let account = parts.nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// A policy document carried in a request parameter: a JSON object, a JSON string, or a
/// URL-encoded JSON string (IAM `assumeRolePolicyDocument` in responses).
pub fn json_document(value: &Value) -> Option<Value> {
    match value {
        Value::Object(_) => Some(value.clone()),
        Value::String(s) => {
            let t = s.trim_start();
            if t.starts_with('{') || t.starts_with('[') {
                serde_json::from_str(t).ok()
            } else if t.starts_with("%7B") || t.starts_with("%7b") {
                serde_json::from_str(&percent_decode(t)).ok()
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Decode `%XX` escapes (and `+` as space); invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_cloudtrail_record(v: &Value) -> bool {
    str_at(v, "eventName").is_some()
        && str_at(v, "eventSource").is_some_and(|s| s.ends_with(".amazonaws.com"))
}

/// The CloudTrail records an event carries (EventBridge, bare record, log-file `Records[]`).
pub fn records(event: &Value) -> Vec<Record<'_>> {
    if let Some(detail) = event.get("detail")
        && is_cloudtrail_record(detail)
    {
        return vec![Record::new(detail, "/detail")];
    }
    if is_cloudtrail_record(event) {
        return vec![Record::new(event, "")];
    }
    event
        .get("Records")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .enumerate()
                .filter(|(_, r)| is_cloudtrail_record(r))
                .map(|(i, r)| Record::new(r, format!("/Records/{i}")))
                .collect()
        })
        .unwrap_or_default()
}

/// One S3 event notification record (`Records[].s3`).
#[derive(Debug, Clone)]
pub struct S3Notification<'a> {
    raw: &'a Value,
    pointer: String,
}

impl<'a> S3Notification<'a> {
    /// JSON pointer to the record.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// `eventName`, e.g. `ObjectCreated:Put`.
    pub fn event_name(&self) -> &'a str {
        str_at(self.raw, "eventName").unwrap_or("")
    }

    /// `awsRegion`.
    pub fn aws_region(&self) -> Option<&'a str> {
        str_at(self.raw, "awsRegion")
    }

    /// `s3.bucket.name`.
    pub fn bucket(&self) -> Option<&'a str> {
        self.raw.pointer("/s3/bucket/name").and_then(Value::as_str)
    }

    /// `s3.bucket.arn`.
    pub fn bucket_arn(&self) -> Option<&'a str> {
        self.raw.pointer("/s3/bucket/arn").and_then(Value::as_str)
    }

    /// `s3.object.key` (URL-encoded as S3 sends it).
    pub fn key(&self) -> Option<&'a str> {
        self.raw.pointer("/s3/object/key").and_then(Value::as_str)
    }

    /// `userIdentity.principalId` of the requester: `AWS:AIDA…`, `AWS:AROA…:session`,
    /// a canonical id, or `Anonymous`.
    pub fn principal_id(&self) -> Option<&'a str> {
        self.raw
            .pointer("/userIdentity/principalId")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// `requestParameters.sourceIPAddress`.
    pub fn source_ip(&self) -> Option<&'a str> {
        self.raw
            .pointer("/requestParameters/sourceIPAddress")
            .and_then(Value::as_str)
    }

    /// The request was anonymous.
    pub fn is_anonymous(&self) -> bool {
        self.principal_id()
            .is_some_and(|p| p.eq_ignore_ascii_case("anonymous"))
    }
}

/// The S3 event notification records of an event.
pub fn s3_notifications(event: &Value) -> Vec<S3Notification<'_>> {
    event
        .get("Records")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .enumerate()
                .filter(|(_, r)| r.get("s3").is_some_and(Value::is_object))
                .map(|(i, r)| S3Notification {
                    raw: r,
                    pointer: format!("/Records/{i}"),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An S3 Object Lambda event.
#[derive(Debug, Clone, Copy)]
pub struct ObjectLambda<'a> {
    raw: &'a Value,
    context: &'static str,
}

impl<'a> ObjectLambda<'a> {
    /// Which operation: `getObjectContext`, `headObjectContext`, `listObjectsContext`,
    /// `listObjectsV2Context`.
    pub fn context(&self) -> &'static str {
        self.context
    }

    /// `configuration.accessPointArn` (the Object Lambda access point).
    pub fn access_point_arn(&self) -> Option<&'a str> {
        self.raw
            .pointer("/configuration/accessPointArn")
            .and_then(Value::as_str)
    }

    /// `configuration.supportingAccessPointArn` (the S3 access point in front of the bucket).
    pub fn supporting_access_point_arn(&self) -> Option<&'a str> {
        self.raw
            .pointer("/configuration/supportingAccessPointArn")
            .and_then(Value::as_str)
    }

    /// `userRequest.url`.
    pub fn user_request_url(&self) -> Option<&'a str> {
        self.raw.pointer("/userRequest/url").and_then(Value::as_str)
    }

    /// `<context>.inputS3Url` (presigned URL of the original object).
    pub fn input_s3_url(&self) -> Option<&'a str> {
        self.raw
            .get(self.context)
            .and_then(|c| str_at(c, "inputS3Url"))
    }

    /// `userIdentity` of the requester.
    pub fn user_identity(&self) -> Identity<'a> {
        Identity {
            raw: self.raw.get("userIdentity"),
        }
    }
}

/// The event as an S3 Object Lambda event, when it is one.
pub fn object_lambda(event: &Value) -> Option<ObjectLambda<'_>> {
    const CONTEXTS: [&str; 4] = [
        "getObjectContext",
        "headObjectContext",
        "listObjectsContext",
        "listObjectsV2Context",
    ];
    let context = CONTEXTS
        .into_iter()
        .find(|c| event.get(*c).is_some_and(Value::is_object))?;
    event.get("configuration")?;
    Some(ObjectLambda {
        raw: event,
        context,
    })
}

/// The name part of an access point ARN (`arn:aws:s3:r:a:accesspoint/name` → `name`).
pub fn access_point_name(arn: &str) -> Option<&str> {
    arn.split_once(":accesspoint/")
        .map(|(_, n)| n.split('/').next().unwrap_or(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eventbridge() -> Value {
        json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "account": "111122223333",
            "detail": {"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy",
              "awsRegion": "eu-west-1", "recipientAccountId": "111122223333",
              "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2", "errorCode": "AccessDenied",
              "requestParameters": {"bucketName": "payroll", "bucketPolicy": "{\"Statement\":[]}"},
              "resources": [{"ARN": "arn:aws:s3:::payroll", "type": "AWS::S3::Bucket", "accountId": "111122223333"}],
              "userIdentity": {"type": "AssumedRole", "accountId": "111122223333",
                "arn": "arn:aws:sts::111122223333:assumed-role/Deployer/ci-42", "principalId": "AROAX:ci-42",
                "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/team/Deployer"}}}}})
    }

    #[test]
    fn eventbridge_record_fields() {
        let ev = eventbridge();
        let recs = records(&ev);
        assert_eq!(recs.len(), 1);
        let r = &recs[0];
        assert_eq!(r.pointer(), "/detail");
        assert_eq!(r.service(), "s3");
        assert_eq!(r.event_name(), "PutBucketPolicy");
        assert_eq!(r.aws_region(), Some("eu-west-1"));
        assert_eq!(r.recipient_account_id(), Some("111122223333"));
        assert_eq!(r.source_ip(), Some("198.51.100.7"));
        assert_eq!(r.user_agent(), Some("aws-cli/2"));
        assert!(r.is_access_denied());
        assert_eq!(r.bucket_name(), Some("payroll"));
        assert_eq!(r.resources()[0].account_id, Some("111122223333"));
        let id = r.user_identity();
        assert!(id.is_assumed_role());
        assert_eq!(
            id.principal_arn().as_deref(),
            Some("arn:aws:iam::111122223333:role/team/Deployer")
        );
        assert_eq!(id.account(), Some("111122223333"));
        let doc = json_document(&r.request_parameters().unwrap()["bucketPolicy"]).unwrap();
        assert!(doc.get("Statement").is_some());
    }

    #[test]
    fn session_without_issuer_resolves_to_role() {
        let id = json!({"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Admin/me@x.com"});
        let id = Identity::new(Some(&id));
        assert_eq!(
            id.principal_arn().as_deref(),
            Some("arn:aws:iam::123456789012:role/Admin")
        );
        assert_eq!(role_arn_of_session("arn:aws:iam::1:user/x"), None);
    }

    #[test]
    fn bare_and_log_file_records() {
        let bare = json!({"eventSource": "iam.amazonaws.com", "eventName": "CreateUser"});
        assert_eq!(records(&bare)[0].pointer(), "");
        let file = json!({"Records": [bare, {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {}}]});
        let recs = records(&file);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].pointer(), "/Records/0");
        assert!(records(&json!({"detail": {"foo": 1}})).is_empty());
    }

    #[test]
    fn lambda_event_names_lose_api_version() {
        assert_eq!(
            strip_api_version("AddPermission20150331v2"),
            "AddPermission"
        );
        assert_eq!(
            strip_api_version("UpdateFunctionCode20150331v2"),
            "UpdateFunctionCode"
        );
        assert_eq!(
            strip_api_version("CreateFunctionUrlConfig20211031"),
            "CreateFunctionUrlConfig"
        );
        assert_eq!(strip_api_version("GetObject"), "GetObject");
    }

    #[test]
    fn s3_notification_fields() {
        let ev = json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"}, "requestParameters": {"sourceIPAddress": "10.0.0.1"},
            "s3": {"bucket": {"name": "b", "arn": "arn:aws:s3:::b"}, "object": {"key": "a%20b"}}}]});
        let n = &s3_notifications(&ev)[0];
        assert_eq!(n.bucket(), Some("b"));
        assert_eq!(n.key(), Some("a%20b"));
        assert_eq!(n.principal_id(), Some("AWS:AIDAEXAMPLE"));
        assert_eq!(n.source_ip(), Some("10.0.0.1"));
        assert!(!n.is_anonymous());
        assert!(records(&ev).is_empty());
    }

    #[test]
    fn object_lambda_fields() {
        let ev = json!({"getObjectContext": {"inputS3Url": "https://x"}, "configuration": {
            "accessPointArn": "arn:aws:s3-object-lambda:us-east-1:111122223333:accesspoint/olap",
            "supportingAccessPointArn": "arn:aws:s3:us-east-1:111122223333:accesspoint/ap"},
            "userRequest": {"url": "https://u"}, "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a"}});
        let o = object_lambda(&ev).unwrap();
        assert_eq!(o.context(), "getObjectContext");
        assert_eq!(o.input_s3_url(), Some("https://x"));
        assert_eq!(
            access_point_name(o.supporting_access_point_arn().unwrap()),
            Some("ap")
        );
        assert_eq!(
            o.user_identity().principal_arn().as_deref(),
            Some("arn:aws:iam::111122223333:user/a")
        );
    }

    #[test]
    fn percent_decoding_and_documents() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), "{\"a\":1}");
        assert_eq!(percent_decode("100%"), "100%");
        assert!(json_document(&json!("%7B%22a%22%3A1%7D")).is_some());
        assert!(json_document(&json!("not json")).is_none());
        assert_eq!(
            account_of_arn("arn:aws:iam::123456789012:root"),
            Some("123456789012")
        );
        assert_eq!(account_of_arn("*"), None);
    }
}
