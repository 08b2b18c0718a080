//! Settings of unauthorized-access: who and what is trusted, and how findings are decided.

use std::collections::BTreeMap;

use serde::Deserialize;

pub use gavel_policy_sdk::settings::Level;

/// Settings (`GAVEL_SETTINGS_UNAUTHORIZED_ACCESS`). `{}` flags the built-in sensitive actions,
/// public grants and shares outside the account that received the event.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Settings {
    /// Accounts that are "ours". Empty: the account that received each event
    /// (`recipientAccountId`, the EventBridge `account`, the access point's account).
    pub home_accounts: Vec<String>,
    /// Partner accounts that may receive shares and call in, without being home.
    pub trusted_accounts: Vec<String>,
    /// Bucket names (glob `*`) whose data and configuration only allowed principals may touch.
    pub sensitive_buckets: Vec<String>,
    /// Access point names or ARNs (glob `*`), S3 and S3 Object Lambda.
    pub sensitive_access_points: Vec<String>,
    /// Principals (ARN glob; sessions match by role ARN; S3 notification `principalId` too)
    /// allowed to use sensitive buckets and perform sensitive actions.
    pub allowed_principals: Vec<String>,
    /// Principals allowed to perform sensitive actions and change bucket configuration,
    /// but not to read or write sensitive data.
    pub policy_admins: Vec<String>,
    /// `service:Action` globs (`iam:Create*`). `default` stands for the built-in list;
    /// a leading `!` removes matching actions.
    pub sensitive_actions: Vec<String>,
    /// Decision for an AccessDenied on a sensitive resource or action.
    pub access_denied: Level,
    /// This many denied calls in one event is a burst (`0` disables).
    pub access_denied_burst: usize,
    /// Rule id (glob) → decision, overriding the default; the longest pattern wins.
    pub rule_decisions: BTreeMap<String, Level>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            home_accounts: Vec::new(),
            trusted_accounts: Vec::new(),
            sensitive_buckets: Vec::new(),
            sensitive_access_points: Vec::new(),
            allowed_principals: Vec::new(),
            policy_admins: Vec::new(),
            sensitive_actions: vec!["default".into()],
            access_denied: Level::Alert,
            access_denied_burst: 5,
            rule_decisions: BTreeMap::new(),
        }
    }
}

pub use gavel_policy_sdk::settings::glob;

/// Case-insensitive glob, for action names (`iam:createuser` is the same action).
pub fn glob_ci(pattern: &str, text: &str) -> bool {
    glob(&pattern.to_ascii_lowercase(), &text.to_ascii_lowercase())
}

fn any(patterns: &[String], text: &str) -> bool {
    patterns.iter().any(|p| glob(p, text))
}

/// Every rule id of this policy.
pub const RULES: &[&str] = &[
    "ua.sensitive-action",
    "ua.sensitive-action-denied",
    "ua.foreign-principal",
    "ua.foreign-share",
    "ua.public-grant",
    "ua.sensitive-bucket",
    "ua.sensitive-access-point",
    "ua.anonymous-access",
    "ua.access-denied",
    "ua.access-denied-burst",
];

impl Settings {
    /// Whether `candidates` (role ARN, raw ARN, principal id) include an allowed principal.
    pub fn is_allowed(&self, candidates: &[&str]) -> bool {
        candidates.iter().any(|c| any(&self.allowed_principals, c))
    }

    /// Allowed principal or policy admin.
    pub fn is_admin(&self, candidates: &[&str]) -> bool {
        self.is_allowed(candidates) || candidates.iter().any(|c| any(&self.policy_admins, c))
    }

    /// Principal lists were configured, so "not listed" means "not authorized".
    pub fn principals_configured(&self) -> bool {
        !self.allowed_principals.is_empty() || !self.policy_admins.is_empty()
    }

    /// A sensitive bucket.
    pub fn sensitive_bucket(&self, name: &str) -> bool {
        any(&self.sensitive_buckets, name)
    }

