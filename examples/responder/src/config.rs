//! config: the `GAVEL_RESPONDER_*` variables, parsed strictly from a passed-in map; every error
//! names its variable.

use std::collections::HashMap;

use crate::arn::{self, Arn};
use crate::glob;

/// `true`: check state and report what would be done, change nothing.
pub const DRY_RUN: &str = "GAVEL_RESPONDER_DRY_RUN";
/// Buckets `quarantine-bucket:` may act on (comma list of `*` globs).
pub const ALLOW_BUCKETS: &str = "GAVEL_RESPONDER_ALLOW_BUCKETS";
/// Principals `revoke-principal:` may act on (comma list of `*` globs over ARNs).
pub const ALLOW_PRINCIPALS: &str = "GAVEL_RESPONDER_ALLOW_PRINCIPALS";
/// Topics `notify:` may publish to (comma list of `*` globs over ARNs).
pub const ALLOW_TOPICS: &str = "GAVEL_RESPONDER_ALLOW_TOPICS";
/// The role a quarantine policy keeps out of its deny.
pub const BREAK_GLASS_ROLE: &str = "GAVEL_RESPONDER_BREAK_GLASS_ROLE";
/// A topic every acted-on record's summary is published to.
pub const NOTIFY_TOPIC: &str = "GAVEL_RESPONDER_NOTIFY_TOPIC";
/// Where the responder's own reports go: `stdout`, an SNS topic ARN or an SQS queue ARN.
pub const REPORT_TO: &str = "GAVEL_RESPONDER_REPORT_TO";

/// A configuration error; the message starts with the variable's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// A comma list of `*` globs. Empty allows nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<String>);

impl AllowList {
    /// From a comma list; blank entries are ignored.
    pub fn parse(s: &str) -> Self {
        Self(
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect(),
        )
    }

    /// Whether any pattern matches `value`.
    pub fn allows(&self, value: &str) -> bool {
        self.0.iter().any(|p| glob::matches(p, value))
    }

    /// Whether the list allows nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where reports go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReportTo {
    /// One JSON line per report on stdout (the function's log stream).
    #[default]
    Stdout,
    /// An SNS topic.
    Sns(Arn),
    /// An SQS queue.
    Sqs(Arn),
}

/// The responder's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// [`DRY_RUN`]; default `false` (the allow-lists, empty by default, are the opt-in).
    pub dry_run: bool,
    /// [`ALLOW_BUCKETS`].
    pub allow_buckets: AllowList,
    /// [`ALLOW_PRINCIPALS`].
    pub allow_principals: AllowList,
    /// [`ALLOW_TOPICS`].
    pub allow_topics: AllowList,
    /// [`BREAK_GLASS_ROLE`]: required when [`ALLOW_BUCKETS`] allows anything.
    pub break_glass_role: Option<String>,
    /// [`NOTIFY_TOPIC`].
    pub notify_topic: Option<Arn>,
    /// [`REPORT_TO`]; default stdout.
    pub report_to: ReportTo,
}

