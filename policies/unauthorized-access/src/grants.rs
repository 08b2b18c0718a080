//! Who a call grants access to: resource policies, trust policies, ACLs, snapshot / AMI
//! attributes, Lambda permissions and security-group rules, reduced to "public" and a list of
//! accounts.

use gavel_policy_sdk::cloudtrail::{Record, account_of_arn, json_document};
use serde_json::Value;

/// What a call grants.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Grants {
    /// Anyone (`*`, `AllUsers`, `group: all`, auth type `NONE`, `0.0.0.0/0`).
    pub public: bool,
    /// How it is public, for the message.
    pub public_via: &'static str,
    /// Accounts granted access (12-digit ids).
    pub accounts: Vec<String>,
    /// The grant is network exposure (security group), judged less strictly than data.
    pub network: bool,
}

impl Grants {
    fn account(&mut self, a: &str) {
        let a = a.trim();
        let id = if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) {
            Some(a)
        } else {
            account_of_arn(a)
        };
        if let Some(id) = id
            && !self.accounts.iter().any(|x| x == id)
        {
            self.accounts.push(id.to_string());
        }
    }

    fn public(&mut self, via: &'static str) {
        self.public = true;
        self.public_via = via;
    }
}

/// The strings of a value that is a string or an array of strings.
pub fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// `Statement` as a list.
pub fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// Condition keys that pin a `*` principal to known callers.
const RESTRICTING: &[&str] = &[
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourcevpce",
    "aws:sourcevpc",
    "aws:principalorgpaths",
    "aws:userid",
    "kms:calleraccount",
    "kms:viaservice",
];

fn restricted(st: &Value) -> bool {
    let Some(cond) = st.get("Condition").and_then(Value::as_object) else {
        return false;
    };
    cond.values()
        .filter_map(Value::as_object)
        .flat_map(|m| m.keys())
        .any(|k| RESTRICTING.contains(&k.to_ascii_lowercase().as_str()))
}

/// Grants of a resource or trust policy document.
pub fn of_policy(doc: &Value, out: &mut Grants) {
    for st in statements(doc) {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let principal = st.get("Principal");
        let mut aws: Vec<&str> = Vec::new();
        match principal {
            Some(Value::String(s)) => aws.push(s),
            Some(Value::Object(m)) => {
                aws.extend(strings(m.get("AWS")));
                aws.extend(
                    strings(m.get("CanonicalUser"))
                        .into_iter()
                        .filter(|s| *s == "*"),
                );
            }
            _ => {}
        }
        for p in aws {
            if p == "*" {
                if !restricted(st) {
                    out.public("policy principal *");
                }
            } else {
                out.account(p);
            }
        }
    }
}

/// Request parameters that carry policy documents, by service convention.
const POLICY_PARAMS: &[&str] = &[
    "bucketPolicy",
    "policy",
    "policyDocument",
    "assumeRolePolicyDocument",
    "resourcePolicy",
    "policyText",
];

fn add_items(items: Option<&Value>, out: &mut Grants, via: &'static str) {
    for item in items.and_then(Value::as_array).into_iter().flatten() {
        if item.get("group").and_then(Value::as_str) == Some("all") {
            out.public(via);
        }
        if let Some(u) = item.get("userId").and_then(Value::as_str) {
            out.account(u);
        }
    }
}

