//! secrets-leak: judges a function's RESULT for leaked credentials, stack traces and
//! error-page data leakage before the caller receives it.
//!
//! Rules: `secret.*` (credentials, [`keys`]) and `leak.*` (CRS 950–956 style leakage and
//! stack traces, [`leaks`]). Evidence is always redacted or a bounded snippet.

use std::collections::BTreeMap;

use gavel_policy_sdk::export_policy;
use gavel_policy_sdk::{Decision, Input, Phase, Policy, Report, Severity};
use serde::Deserialize;

pub mod keys;
pub mod leaks;
pub mod patterns;
pub mod text;

/// Every credential rule id.
pub const SECRET_RULES: &[&str] = &[
    "secret.aws-key-pair",
    "secret.aws-secret-key",
    "secret.private-key",
    "secret.github-token",
    "secret.gitlab-token",
    "secret.slack-token",
    "secret.stripe-key",
    "secret.npm-token",
    "secret.google-api-key",
    "secret.jwt",
];

pub use gavel_policy_sdk::settings::Level;

/// Settings (`GAVEL_SETTINGS_SECRETS_LEAK`); `{}` scans everything with the default decisions.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Settings {
    /// Rule ids (glob `*`) to skip, e.g. `["leak.template-source"]`.
    pub disabled_rules: Vec<String>,
    /// Rule id (glob `*`) → `allow` | `alert` | `deny`, overriding the default decision.
    /// The most specific (longest) matching pattern wins.
    pub decisions: BTreeMap<String, Level>,
    /// Values (glob `*`) that are known non-secrets: test keys, public client ids.
    pub allowlist: Vec<String>,
    /// How many bytes of a result are scanned (default 1 MiB).
    pub max_scan_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            disabled_rules: Vec::new(),
            decisions: BTreeMap::new(),
            allowlist: Vec::new(),
            max_scan_bytes: 1 << 20,
        }
    }
}

/// One raw detection before settings are applied.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Rule id.
    pub rule: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Default decision.
    pub decision: Decision,
    /// Finding message.
    pub message: String,
    /// Byte offset in the scanned text.
    pub offset: usize,
    /// Redacted evidence.
    pub evidence: String,
}

pub use gavel_policy_sdk::settings::glob;

fn all_rules() -> impl Iterator<Item = &'static str> {
    SECRET_RULES.iter().chain(patterns::LEAK_RULES).copied()
}

impl Settings {
    fn enabled(&self, rule: &str) -> bool {
        !self.disabled_rules.iter().any(|p| glob(p, rule))
            && self.decision_override(rule) != Some(Level::Allow)
    }

    fn decision_override(&self, rule: &str) -> Option<Level> {
        self.decisions
            .iter()
            .filter(|(p, _)| glob(p, rule))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, l)| *l)
    }

    fn allowed(&self, value: &str) -> bool {
        self.allowlist.iter().any(|p| glob(p, value))
    }
}

/// The policy.
pub struct SecretsLeak;

impl Policy for SecretsLeak {
    const NAME: &'static str = "secrets-leak";
    const VERSION: &'static str = "0.1.0";
    const PHASES: &'static [Phase] = &[Phase::Response];
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), String> {
        for p in settings
            .disabled_rules
            .iter()
            .chain(settings.decisions.keys())
        {
            if !all_rules().any(|r| glob(p, r)) {
                return Err(format!("`{p}` matches no rule of secrets-leak"));
            }
        }
        if settings.max_scan_bytes == 0 {
            return Err("`maxScanBytes` must be > 0".into());
        }
        Ok(())
    }

    fn warm() {
        leaks::automaton();
        gavel_policy_sdk::runtime::zero_free_heap();
    }

    fn evaluate(input: &Input<Settings>) -> Result<Report, String> {
        let mut report = Report::default();
        let Some(raw) = input.result_bytes() else {
            return Ok(report);
        };
        let s = &input.settings;
        let limits = text::Limits {
            max_bytes: s.max_scan_bytes,
        };
        let texts = text::texts(raw, input.result(), &limits);
        let leak_scanner = leaks::automaton();
        let mut seen: Vec<(&'static str, String)> = Vec::new();
        for t in &texts {
            let mut hits = Vec::new();
            keys::scan(&t.text, &|v| s.allowed(v), &mut hits);
            if let Some(sc) = leak_scanner {
                leaks::scan(sc, &t.text, &|r| s.enabled(r), &mut hits);
            }
            for h in hits {
                // The verdict keeps 32 findings; bounding the dedupe list keeps it linear.
                if seen.len() >= 64 {
                    break;
                }
                if !s.enabled(h.rule) || seen.iter().any(|(r, e)| *r == h.rule && *e == h.evidence)
                {
                    continue;
                }
                let decision = s
                    .decision_override(h.rule)
                    .map(Decision::from)
                    .unwrap_or(h.decision);
                report.add(
                    decision,
                    h.rule,
                    h.severity,
                    h.message,
                    t.pointer_at(h.offset),
                    &h.evidence,
                );
                seen.push((h.rule, h.evidence));
            }
        }
        Ok(report)
    }
}

// Native builds (tests) skip the export: wit-bindgen's `pkg:iface#fn` symbol names are not
// valid in a native cdylib's linker version script.
export_policy!(SecretsLeak);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_results_stay_bounded() {
        let unit = "AKIAB3VDEO65CYI46KQZ WVI8TAM4V77qf1P6DeoEyrt+nJGF6+vg5jjkqhhU ErrorErrorException <? at x.js:1:2\n";
        let body = unit.repeat((512 << 10) / unit.len());
        let invocation = gavel_policy_sdk::Invocation {
            request_id: String::new(),
            function_name: String::new(),
            function_arn: String::new(),
            phase: Phase::Response,
            event: b"{}".to_vec(),
            result: Some(body.into_bytes()),
            function_error: None,
            telemetry: Vec::new(),
            settings: String::new(),
        };
        let started = std::time::Instant::now();
        let report = SecretsLeak::evaluate(&Input::new(invocation, Settings::default())).unwrap();
        assert_eq!(report.decision(), Decision::Deny);
        assert!(report.findings().len() <= 32);
        println!("512 KiB hostile result: {:?}", started.elapsed());
    }

    #[test]
    fn glob_matches() {
        assert!(glob("leak.*", "leak.sql-error"));
        assert!(glob("*", ""));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c", "abd"));
        assert!(glob("secret.jwt", "secret.jwt"));
    }

    #[test]
    fn settings_parse_and_validate() {
        let s: Settings = serde_json::from_str("{}").unwrap();
        assert!(SecretsLeak::validate(&s).is_ok());
        let s: Settings =
            serde_json::from_str(r#"{"decisions": {"secret.jwt": "deny", "leak.*": "allow"}, "disabledRules": ["leak.stack-trace"]}"#)
                .unwrap();
        assert!(SecretsLeak::validate(&s).is_ok());
        assert_eq!(s.decision_override("secret.jwt"), Some(Level::Deny));
        assert!(!s.enabled("leak.sql-error"));
        let bad: Settings = serde_json::from_str(r#"{"disabledRules": ["secret.typo"]}"#).unwrap();
        assert!(SecretsLeak::validate(&bad).is_err());
        assert!(serde_json::from_str::<Settings>(r#"{"unknown": 1}"#).is_err());
    }
}