impl Config {
    /// From the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// From a variable map (unset and empty are the same).
    pub fn from_map(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let dry_run = match get(DRY_RUN) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => return Err(err(DRY_RUN, format!("expected true or false, got {v:?}"))),
        };
        let allow_buckets = AllowList::parse(get(ALLOW_BUCKETS).unwrap_or(""));
        let allow_principals = AllowList::parse(get(ALLOW_PRINCIPALS).unwrap_or(""));
        let allow_topics = AllowList::parse(get(ALLOW_TOPICS).unwrap_or(""));
        let break_glass_role = match get(BREAK_GLASS_ROLE) {
            None => None,
            Some(v) => {
                let a = Arn::parse(v).map_err(|e| err(BREAK_GLASS_ROLE, e))?;
                if a.service != "iam" || !a.resource.starts_with("role/") {
                    return Err(err(
                        BREAK_GLASS_ROLE,
                        format!("{v}: not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
                    ));
                }
                Some(v.to_string())
            }
        };
        // Without an exemption the quarantine would lock out everyone but the account root.
        if !allow_buckets.is_empty() && break_glass_role.is_none() {
            return Err(err(
                BREAK_GLASS_ROLE,
                format!(
                    "required when {ALLOW_BUCKETS} allows buckets: a quarantined bucket must stay reachable by a break-glass role"
                ),
            ));
        }
        let notify_topic = get(NOTIFY_TOPIC)
            .map(|v| arn::topic(v).map_err(|e| err(NOTIFY_TOPIC, e)))
            .transpose()?;
        let report_to = match get(REPORT_TO) {
            None => ReportTo::Stdout,
            Some(v) if v.eq_ignore_ascii_case("stdout") => ReportTo::Stdout,
            Some(v) => {
                let a = Arn::parse(v).map_err(|e| err(REPORT_TO, e))?;
                match a.service.as_str() {
                    "sns" => ReportTo::Sns(arn::topic(v).map_err(|e| err(REPORT_TO, e))?),
                    "sqs" => ReportTo::Sqs(arn::queue(v).map_err(|e| err(REPORT_TO, e))?),
                    s => {
                        return Err(err(
                            REPORT_TO,
                            format!("{v}: expected stdout or an SNS/SQS ARN, got a {s} ARN"),
                        ));
                    }
                }
            }
        };
        Ok(Self {
            dry_run,
            allow_buckets,
            allow_principals,
            allow_topics,
            break_glass_role,
            notify_topic,
            report_to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/break-glass";

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_map(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_allow_nothing_and_report_to_stdout() {
        let c = parse(&[]).unwrap();
        assert!(!c.dry_run);
        assert!(c.allow_buckets.is_empty() && c.allow_principals.is_empty());
        assert!(
            !c.allow_topics
                .allows("arn:aws:sns:us-east-1:123456789012:x")
        );
        assert_eq!(c.report_to, ReportTo::Stdout);
        assert_eq!(c.notify_topic, None);
    }

    #[test]
    fn dry_run() {
        assert!(parse(&[(DRY_RUN, "true")]).unwrap().dry_run);
        assert!(parse(&[(DRY_RUN, "TRUE")]).unwrap().dry_run);
        assert!(!parse(&[(DRY_RUN, "false")]).unwrap().dry_run);
        let e = parse(&[(DRY_RUN, "yes")]).unwrap_err();
        assert_eq!(e.var, DRY_RUN);
        assert!(
            e.to_string().starts_with("GAVEL_RESPONDER_DRY_RUN: "),
            "{e}"
        );
    }

    #[test]
    fn allow_buckets_are_globs_and_need_a_break_glass_role() {
        let c = parse(&[
            (ALLOW_BUCKETS, " payroll-* , logs "),
            (BREAK_GLASS_ROLE, ROLE),
        ])
        .unwrap();
        assert!(c.allow_buckets.allows("payroll-exports"));
        assert!(c.allow_buckets.allows("logs"));
        assert!(!c.allow_buckets.allows("logs-2"));
        let e = parse(&[(ALLOW_BUCKETS, "payroll-*")]).unwrap_err();
        assert_eq!(e.var, BREAK_GLASS_ROLE);
    }

    #[test]
    fn allow_principals() {
        let c = parse(&[(ALLOW_PRINCIPALS, "arn:aws:iam::123456789012:role/*")]).unwrap();
        assert!(
            c.allow_principals
                .allows("arn:aws:iam::123456789012:role/contractor")
        );
        assert!(
            !c.allow_principals
                .allows("arn:aws:iam::123456789012:user/alice")
        );
    }

    #[test]
    fn allow_topics() {
        let c = parse(&[(ALLOW_TOPICS, "*")]).unwrap();
        assert!(
            c.allow_topics
                .allows("arn:aws:sns:us-east-1:123456789012:anything")
        );
    }

    #[test]
    fn break_glass_role_must_be_a_role_arn() {
        assert_eq!(
            parse(&[(BREAK_GLASS_ROLE, ROLE)])
                .unwrap()
                .break_glass_role
                .as_deref(),
            Some(ROLE)
        );
        for bad in ["break-glass", "arn:aws:iam::123456789012:user/bob"] {
            let e = parse(&[(BREAK_GLASS_ROLE, bad)]).unwrap_err();
            assert_eq!(e.var, BREAK_GLASS_ROLE, "{bad}");
        }
    }

    #[test]
    fn notify_topic_must_be_a_topic_arn() {
        let t = "arn:aws:sns:us-east-1:123456789012:security";
        assert_eq!(
            parse(&[(NOTIFY_TOPIC, t)])
                .unwrap()
                .notify_topic
                .unwrap()
                .to_string(),
            t
        );
        let e = parse(&[(NOTIFY_TOPIC, "arn:aws:sqs:us-east-1:123456789012:q")]).unwrap_err();
        assert_eq!(e.var, NOTIFY_TOPIC);
    }

    #[test]
    fn report_to() {
        let sns = "arn:aws:sns:us-east-1:123456789012:reports";
        let sqs = "arn:aws:sqs:eu-west-1:123456789012:reports";
        assert!(matches!(
            parse(&[(REPORT_TO, sns)]).unwrap().report_to,
            ReportTo::Sns(_)
        ));
        assert!(matches!(
            parse(&[(REPORT_TO, sqs)]).unwrap().report_to,
            ReportTo::Sqs(_)
        ));
        assert_eq!(
            parse(&[(REPORT_TO, "stdout")]).unwrap().report_to,
            ReportTo::Stdout
        );
        for bad in ["stderr", "arn:aws:lambda:us-east-1:123456789012:function:f"] {
            let e = parse(&[(REPORT_TO, bad)]).unwrap_err();
            assert_eq!(e.var, REPORT_TO, "{bad}");
        }
    }
}
