//! unauthorized-access: judges S3 and CloudTrail (EventBridge) events for sensitive API calls,
//! foreign-account and public grants, and access to sensitive buckets by principals the
//! settings do not allow.
//!
//! The policy is stateless (a fresh instance per call): "bursts" are counted within one
//! event (a CloudTrail log file or a batch of records).

use gavel_policy_sdk::cloudtrail;
use gavel_policy_sdk::export_policy;
use gavel_policy_sdk::{Decision, Input, Phase, Policy, Report, Severity};

pub mod actions;
pub mod grants;
pub mod rules;
pub mod settings;

pub use settings::Settings;

/// Calls that read secrets, counted per event for bulk reads.
const SECRET_READS: &[&str] = &[
    "GetSecretValue",
    "BatchGetSecretValue",
    "GetParameter",
    "GetParameters",
    "GetParametersByPath",
];

/// The policy.
pub struct UnauthorizedAccess;

impl Policy for UnauthorizedAccess {
    const NAME: &'static str = "unauthorized-access";
    const VERSION: &'static str = "0.1.0";
    const PHASES: &'static [Phase] = &[Phase::Request];
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), String> {
        settings.validate()
    }

    fn evaluate(input: &Input<Settings>) -> Result<Report, String> {
        let settings = &input.settings;
        let mut out = rules::Out {
            report: Report::default(),
            settings,
        };
        let Some(event) = input.event() else {
            return Ok(out.report);
        };
        // EventBridge names the account the event came from.
        let event_accounts: Vec<&str> = event
            .get("account")
            .and_then(|a| a.as_str())
            .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            .into_iter()
            .collect();

        let records = cloudtrail::records(event);
        let secret_reads = records
            .iter()
            .filter(|r| SECRET_READS.contains(&r.action()))
            .count();
        for rec in &records {
            rules::record(rec, &event_accounts, secret_reads, &mut out);
        }
        let denied = records.iter().filter(|r| r.is_access_denied()).count();
        if settings.access_denied_burst > 0 && denied >= settings.access_denied_burst {
            let first = records
                .iter()
                .find(|r| r.is_access_denied())
                .map(|r| r.pointer_to("errorCode"));
            out.add(
                "ua.access-denied-burst",
                Decision::Alert,
                Severity::Medium,
                format!(
                    "{denied} denied calls in one event (threshold {})",
                    settings.access_denied_burst
                ),
                first.unwrap_or_default(),
                &format!("{denied} AccessDenied"),
            );
        }

        for n in cloudtrail::s3_notifications(event) {
            rules::notification(&n, &mut out);
        }
        if let Some(o) = cloudtrail::object_lambda(event) {
            rules::object_lambda(&o, &mut out);
        }
        Ok(out.report)
    }
}

// Native builds (tests) skip the export: wit-bindgen's `pkg:iface#fn` symbol names are not
// valid in a native cdylib's linker version script.
export_policy!(UnauthorizedAccess);
