//! secrets-leak: placeholder.
use gavel_policy_sdk::{export_policy, Input, Phase, Policy, Report};

/// Settings.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {}

/// The policy.
pub struct SecretsLeak;

impl Policy for SecretsLeak {
    const NAME: &'static str = "secrets-leak";
    const VERSION: &'static str = "0.1.0";
    const PHASES: &'static [Phase] = &[Phase::Response];
    type Settings = Settings;
    fn evaluate(_input: &Input<Settings>) -> Result<Report, String> {
        Ok(Report::default())
    }
}

export_policy!(SecretsLeak);
