//! Configuration: the function's `GAVEL_*` environment, parsed strictly into [`Config`].
//! Every error names the variable and the problem; they end init through `init/error`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::destinations::{DestinationError, DestinationSpec};
use crate::engine::{DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, Decision};

/// Where shipped policies live inside the layer.
pub const DEFAULT_POLICY_DIR: &str = "/opt/gavel/policies";
/// Port the Runtime API proxy listens on (the wrapper points the runtime there).
pub const DEFAULT_PROXY_PORT: u16 = 9009;
/// Port of the Telemetry API listener.
pub const DEFAULT_TELEMETRY_PORT: u16 = 9010;

/// `GAVEL_MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Never change what the function sees or returns.
    Monitor,
    /// A `deny` blocks the event or replaces the result.
    Enforce,
}

impl Mode {
    /// The name used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Monitor => "monitor",
            Mode::Enforce => "enforce",
        }
    }
}

/// `GAVEL_PAYLOADS`: how much of event and result goes into a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadMode {
    /// The whole payload.
    Full,
    /// The first 64 KiB, plus the sha256 of all of it.
    Truncated,
    /// Only the sha256.
    Digest,
}

/// One entry of `GAVEL_POLICIES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef {
    /// A policy name (looked up in the policy directory) or an absolute path.
    pub target: PolicyTarget,
    /// `@sha256:<hex>` pin.
    pub pin: Option<String>,
}

/// What a [`PolicyRef`] points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyTarget {
    /// A shipped policy name.
    Name(String),
    /// An absolute path to a `.wasm` file.
    Path(PathBuf),
}

/// Destinations per decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    /// `GAVEL_DESTINATION_ON_DENY`.
    pub deny: Vec<DestinationSpec>,
    /// `GAVEL_DESTINATION_ON_ALERT`.
    pub alert: Vec<DestinationSpec>,
    /// `GAVEL_DESTINATION_ON_ALLOW`.
    pub allow: Vec<DestinationSpec>,
}

impl Routes {
    /// The destinations for `decision`.
    pub fn for_decision(&self, decision: Decision) -> &[DestinationSpec] {
        match decision {
            Decision::Deny => &self.deny,
            Decision::Alert => &self.alert,
            Decision::Allow => &self.allow,
        }
    }
}

/// The whole configuration; `Default` mirrors the contract's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `GAVEL_POLICIES`; `None` = every shipped policy.
    pub policies: Option<Vec<PolicyRef>>,
    /// `GAVEL_SETTINGS_<NAME>` by variable suffix (upper-case, `_` for `-`), JSON text.
    pub settings: BTreeMap<String, String>,
    /// `GAVEL_MODE`.
    pub mode: Mode,
    /// `GAVEL_ON_POLICY_ERROR`.
    pub on_policy_error: Decision,
    /// `GAVEL_DESTINATION_ON_*`.
    pub routes: Routes,
    /// `GAVEL_PAYLOADS`.
    pub payloads: PayloadMode,
    /// `GAVEL_POLICY_TIMEOUT_MS`.
    pub timeout_ms: u64,
    /// `GAVEL_POLICY_MEMORY_MB`.
    pub memory_mb: u64,
    /// `GAVEL_TRUSTED_KEYS` (base64 ed25519 public keys).
    pub trusted_keys: Vec<String>,
    /// `GAVEL_LOG`.
    pub log: String,
    /// `GAVEL_POLICY_DIR` (default `/opt/gavel/policies`).
    pub policy_dir: PathBuf,
    /// `GAVEL_PROXY_PORT`: where the runtime reaches gavel's Runtime API proxy.
    pub proxy_port: u16,
    /// `GAVEL_TELEMETRY_PORT`: where the Telemetry API delivers to gavel.
    pub telemetry_port: u16,
    /// `GAVEL_RUNTIME_API_UPSTREAM`, else `AWS_LAMBDA_RUNTIME_API`: the Runtime API to forward to.
    pub upstream: Option<String>,
    /// `GAVEL_DELIVERY_BUDGET_MS`: time for delivering records after each invocation.
    pub delivery_budget_ms: u64,
    /// `GAVEL_SPOOL_DIR`: where undelivered records wait (default `/tmp/gavel-spool`).
    pub spool_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            policies: None,
            settings: BTreeMap::new(),
            mode: Mode::Monitor,
            on_policy_error: Decision::Alert,
            routes: Routes {
                deny: vec![DestinationSpec::Stdout],
                alert: vec![DestinationSpec::Stdout],
                allow: vec![],
            },
            payloads: PayloadMode::Truncated,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            memory_mb: DEFAULT_MEMORY_MB,
            trusted_keys: vec![],
            log: "info".into(),
            policy_dir: PathBuf::from(DEFAULT_POLICY_DIR),
            proxy_port: DEFAULT_PROXY_PORT,
            telemetry_port: DEFAULT_TELEMETRY_PORT,
            upstream: None,
            delivery_budget_ms: 1000,
            spool_dir: PathBuf::from(crate::destinations::spool::DEFAULT_DIR),
        }
    }
}

