//! Types policy settings share: a decision as users write it in `GAVEL_SETTINGS_<NAME>`.

use serde::Deserialize;

use crate::Decision;

/// A decision as written in settings (`"allow"`, `"alert"`, `"deny"`), e.g. to override a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Do not report (silences the rule).
    Allow,
    /// Report, never block.
    Alert,
    /// Report, and block in enforce mode.
    Deny,
}

impl From<Level> for Decision {
    fn from(l: Level) -> Self {
        match l {
            Level::Allow => Decision::Allow,
            Level::Alert => Decision::Alert,
            Level::Deny => Decision::Deny,
        }
    }
}
