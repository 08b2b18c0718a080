//! Configuration: arbitrary environments through `Config::from_vars`. It must return a
//! `Config` or an error naming a variable, never panic; what it accepts must be usable
//! (destination labels parse back to the same destination, settings are JSON).
//!
//! Input: lines `NAME=VALUE` (the first `=` splits; a line without one is a variable with an
//! empty value). A name written `@N` stands for the N-th variable gavel reads, so the fuzzer
//! reaches every one without guessing its spelling (`config.dict` helps too).
#![no_main]

use gavel::config::{Config, settings_key};
use gavel::destinations::DestinationSpec;
use libfuzzer_sys::fuzz_target;

const VARS: &[&str] = &[
    "GAVEL_POLICIES",
    "GAVEL_SETTINGS_MALICIOUS_CONTENT",
    "GAVEL_SETTINGS_",
    "GAVEL_MODE",
    "GAVEL_ON_POLICY_ERROR",
    "GAVEL_DESTINATION_ON_DENY",
    "GAVEL_DESTINATION_ON_ALERT",
    "GAVEL_DESTINATION_ON_ALLOW",
    "GAVEL_PAYLOADS",
    "GAVEL_POLICY_TIMEOUT_MS",
    "GAVEL_POLICY_MEMORY_MB",
    "GAVEL_DELIVERY_BUDGET_MS",
    "GAVEL_TRUSTED_KEYS",
    "GAVEL_LOG",
    "GAVEL_POLICY_DIR",
    "GAVEL_PROXY_PORT",
    "GAVEL_TELEMETRY_PORT",
    "GAVEL_RUNTIME_API_UPSTREAM",
    "AWS_LAMBDA_RUNTIME_API",
    "GAVEL_SETTINGS_SECRETS_LEAK",
    "GAVEL_SPOOL_DIR",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let vars: Vec<(String, String)> = text
        .split('\n')
        .map(|line| {
            let (name, value) = line.split_once('=').unwrap_or((line, ""));
            let name = match name.strip_prefix('@').and_then(|n| n.parse::<usize>().ok()) {
                Some(i) => VARS[i % VARS.len()].to_string(),
                None => name.to_string(),
            };
            (name, value.to_string())
        })
        .collect();
    match Config::from_vars(vars.clone()) {
        Ok(config) => {
            for spec in [
                &config.routes.deny,
                &config.routes.alert,
                &config.routes.allow,
            ]
            .into_iter()
            .flatten()
            {
                let label = spec.label();
                let again = DestinationSpec::parse(&label).unwrap_or_else(|e| {
                    panic!("accepted destination {spec:?} does not re-parse: {e}")
                });
                assert_eq!(&again, spec);
            }
            for (key, json) in &config.settings {
                assert!(serde_json::from_str::<serde_json::Value>(json).is_ok());
                let _ = config.settings_for(key);
                let _ = settings_key(key);
            }
            if let Some(policies) = &config.policies {
                assert!(!policies.is_empty());
            }
            assert!(config.timeout_ms >= 1 && config.memory_mb >= 1);
            assert!(config.proxy_port >= 1 && config.telemetry_port >= 1);
        }
        Err(e) => {
            assert!(
                vars.iter().any(|(name, _)| *name == e.var),
                "error names a variable that was not set: {e}"
            );
            assert!(!e.to_string().is_empty());
        }
    }
});