/// A configuration error, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: String,
    /// What is wrong with it.
    pub problem: String,
}

fn err(var: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        var: var.to_string(),
        problem: problem.into(),
    }
}

/// Settings variable suffix for a policy name: upper-case, `-` → `_`.
pub fn settings_key(policy_name: &str) -> String {
    policy_name.to_ascii_uppercase().replace('-', "_")
}

impl Config {
    /// Parse from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Parse from a variable map (tests pass their own).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: BTreeMap<String, String> = vars.into_iter().collect();
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut config = Config::default();

        if let Some(v) = get("GAVEL_POLICIES") {
            config.policies = Some(parse_policies(v)?);
        }
        for (name, value) in vars.range("GAVEL_SETTINGS_".to_string()..) {
            let Some(suffix) = name.strip_prefix("GAVEL_SETTINGS_") else {
                break;
            };
            if let Err(e) = serde_json::from_str::<serde_json::Value>(value) {
                return Err(err(name, format!("not valid JSON: {e}")));
            }
            config.settings.insert(suffix.to_string(), value.clone());
        }
        if let Some(v) = get("GAVEL_MODE") {
            config.mode = match v {
                "monitor" => Mode::Monitor,
                "enforce" => Mode::Enforce,
                other => {
                    return Err(err(
                        "GAVEL_MODE",
                        format!("`{other}` is not `monitor` or `enforce`"),
                    ));
                }
            };
        }
        if let Some(v) = get("GAVEL_ON_POLICY_ERROR") {
            config.on_policy_error = parse_decision(v).ok_or_else(|| {
                err(
                    "GAVEL_ON_POLICY_ERROR",
                    format!("`{v}` is not `allow`, `alert` or `deny`"),
                )
            })?;
        }
        for (var, slot) in [
            ("GAVEL_DESTINATION_ON_DENY", &mut config.routes.deny),
            ("GAVEL_DESTINATION_ON_ALERT", &mut config.routes.alert),
            ("GAVEL_DESTINATION_ON_ALLOW", &mut config.routes.allow),
        ] {
            if let Some(raw) = vars.get(var) {
                *slot = parse_destinations(raw).map_err(|e| err(var, e.to_string()))?;
            }
        }
        if let Some(v) = get("GAVEL_PAYLOADS") {
            config.payloads = match v {
                "full" => PayloadMode::Full,
                "truncated" => PayloadMode::Truncated,
                "digest" => PayloadMode::Digest,
                other => {
                    return Err(err(
                        "GAVEL_PAYLOADS",
                        format!("`{other}` is not `full`, `truncated` or `digest`"),
                    ));
                }
            };
        }
        if let Some(v) = get("GAVEL_POLICY_TIMEOUT_MS") {
            config.timeout_ms = parse_number("GAVEL_POLICY_TIMEOUT_MS", v, 1, 60_000)?;
        }
        if let Some(v) = get("GAVEL_POLICY_MEMORY_MB") {
            config.memory_mb = parse_number("GAVEL_POLICY_MEMORY_MB", v, 1, 4096)?;
        }
        if let Some(v) = get("GAVEL_DELIVERY_BUDGET_MS") {
            config.delivery_budget_ms = parse_number("GAVEL_DELIVERY_BUDGET_MS", v, 0, 60_000)?;
        }
        if let Some(v) = get("GAVEL_SPOOL_DIR") {
            if !v.starts_with('/') {
                return Err(err(
                    "GAVEL_SPOOL_DIR",
                    format!("must be an absolute path, got `{v}`"),
                ));
            }
            config.spool_dir = PathBuf::from(v);
        }
        if let Some(v) = get("GAVEL_TRUSTED_KEYS") {
            config.trusted_keys = v
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(String::from)
                .collect();
            // Set but empty (" , ") must not quietly turn signature enforcement off.
            if config.trusted_keys.is_empty() {
                return Err(err(
                    "GAVEL_TRUSTED_KEYS",
                    "set but lists no key (unset it to load unsigned policies)",
                ));
            }
        }
        if let Some(v) = get("GAVEL_LOG") {
            config.log = v.to_string();
        }
        if let Some(v) = get("GAVEL_POLICY_DIR") {
            config.policy_dir = PathBuf::from(v);
        }
        if let Some(v) = get("GAVEL_PROXY_PORT") {
            config.proxy_port = parse_number("GAVEL_PROXY_PORT", v, 1, 65535)? as u16;
        }
        if let Some(v) = get("GAVEL_TELEMETRY_PORT") {
            config.telemetry_port = parse_number("GAVEL_TELEMETRY_PORT", v, 1, 65535)? as u16;
        }
        // The error names the variable the value came from: a bad GAVEL_RUNTIME_API_UPSTREAM
        // used to be reported as AWS_LAMBDA_RUNTIME_API (fuzz target `config`).
        let upstream = ["GAVEL_RUNTIME_API_UPSTREAM", "AWS_LAMBDA_RUNTIME_API"]
            .into_iter()
            .find_map(|var| get(var).map(|v| (var, v)));
        if let Some((var, up)) = upstream
            && up.parse::<SocketAddr>().is_err()
            && !up.contains(':')
        {
            return Err(err(var, format!("`{up}` is not a host:port")));
        }
        config.upstream = upstream.map(|(_, up)| up.to_string());
        Ok(config)
    }

    /// The settings JSON for a policy (`{}` when none were given).
    pub fn settings_for(&self, policy_name: &str) -> &str {
        self.settings
            .get(&settings_key(policy_name))
            .map(String::as_str)
            .unwrap_or("{}")
    }
}