/// Everything a record grants.
pub fn of_record(rec: &Record<'_>) -> Grants {
    let mut out = Grants::default();
    let Some(p) = rec.request_parameters() else {
        return out;
    };
    let action = rec.action();
    for key in POLICY_PARAMS {
        if let Some(doc) = p.get(*key).and_then(json_document) {
            of_policy(&doc, &mut out);
        }
    }
    // SQS / SNS attributes carry the policy as a string attribute.
    if let Some(doc) = p.pointer("/attributes/Policy").and_then(json_document) {
        of_policy(&doc, &mut out);
    }
    if p.get("attributeName").and_then(Value::as_str) == Some("Policy")
        && let Some(doc) = p.get("attributeValue").and_then(json_document)
    {
        of_policy(&doc, &mut out);
    }
    match action {
        "PutBucketAcl" | "PutObjectAcl" | "CreateBucket" | "PutObject" | "CopyObject" => {
            acl(p, &mut out)
        }
        "ModifySnapshotAttribute" => add_items(
            p.pointer("/createVolumePermission/add/items"),
            &mut out,
            "snapshot shared with all",
        ),
        "ModifyImageAttribute" => add_items(
            p.pointer("/launchPermission/add/items"),
            &mut out,
            "AMI shared with all",
        ),
        "ModifyDBSnapshotAttribute" | "ModifyDBClusterSnapshotAttribute" => {
            for v in strings(p.get("valuesToAdd")) {
                if v == "all" {
                    out.public("DB snapshot restorable by all");
                } else {
                    out.account(v);
                }
            }
        }
        "AddPermission" | "AddLayerVersionPermission" => {
            let principal = p.get("principal").and_then(Value::as_str).unwrap_or("");
            let pinned = [
                "sourceArn",
                "sourceAccount",
                "principalOrgID",
                "organizationId",
            ]
            .iter()
            .any(|k| p.get(*k).is_some_and(|v| !v.is_null()));
            if principal == "*" && !pinned {
                out.public("Lambda permission for principal *");
            } else if !principal.ends_with(".amazonaws.com") {
                out.account(principal);
            }
        }
        "CreateFunctionUrlConfig" | "UpdateFunctionUrlConfig"
            if p.get("authType").and_then(Value::as_str) == Some("NONE") =>
        {
            out.public("function URL with auth type NONE");
            out.network = true;
        }
        "AuthorizeSecurityGroupIngress" => security_group(p, &mut out),
        "CreateGrant" => {
            if let Some(g) = p.get("granteePrincipal").and_then(Value::as_str) {
                out.account(g);
            }
        }
        "PutBucketReplication" => {
            let text = p.to_string();
            // Destination `Account` or a bucket ARN naming another account.
            for key in ["\"Account\":\"", "\"account\":\""] {
                let mut rest = text.as_str();
                while let Some(i) = rest.find(key) {
                    rest = &rest[i + key.len()..];
                    out.account(rest.split('"').next().unwrap_or(""));
                }
            }
        }
        "ModifyDBInstance" | "CreateDBInstance"
            if p.get("publiclyAccessible").and_then(Value::as_bool) == Some(true) =>
        {
            out.public("database publicly accessible");
            out.network = true;
        }
        _ => {}
    }
    out
}

/// Canned and explicit ACLs to AllUsers / AuthenticatedUsers.
fn acl(p: &Value, out: &mut Grants) {
    let text = p.to_string();
    if text.contains("acs.amazonaws.com/groups/global/AllUsers")
        || text.contains("acs.amazonaws.com/groups/global/AuthenticatedUsers")
    {
        out.public("ACL grant to AllUsers / AuthenticatedUsers");
    }
    for canned in strings(p.get("x-amz-acl")) {
        if matches!(
            canned,
            "public-read" | "public-read-write" | "authenticated-read"
        ) {
            out.public("canned ACL public-read");
        }
    }
}

/// `0.0.0.0/0` / `::/0` ingress (any prefix of length 0).
fn security_group(p: &Value, out: &mut Grants) {
    let open = |cidr: &str| cidr.ends_with("/0");
    let mut any_open = p.get("cidrIp").and_then(Value::as_str).is_some_and(open);
    for perm in p
        .pointer("/ipPermissions/items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for (list, key) in [
            ("/ipRanges/items", "cidrIp"),
            ("/ipv6Ranges/items", "cidrIpv6"),
        ] {
            for r in perm
                .pointer(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                any_open |= r.get(key).and_then(Value::as_str).is_some_and(open);
            }
        }
    }
    if any_open {
        out.public("security group ingress from any address");
        out.network = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(v: &Value) -> Record<'_> {
        Record::new(v, "")
    }

    #[test]
    fn bucket_policy_public_and_foreign() {
        let v = json!({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy", "requestParameters": {
            "bucketName": "b", "bucketPolicy": {"Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
                {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::999988887777:root"]}, "Action": "s3:*"}]}}});
        let g = of_record(&rec(&v));
        assert!(g.public);
        assert_eq!(g.accounts, ["999988887777"]);
    }

    #[test]
    fn restricted_star_is_not_public() {
        let doc = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"},
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}});
        let mut g = Grants::default();
        of_policy(&doc, &mut g);
        assert!(!g.public);
    }

    #[test]
    fn trust_policy_string_and_shares() {
        let v = json!({"eventSource": "iam.amazonaws.com", "eventName": "UpdateAssumeRolePolicy", "requestParameters": {
            "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::193672423079:root\"}}]}"}});
        assert_eq!(of_record(&rec(&v)).accounts, ["193672423079"]);
        let v = json!({"eventSource": "ec2.amazonaws.com", "eventName": "ModifySnapshotAttribute", "requestParameters": {
            "createVolumePermission": {"add": {"items": [{"group": "all"}]}}}});
        assert!(of_record(&rec(&v)).public);
        let v = json!({"eventSource": "lambda.amazonaws.com", "eventName": "AddPermission20150331v2",
            "requestParameters": {"principal": "s3.amazonaws.com", "sourceAccount": "111122223333"}});
        assert_eq!(of_record(&rec(&v)), Grants::default());
        let v = json!({"eventSource": "ec2.amazonaws.com", "eventName": "AuthorizeSecurityGroupIngress",
            "requestParameters": {"ipPermissions": {"items": [{"ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}}});
        assert!(of_record(&rec(&v)).network);
    }
}
