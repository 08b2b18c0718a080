//! The policy catalogue: which policy files to load (`GAVEL_POLICIES`, the policy directory and
//! its `manifest.json`), loading them with their settings, checking their signatures when
//! `GAVEL_TRUSTED_KEYS` is set, and evaluating a phase over the set.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{Config, PolicyRef, PolicyTarget};
use crate::engine::{
    Decision, Engine, EngineBuilder, EngineError, Evaluation, InvocationInput, LoadedPolicy,
    Outcome, Phase, PolicySource, build_id, sha256_file, sha256_hex,
};
use crate::signing::{Signed, SigningError, TrustedKeys};

/// Name of the manifest in a policy directory.
pub const MANIFEST: &str = "manifest.json";

/// One manifest entry: `[{"name","version","sha256","file"}]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Policy name.
    pub name: String,
    /// Policy version.
    pub version: String,
    /// sha256 of the file.
    pub sha256: String,
    /// File name inside the directory.
    pub file: String,
    /// The policy compiled ahead of time (`gavel policy precompile`), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precompiled: Option<Precompiled>,
}

/// A `.cwasm` beside a policy: machine code for one gavel build, for a fast cold start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Precompiled {
    /// File name inside the directory.
    pub file: String,
    /// sha256 of that file.
    pub sha256: String,
    /// The [`build_id`] of the gavel that wrote it; any other build compiles the `.wasm`.
    pub build: String,
}

/// Why the catalogue could not be assembled; names the variable or file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A reference or directory problem.
    #[error("{var}: {problem}")]
    Config {
        /// The variable at fault.
        var: &'static str,
        /// The problem.
        problem: String,
    },
    /// A policy failed to load.
    #[error("GAVEL_POLICIES: {0}")]
    Engine(#[from] EngineError),
    /// `GAVEL_TRUSTED_KEYS` is set and a policy's signature is missing or does not hold.
    #[error("GAVEL_TRUSTED_KEYS: policy {policy} (sha256 {sha256}): {source}")]
    Signature {
        /// The policy as configured (name or path).
        policy: String,
        /// sha256 of the policy file.
        sha256: String,
        /// What is wrong with its signature (boxed: keeps every `Result<_, CatalogError>` small).
        source: Box<SigningError>,
    },
}

fn config_err(var: &'static str, problem: impl Into<String>) -> CatalogError {
    CatalogError::Config {
        var,
        problem: problem.into(),
    }
}

/// Read `manifest.json` of `dir`, if there is one.
pub fn read_manifest(dir: &Path) -> Result<Option<Vec<ManifestEntry>>, CatalogError> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(config_err(
                "GAVEL_POLICY_DIR",
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        config_err(
            "GAVEL_POLICY_DIR",
            format!("{}: not a valid manifest: {e}", path.display()),
        )
    })
}