    /// A sensitive access point, by ARN or by name.
    pub fn sensitive_access_point(&self, arn: &str) -> bool {
        let name = gavel_policy_sdk::cloudtrail::access_point_name(arn).unwrap_or(arn);
        any(&self.sensitive_access_points, arn) || any(&self.sensitive_access_points, name)
    }

    /// Whether an account is ours or trusted; `home` holds the event's own accounts when
    /// `homeAccounts` is empty.
    pub fn is_known_account(&self, account: &str, home: &[&str]) -> bool {
        let homes = if self.home_accounts.is_empty() {
            home.contains(&account)
        } else {
            any(&self.home_accounts, account)
        };
        homes || any(&self.trusted_accounts, account)
    }

    /// The decision override for a rule, if any.
    pub fn override_for(&self, rule: &str) -> Option<Level> {
        self.rule_decisions
            .iter()
            .filter(|(p, _)| glob(p, rule))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, l)| *l)
    }

    /// Whether `service:action` is selected by `sensitiveActions` (built-in entries are
    /// selected by `default`).
    pub fn action_selected(&self, service: &str, action: &str, builtin: bool) -> bool {
        let key = format!("{service}:{action}");
        let mut selected = false;
        for p in &self.sensitive_actions {
            if let Some(neg) = p.strip_prefix('!') {
                if glob_ci(neg, &key) {
                    return false;
                }
            } else if (p == "default" && builtin) || glob_ci(p, &key) {
                selected = true;
            }
        }
        selected
    }

    /// Check what serde cannot: unknown rule ids, malformed action patterns.
    pub fn validate(&self) -> Result<(), String> {
        for p in self.rule_decisions.keys() {
            if !RULES.iter().any(|r| glob(p, r)) {
                return Err(format!(
                    "ruleDecisions: `{p}` matches no rule of unauthorized-access"
                ));
            }
        }
        for p in &self.sensitive_actions {
            let body = p.strip_prefix('!').unwrap_or(p);
            if body != "default" && !body.contains(':') {
                return Err(format!(
                    "sensitiveActions: `{p}` must be `service:Action` (glob) or `default`"
                ));
            }
        }
        for a in self.home_accounts.iter().chain(&self.trusted_accounts) {
            if a.is_empty() || !a.bytes().all(|b| b.is_ascii_digit() || b == b'*') {
                return Err(format!("`{a}` is not an account id (12 digits, glob `*`)"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_settings_are_useful() {
        let s: Settings = serde_json::from_str("{}").unwrap();
        assert!(s.validate().is_ok());
        assert!(s.action_selected("cloudtrail", "StopLogging", true));
        assert!(!s.action_selected("s3", "GetObject", false));
        assert_eq!(s.access_denied, Level::Alert);
    }

    #[test]
    fn action_selection_and_negation() {
        let s: Settings = serde_json::from_str(
            r#"{"sensitiveActions": ["default", "s3:GetObject", "!iam:CreateRole"]}"#,
        )
        .unwrap();
        assert!(s.action_selected("s3", "GetObject", false));
        assert!(!s.action_selected("iam", "CreateRole", true));
        assert!(s.action_selected("iam", "CreateUser", true));
    }

    #[test]
    fn principals_and_accounts() {
        let s: Settings = serde_json::from_str(
            r#"{"allowedPrincipals": ["arn:aws:iam::111122223333:role/etl-*"], "homeAccounts": ["111122223333"],
                "trustedAccounts": ["444455556666"], "sensitiveBuckets": ["payroll-*"]}"#,
        )
        .unwrap();
        assert!(s.is_allowed(&["arn:aws:iam::111122223333:role/etl-nightly"]));
        assert!(!s.is_admin(&["arn:aws:iam::111122223333:role/other"]));
        assert!(s.is_known_account("444455556666", &[]));
        assert!(!s.is_known_account("999999999999", &["999999999999"]));
        assert!(s.sensitive_bucket("payroll-2024"));
        assert!(serde_json::from_str::<Settings>(r#"{"sensitiveBucket": []}"#).is_err());
        let bad: Settings =
            serde_json::from_str(r#"{"ruleDecisions": {"ua.nope": "deny"}}"#).unwrap();
        assert!(bad.validate().is_err());
    }
}
