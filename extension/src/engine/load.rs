//! Loading a policy: digest check, compilation, import check, metadata and settings validation.

use std::path::{Path, PathBuf};

use gavel_policy_call::{HostState, Limits, Prepared};
use sha2::{Digest, Sha256};
use wasmtime::Store;
use wasmtime::component::{Component, Instance};

use super::{Engine, EngineError, Phase};

/// Policy bytes plus where they came from, before compilation.
#[derive(Debug, Clone)]
pub struct PolicySource {
    /// How the user named it (a policy name or a path); used in messages.
    pub label: String,
    /// The component bytes.
    pub bytes: Vec<u8>,
    /// Lower-case hex sha256 the bytes must have (a `@sha256:` pin or the manifest entry).
    pub expected_sha256: Option<String>,
    /// The same component compiled ahead of time by this very gavel build: a `.cwasm` file the
    /// catalogue vetted (listed in the layer's manifest with this build's id and its digest).
    /// Mapped instead of compiling when wasmtime accepts it; anything else compiles `bytes`.
    pub precompiled: Option<PathBuf>,
}

impl PolicySource {
    /// Read a policy file; `expected_sha256` is checked at [`Engine::load`].
    pub fn from_file(path: &Path, expected_sha256: Option<String>) -> Result<Self, EngineError> {
        let bytes = std::fs::read(path).map_err(|source| EngineError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self {
            label: path.display().to_string(),
            bytes,
            expected_sha256,
            precompiled: None,
        })
    }
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Lower-case hex sha256 of a file, streamed through one small buffer: a file that is only
/// checked, not kept, costs no allocation of its size.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// A compiled policy, ready to instantiate, with its validated settings.
pub struct LoadedPolicy {
    /// Name from the policy's own metadata.
    pub name: String,
    /// Version from the policy's own metadata.
    pub version: String,
    /// sha256 of the component bytes.
    pub sha256: String,
    /// Phases the policy asked to be called in.
    pub phases: Vec<Phase>,
    /// Settings JSON, already accepted by the policy's `validate-settings`.
    pub settings: String,
    /// Names of the component's exports (for `gavel policy inspect`).
    pub exports: Vec<String>,
    /// Whether it was loaded from a precompiled `.cwasm` rather than compiled at load.
    pub precompiled: bool,
    pub(super) pre: Prepared,
}

impl std::fmt::Debug for LoadedPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPolicy")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("sha256", &self.sha256)
            .field("phases", &self.phases)
            .field("precompiled", &self.precompiled)
            .finish()
    }
}

impl LoadedPolicy {
    /// Whether the host should call this policy in `phase`.
    pub fn wants(&self, phase: Phase) -> bool {
        self.phases.contains(&phase)
    }
}

impl Engine {
    /// Verify, compile and check a policy, then validate `settings` (JSON) with it.
    pub fn load(&self, source: PolicySource, settings: &str) -> Result<LoadedPolicy, EngineError> {
        self.load_with(source, |_| settings.to_string())
    }

    /// Like [`Engine::load`], with settings chosen by the policy's own name (from its metadata).
    pub fn load_with(
        &self,
        source: PolicySource,
        settings_for: impl FnOnce(&str) -> String,
    ) -> Result<LoadedPolicy, EngineError> {
        let sha256 = sha256_hex(&source.bytes);
        if let Some(expected) = &source.expected_sha256
            && !expected.eq_ignore_ascii_case(&sha256)
        {
            return Err(EngineError::DigestMismatch {
                policy: source.label,
                expected: expected.to_ascii_lowercase(),
                actual: sha256,
            });
        }
        let invalid = |reason: String| EngineError::Invalid {
            policy: source.label.clone(),
            sha256: sha256.clone(),
            reason,
        };
        let engine = &self.inner.wasmtime;
        let started = std::time::Instant::now();
        let mut precompiled = false;
        let component = match source.precompiled.as_deref().and_then(|cwasm| {
            // SAFETY: deserialising trusts the file to be machine code wasmtime produced. The
            // catalogue only hands over a `.cwasm` this gavel build wrote (manifest build id)
            // whose sha256 it checked; wasmtime itself refuses other versions and settings.
            // The file is mapped, not read: its pages come from the page cache instead of
            // being copied twice (about half of a cold start's loading time). It must not
            // change while mapped: the layer is read-only, and whoever can write a policy
            // directory can already replace its manifest and policies.
            unsafe { Component::deserialize_file(engine, cwasm) }
                .inspect_err(|e| {
                    tracing::warn!(policy = %source.label, error = %format!("{e:#}"), "precompiled policy not usable; compiling it");
                })
                .ok()
        }) {
            Some(component) => {
                precompiled = true;
                component
            }
            None => {
                Component::new(engine, &source.bytes).map_err(|e| invalid(format!("{e:#}")))?
            }
        };

        // The linker grants nothing, so any import would fail to link; check first to name it.
        let ty = component.component_type();
        if let Some((import, _)) = ty.imports(engine).next() {
            return Err(EngineError::ForbiddenImport {
                policy: source.label,
                sha256,
                import: import.to_string(),
            });
        }
        let exports = ty
            .exports(engine)
            .map(|(name, _)| name.to_string())
            .collect();

        let compiled_at = started.elapsed();
        let pre = gavel_policy_call::prepare(engine, &component)
            .map_err(|e| invalid(format!("{e:#}")))?;

        // Metadata and settings run under the same deadline and memory cap as evaluations.
        let (mut store, instance) = self
            .instantiate(&pre)
            .map_err(|e| invalid(format!("{e:#}")))?;
        let meta = gavel_policy_call::describe(&mut store, &instance)
            .map_err(|e| invalid(format!("describe failed: {}", self.describe_error(&e))))?;
        let settings = settings_for(&meta.name);
        let (mut store, instance) = self
            .instantiate(&pre)
            .map_err(|e| invalid(format!("{e:#}")))?;
        let verdict = gavel_policy_call::validate_settings(&mut store, &instance, &settings)
            .map_err(|e| {
                invalid(format!(
                    "validate-settings failed: {}",
                    self.describe_error(&e)
                ))
            })?;
        if let Err(reason) = verdict {
            return Err(EngineError::Settings {
                policy: meta.name,
                sha256,
                reason,
            });
        }
        // Where init time goes, for cold-start work: `GAVEL_LOG=debug`.
        tracing::debug!(
            policy = %meta.name,
            precompiled,
            compile_ms = compiled_at.as_secs_f64() * 1e3,
            check_ms = (started.elapsed() - compiled_at).as_secs_f64() * 1e3,
            "policy loaded"
        );
        Ok(LoadedPolicy {
            name: meta.name,
            version: meta.version,
            sha256,
            phases: meta.phases,
            settings,
            exports,
            precompiled,
            pre,
        })
    }

    pub(super) fn instantiate(
        &self,
        pre: &Prepared,
    ) -> wasmtime::Result<(Store<HostState>, Instance)> {
        gavel_policy_call::instantiate(
            &self.inner.wasmtime,
            pre,
            Limits {
                memory_bytes: self.inner.memory_bytes,
                deadline_ticks: self.inner.deadline_ticks,
            },
            Box::new(self.inner.ticker.busy()),
        )
    }
}