/// `allow`/`alert`/`deny`.
pub fn parse_decision(v: &str) -> Option<Decision> {
    match v {
        "allow" => Some(Decision::Allow),
        "alert" => Some(Decision::Alert),
        "deny" => Some(Decision::Deny),
        _ => None,
    }
}

fn parse_number(var: &str, v: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    let n: u64 = v
        .parse()
        .map_err(|_| err(var, format!("`{v}` is not a whole number")))?;
    if !(min..=max).contains(&n) {
        return Err(err(var, format!("{n} is outside {min}..={max}")));
    }
    Ok(n)
}

/// Parse a `GAVEL_POLICIES` list: `name`, `/abs/path.wasm`, each optionally `@sha256:<hex>`.
pub fn parse_policies(v: &str) -> Result<Vec<PolicyRef>, ConfigError> {
    let var = "GAVEL_POLICIES";
    let mut out = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (target, pin) = match item.rsplit_once("@sha256:") {
            Some((t, hex)) => {
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err(var, format!("`{item}`: a sha256 pin is 64 hex digits")));
                }
                (t, Some(hex.to_ascii_lowercase()))
            }
            None if item.contains('@') => {
                return Err(err(
                    var,
                    format!("`{item}`: pins are written `<policy>@sha256:<64 hex>`"),
                ));
            }
            None => (item, None),
        };
        let target = if target.starts_with('/') {
            PolicyTarget::Path(PathBuf::from(target))
        } else if target.contains('/') || target.is_empty() {
            return Err(err(
                var,
                format!("`{target}`: use a policy name or an absolute path"),
            ));
        } else {
            PolicyTarget::Name(target.to_string())
        };
        out.push(PolicyRef { target, pin });
    }
    if out.is_empty() {
        return Err(err(
            var,
            "empty list (unset it to load every shipped policy)",
        ));
    }
    Ok(out)
}