/// Policy names available in `dir` (manifest entries, else `*.wasm` files), sorted.
pub fn available(dir: &Path) -> Result<Vec<String>, CatalogError> {
    if let Some(manifest) = read_manifest(dir)? {
        let mut names: Vec<String> = manifest.into_iter().map(|e| e.name).collect();
        names.sort();
        return Ok(names);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| {
        config_err(
            "GAVEL_POLICY_DIR",
            format!("cannot list {}: {e}", dir.display()),
        )
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".wasm").map(String::from)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Turn references into sources: names are looked up in `dir` (and pinned by the manifest),
/// paths are read as given. `None` selects every policy in `dir`.
pub fn resolve(refs: Option<&[PolicyRef]>, dir: &Path) -> Result<Vec<PolicySource>, CatalogError> {
    Ok(resolve_files(refs, dir)?
        .into_iter()
        .map(|(_, source)| source)
        .collect())
}

/// Like [`resolve`], keeping each source's file path (its signature lives beside it).
pub fn resolve_files(
    refs: Option<&[PolicyRef]>,
    dir: &Path,
) -> Result<Vec<(PathBuf, PolicySource)>, CatalogError> {
    let manifest = read_manifest(dir)?;
    let owned;
    let refs = match refs {
        Some(refs) => refs,
        None => {
            owned = available(dir)?
                .into_iter()
                .map(|name| PolicyRef {
                    target: PolicyTarget::Name(name),
                    pin: None,
                })
                .collect::<Vec<_>>();
            if owned.is_empty() {
                return Err(config_err(
                    "GAVEL_POLICIES",
                    format!("no policies found in {}", dir.display()),
                ));
            }
            &owned
        }
    };
    refs.iter()
        .map(|r| match &r.target {
            PolicyTarget::Path(path) => {
                Ok((path.clone(), PolicySource::from_file(path, r.pin.clone())?))
            }
            PolicyTarget::Name(name) => {
                let entry = manifest
                    .as_ref()
                    .and_then(|m| m.iter().find(|e| &e.name == name));
                let path =
                    dir.join(entry.map_or_else(|| format!("{name}.wasm"), |e| e.file.clone()));
                if !path.exists() {
                    let known = available(dir).map(|n| n.join(", ")).unwrap_or_default();
                    return Err(config_err(
                        "GAVEL_POLICIES",
                        format!("unknown policy `{name}` (in {}: {known})", dir.display()),
                    ));
                }
                let pin = r.pin.clone().or_else(|| entry.map(|e| e.sha256.clone()));
                let mut source = PolicySource::from_file(&path, pin)?;
                source.label = name.clone();
                source.precompiled = entry.and_then(|e| vetted_precompiled(dir, e, &source));
                Ok((path, source))
            }
        })
        .collect()
}

/// The entry's `.cwasm` file, if this build may load it: written by this same build, for the
/// very `.wasm` bytes being loaded, and intact. Anything else means compiling at init, which is
/// slower but always safe, so a mismatch is logged rather than refused.
fn vetted_precompiled(dir: &Path, entry: &ManifestEntry, source: &PolicySource) -> Option<PathBuf> {
    let pre = entry.precompiled.as_ref()?;
    if pre.build != build_id() {
        tracing::info!(policy = %entry.name, built_by = %pre.build, this = %build_id(), "precompiled policy is for another gavel build; compiling it");
        return None;
    }
    // The .cwasm must be of these very .wasm bytes. Loading checks the pin before it touches a
    // .cwasm, so when the pin is the manifest's own digest (the usual case) that check covers
    // it and the .wasm is not hashed twice; a different pin needs the comparison here.
    let pinned_to_entry = source
        .expected_sha256
        .as_deref()
        .is_some_and(|pin| pin.eq_ignore_ascii_case(&entry.sha256));
    if !pinned_to_entry && sha256_hex(&source.bytes) != entry.sha256 {
        // The .wasm changed since precompiling; the pin check at load reports it.
        return None;
    }
    let path = dir.join(&pre.file);
    match sha256_file(&path) {
        Ok(digest) if digest == pre.sha256 => Some(path),
        Ok(_) => {
            tracing::warn!(file = %path.display(), "precompiled policy does not match its manifest sha256; compiling the .wasm");
            None
        }
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot read precompiled policy; compiling the .wasm");
            None
        }
    }
}

/// A loaded set of policies and the engine that runs them.
pub struct PolicySet {
    /// The engine.
    pub engine: Engine,
    /// Policies in configuration order.
    pub policies: Vec<LoadedPolicy>,
    /// What a faulting policy counts as.
    pub on_error: Decision,
}

impl PolicySet {
    /// Build the engine and load every configured policy with its settings. With
    /// `GAVEL_TRUSTED_KEYS` set, every policy must carry a valid signature by one of the keys.
    pub fn from_config(config: &Config) -> Result<Self, CatalogError> {
        // Parse the keys first: a malformed key must stop init, never quietly disable the check.
        let trusted = TrustedKeys::parse(&config.trusted_keys)
            .map_err(|e| config_err("GAVEL_TRUSTED_KEYS", e.to_string()))?;
        let started = std::time::Instant::now();
        let engine = EngineBuilder::new()
            .timeout_ms(config.timeout_ms)
            .memory_mb(config.memory_mb)
            .build()
            .map_err(|e| config_err("GAVEL_POLICY_TIMEOUT_MS", e.to_string()))?;
        tracing::debug!(
            engine_ms = started.elapsed().as_secs_f64() * 1e3,
            "engine created"
        );
        let started = std::time::Instant::now();
        let files = resolve_files(config.policies.as_deref(), &config.policy_dir)?;
        tracing::debug!(
            read_ms = started.elapsed().as_secs_f64() * 1e3,
            "policy files read and digests checked"
        );
        let signed = verify_signatures(&trusted, &files)?;
        let sources = files.into_iter().map(|(_, source)| source).collect();
        let set = Self::load(
            engine,
            sources,
            |name| config.settings_for(name).to_string(),
            config.on_policy_error,
        )?;
        // The signature vouched for a name and version; the policy's own metadata, known only
        // after loading, must agree (`load` keeps configuration order, so zip lines them up).
        for (policy, signed) in set.policies.iter().zip(&signed) {
            signed
                .check_metadata(&policy.name, &policy.version)
                .map_err(|source| CatalogError::Signature {
                    policy: policy.name.clone(),
                    sha256: policy.sha256.clone(),
                    source: Box::new(source),
                })?;
        }
        Ok(set)
    }

    /// Load `sources` on `engine`; settings are looked up by each policy's own name.
    pub fn load(
        engine: Engine,
        sources: Vec<PolicySource>,
        settings_for: impl Fn(&str) -> String,
        on_error: Decision,
    ) -> Result<Self, CatalogError> {
        let mut policies = Vec::with_capacity(sources.len());
        for source in sources {
            let policy = engine.load_with(source, &settings_for)?;
            if policies
                .iter()
                .any(|p: &LoadedPolicy| p.name == policy.name)
            {
                return Err(config_err(
                    "GAVEL_POLICIES",
                    format!("policy `{}` is listed twice", policy.name),
                ));
            }
            policies.push(policy);
        }
        Ok(Self {
            engine,
            policies,
            on_error,
        })
    }

    /// Whether any policy wants `phase`.
    pub fn wants(&self, phase: Phase) -> bool {
        self.policies.iter().any(|p| p.wants(phase))
    }

    /// Evaluate every policy that wants `phase`.
    pub fn evaluate(&self, phase: Phase, input: InvocationInput) -> Vec<Outcome> {
        if !self.wants(phase) {
            return Vec::new();
        }
        let mut evaluation = Evaluation::new(input, phase);
        self.policies
            .iter()
            .filter(|p| p.wants(phase))
            .map(|p| self.engine.evaluate(p, &mut evaluation, self.on_error))
            .collect()
    }
}

/// Authenticate every policy file before it is compiled: compiling and `describe` already run
/// the component, so unsigned bytes must not get that far. Empty `trusted` checks nothing.
pub fn verify_signatures(
    trusted: &TrustedKeys,
    files: &[(PathBuf, PolicySource)],
) -> Result<Vec<Signed>, CatalogError> {
    if trusted.is_empty() {
        return Ok(Vec::new());
    }
    files
        .iter()
        .map(|(path, source)| {
            trusted
                .verify_file(path, &source.bytes)
                .map_err(|e| CatalogError::Signature {
                    policy: source.label.clone(),
                    sha256: sha256_hex(&source.bytes),
                    source: Box::new(e),
                })
        })
        .collect()
}

/// Where the CLI looks for a policy given by name: `$GAVEL_POLICY_DIR`, the layer's
/// `/opt/gavel/policies`, then `target/policies` beside the running binary (a cargo build).
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("GAVEL_POLICY_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from(crate::config::DEFAULT_POLICY_DIR));
    if let Ok(exe) = std::env::current_exe()
        && let Some(profile_dir) = exe.parent()
        && let Some(target) = profile_dir.parent()
    {
        dirs.push(target.join("policies"));
    }
    dirs.push(PathBuf::from("target/policies"));
    dirs
}

/// Find a policy for the CLI: a path to a `.wasm` file, or a name in [`search_dirs`].
pub fn find(policy: &str) -> Result<PathBuf, String> {
    let as_path = Path::new(policy);
    if policy.ends_with(".wasm") || policy.contains('/') {
        return if as_path.exists() {
            Ok(as_path.to_path_buf())
        } else {
            Err(format!("{policy}: no such file"))
        };
    }
    let dirs = search_dirs();
    dirs.iter()
        .map(|d| d.join(format!("{policy}.wasm")))
        .find(|p| p.exists())
        .ok_or_else(|| {
            let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            format!(
                "policy `{policy}` not found (looked in {}; build with `make policies`)",
                looked.join(", ")
            )
        })
}
