//! What policy settings share: a decision as users write it in `GAVEL_SETTINGS_<NAME>`, and
//! `*` globs for rule ids, ARNs, bucket names.

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

/// Glob with `*` only (any run, including empty); linear two-pointer match.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars_only() {
        assert!(glob("payroll-*", "payroll-exports"));
        assert!(glob(
            "arn:aws:iam::*:role/ci-*",
            "arn:aws:iam::123456789012:role/ci-deployer"
        ));
        assert!(glob("*", ""));
        assert!(!glob("payroll-*", "hr-payroll"));
        assert!(!glob("a*b", "acb-"));
        assert!(glob(&"*a".repeat(50), &"a".repeat(100)));
    }
}