fn parse_destinations(v: &str) -> Result<Vec<DestinationSpec>, DestinationError> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(DestinationSpec::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn defaults_mirror_the_contract() {
        let c = parse(&[]).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.mode, Mode::Monitor);
        assert_eq!(c.on_policy_error, Decision::Alert);
        assert_eq!(c.routes.deny, vec![DestinationSpec::Stdout]);
        assert!(c.routes.allow.is_empty());
        assert_eq!(
            (c.timeout_ms, c.memory_mb, c.payloads),
            (50, 64, PayloadMode::Truncated)
        );
    }

    #[test]
    fn policies_with_pins_and_paths() {
        let pin = "A".repeat(64);
        let c = parse(&[(
            "GAVEL_POLICIES",
            &format!("malicious-content, /opt/x/p.wasm@sha256:{pin}"),
        )])
        .unwrap();
        let p = c.policies.unwrap();
        assert_eq!(
            p[0],
            PolicyRef {
                target: PolicyTarget::Name("malicious-content".into()),
                pin: None
            }
        );
        assert_eq!(p[1].target, PolicyTarget::Path("/opt/x/p.wasm".into()));
        assert_eq!(p[1].pin.as_deref(), Some("a".repeat(64).as_str()));
        for bad in ["x@sha256:abc", "x@v1", "rel/path.wasm", ","] {
            let e = parse(&[("GAVEL_POLICIES", bad)]).unwrap_err();
            assert_eq!(e.var, "GAVEL_POLICIES", "{bad}");
        }
    }

    #[test]
    fn settings_must_be_json_and_are_keyed_by_upper_name() {
        let c = parse(&[("GAVEL_SETTINGS_MALICIOUS_CONTENT", r#"{"a":1}"#)]).unwrap();
        assert_eq!(c.settings_for("malicious-content"), r#"{"a":1}"#);
        assert_eq!(c.settings_for("other"), "{}");
        let e = parse(&[("GAVEL_SETTINGS_SECRETS_LEAK", "{nope")]).unwrap_err();
        assert_eq!(e.var, "GAVEL_SETTINGS_SECRETS_LEAK");
        assert!(e.to_string().contains("not valid JSON"), "{e}");
    }

    #[test]
    fn mode_error_decision_and_payloads() {
        let c = parse(&[
            ("GAVEL_MODE", "enforce"),
            ("GAVEL_ON_POLICY_ERROR", "deny"),
            ("GAVEL_PAYLOADS", "digest"),
        ])
        .unwrap();
        assert_eq!(
            (c.mode, c.on_policy_error, c.payloads),
            (Mode::Enforce, Decision::Deny, PayloadMode::Digest)
        );
        for (var, bad) in [
            ("GAVEL_MODE", "block"),
            ("GAVEL_ON_POLICY_ERROR", "maybe"),
            ("GAVEL_PAYLOADS", "some"),
        ] {
            let e = parse(&[(var, bad)]).unwrap_err();
            assert_eq!(e.var, var);
            assert!(e.problem.contains(bad));
        }
    }

    #[test]
    fn destinations_per_decision() {
        let c = parse(&[
            ("GAVEL_DESTINATION_ON_ALLOW", "file:/tmp/a.jsonl, stdout"),
            (
                "GAVEL_DESTINATION_ON_DENY",
                "arn:aws:sqs:us-east-1:123456789012:q",
            ),
            ("GAVEL_DESTINATION_ON_ALERT", ""),
        ])
        .unwrap();
        assert_eq!(c.routes.allow.len(), 2);
        assert_eq!(c.routes.deny.len(), 1);
        assert!(
            c.routes.alert.is_empty(),
            "an empty value turns a route off"
        );
        let e = parse(&[("GAVEL_DESTINATION_ON_DENY", "mailto:me")]).unwrap_err();
        assert_eq!(e.var, "GAVEL_DESTINATION_ON_DENY");
    }

    #[test]
    fn numbers_are_bounded() {
        let c = parse(&[
            ("GAVEL_POLICY_TIMEOUT_MS", "20"),
            ("GAVEL_POLICY_MEMORY_MB", "16"),
        ])
        .unwrap();
        assert_eq!((c.timeout_ms, c.memory_mb), (20, 16));
        for (var, bad) in [
            ("GAVEL_POLICY_TIMEOUT_MS", "0"),
            ("GAVEL_POLICY_MEMORY_MB", "lots"),
            ("GAVEL_PROXY_PORT", "70000"),
        ] {
            assert_eq!(parse(&[(var, bad)]).unwrap_err().var, var);
        }
    }

    #[test]
    fn upstream_prefers_the_explicit_variable() {
        let c = parse(&[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("GAVEL_RUNTIME_API_UPSTREAM", "127.0.0.1:9100"),
        ])
        .unwrap();
        assert_eq!(c.upstream.as_deref(), Some("127.0.0.1:9100"));
    }

    #[test]
    fn upstream_error_names_the_variable_it_came_from() {
        // Regression (fuzz target `config`): the error always said AWS_LAMBDA_RUNTIME_API.
        let e = parse(&[
            ("GAVEL_RUNTIME_API_UPSTREAM", "=[opt"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ])
        .unwrap_err();
        assert_eq!(e.var, "GAVEL_RUNTIME_API_UPSTREAM");
        let e = parse(&[("AWS_LAMBDA_RUNTIME_API", "nohostport")]).unwrap_err();
        assert_eq!(e.var, "AWS_LAMBDA_RUNTIME_API");
    }

    #[test]
    fn trusted_keys_and_log() {
        assert_eq!(
            parse(&[("GAVEL_TRUSTED_KEYS", " , ")]).unwrap_err().var,
            "GAVEL_TRUSTED_KEYS"
        );
        let c = parse(&[("GAVEL_TRUSTED_KEYS", "a, b"), ("GAVEL_LOG", "debug")]).unwrap();
        assert_eq!(c.trusted_keys, vec!["a", "b"]);
        assert_eq!(c.log, "debug");
    }
}
