//! Settings: which families run, per-rule/family decision overrides, and scan limits.

use std::collections::BTreeMap;

use gavel_policy_sdk::Decision;
use serde::Deserialize;

pub use gavel_policy_sdk::settings::Level;

/// Policy settings (`GAVEL_SETTINGS_MALICIOUS_CONTENT`); `{}` gives the defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Families to turn off, e.g. `["xss"]`.
    pub disable: Vec<String>,
    /// Decision per rule id (`sqli.keyword`) or family (`xss`); a rule id wins over its family.
    pub decisions: BTreeMap<String, Level>,
    /// Bytes of each value scanned for injections (file signatures look at the start only).
    pub max_scan_bytes: usize,
    /// Extra header names (lower-case) to skip.
    pub skip_headers: Vec<String>,
    /// Plumbing headers (`accept`, `host`, ...) to scan anyway.
    pub scan_headers: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            disable: Vec::new(),
            decisions: BTreeMap::new(),
            max_scan_bytes: 64 * 1024,
            skip_headers: Vec::new(),
            scan_headers: Vec::new(),
        }
    }
}

impl Settings {
    /// Reject names that match no family or rule prefix (typos would silently do nothing).
    pub fn validate(&self) -> Result<(), String> {
        for f in &self.disable {
            if !crate::FAMILIES.contains(&f.as_str()) {
                return Err(format!(
                    "disable: unknown family `{f}` (known: {})",
                    crate::FAMILIES.join(", ")
                ));
            }
        }
        for k in self.decisions.keys() {
            let fam = k.split('.').next().unwrap_or("");
            if !crate::FAMILIES.contains(&fam) {
                return Err(format!(
                    "decisions: `{k}` names no family (known: {})",
                    crate::FAMILIES.join(", ")
                ));
            }
        }
        if self.max_scan_bytes == 0 {
            return Err("max_scan_bytes must be > 0".into());
        }
        Ok(())
    }

    /// Whether a family runs.
    pub fn family_enabled(&self, family: &str) -> bool {
        !self.disable.iter().any(|f| f == family)
    }

    /// Whether a header with this value is skipped: like [`Settings::skip_header`], except that
    /// an address-list plumbing header (`x-forwarded-for`, set by clients and only appended to
    /// by proxies) holding code characters no address list has is scanned anyway.
    pub fn skip_header_value(&self, name: &str, value: &[u8]) -> bool {
        self.skip_header(name)
            && (self
                .skip_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
                || !(crate::ADDRESS_HEADERS.contains(&name)
                    && value.iter().any(|c| b"<>'\"();$`{}|\\".contains(c))))
    }

    /// Whether a header is skipped.
    pub fn skip_header(&self, name: &str) -> bool {
        if self
            .skip_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            return true;
        }
        crate::PLUMBING_HEADERS.contains(&name)
            && !self
                .scan_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
    }

    /// The decision for a hit, `None` when settings drop it.
    pub fn decision_for(&self, rule: &str, strong: bool) -> Option<Decision> {
        let fam = rule.split('.').next().unwrap_or("");
        let level = self.decisions.get(rule).or_else(|| self.decisions.get(fam));
        match level {
            Some(Level::Allow) => None,
            Some(Level::Alert) => Some(Decision::Alert),
            Some(Level::Deny) => Some(Decision::Deny),
            None => Some(crate::default_decision(strong)),
        }
    }
}
