//! `gavel policy …`: test, bench, inspect, sign and verify one policy; generate signing keys.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::json;

use crate::catalog::{ManifestEntry, find};
use crate::config::Mode;
use crate::engine::{
    Decision, Engine, EngineBuilder, Evaluation, InvocationInput, LoadedPolicy, Phase, PolicySource,
};
use crate::signing::{self, SigningError, TrustedKeys};
use crate::verdict::{Verdict, phase_str};

/// `gavel policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Evaluate a policy on an event (and a result) and print the verdict as JSON.
    ///
    /// Example: gavel policy test malicious-content --event eicar.json
    Test {
        /// A built policy's name (e.g. `malicious-content`) or a path to a `.wasm` file.
        policy: String,
        /// The event file (the JSON a function receives).
        #[arg(long)]
        event: PathBuf,
        /// The function's result, for response-phase policies.
        #[arg(long)]
        response: Option<PathBuf>,
        /// Settings JSON for the policy.
        #[arg(long, default_value = "{}")]
        settings: String,
        /// Deadline per evaluation, in ms.
        #[arg(long, default_value_t = 1000)]
        timeout_ms: u64,
    },
    /// Measure evaluations per second and latency percentiles on an event.
    Bench {
        /// A built policy's name or a path to a `.wasm` file.
        policy: String,
        /// The event file.
        #[arg(long)]
        event: PathBuf,
        /// The function's result, for response-phase policies.
        #[arg(long)]
        response: Option<PathBuf>,
        /// Settings JSON.
        #[arg(long, default_value = "{}")]
        settings: String,
        /// How long to measure, in seconds.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Print the figures as one JSON object.
        #[arg(long)]
        json: bool,
        /// Evict the CPU caches before each evaluation (by writing a 64 MiB buffer, outside the
        /// timed part), as in a function, where the policy runs once per invocation after the
        /// handler and its runtime have filled the caches with their own code and data.
        /// Back-to-back evaluations (the default) keep the policy's code and tables cached, so
        /// they report its best case.
        #[arg(long)]
        cold: bool,
        /// Profile the policy: write /tmp/perf-<pid>.map so that `perf record -g gavel policy
        /// bench --perf-map ...` then `perf report` names the policy's functions (build it
        /// with `CARGO_PROFILE_POLICY_STRIP=false` to keep their names).
        #[arg(long)]
        perf_map: bool,
    },
    /// Print the `manifest.json` for every `.wasm` policy in a directory.
    Manifest {
        /// The directory (e.g. `target/policies`).
        dir: PathBuf,
    },
    /// Compile every policy of a directory ahead of time, for a fast cold start.
    ///
    /// Writes `<name>.cwasm` beside each `.wasm` listed in the directory's manifest.json and
    /// records it there. Run it with the very gavel binary that will load the policies (on the
    /// target architecture, e.g. under qemu for arm64): a `.cwasm` is only loaded by the build
    /// that wrote it; any other build, or a changed `.wasm`, compiles the `.wasm` at init.
    ///
    /// Example: gavel policy precompile /opt/gavel/policies
    Precompile {
        /// The directory holding the policies and their manifest.json.
        dir: PathBuf,
    },
    /// Show a policy's name, version, sha256, phases, exports and imports.
    Inspect {
        /// A built policy's name or a path to a `.wasm` file.
        policy: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Generate an ed25519 key pair for signing policies.
    ///
    /// Writes the private key to P (base64 of the 32-byte secret, mode 0600) and the public key
    /// to P.pub, and prints the public key on stdout. Keep P secret (a secrets manager or an
    /// offline machine); give the public key to functions as GAVEL_TRUSTED_KEYS.
    ///
    /// Example:
    ///   KEY=$(gavel policy keygen --out ~/.gavel/acme-policies)
    ///   # on the function: GAVEL_TRUSTED_KEYS=$KEY
    #[command(verbatim_doc_comment)]
    Keygen {
        /// Private key file to write; the public key goes to `<P>.pub`.
        #[arg(long, value_name = "P")]
        out: PathBuf,
        /// Replace an existing key (signatures made with the old key will no longer verify
        /// under the new one).
        #[arg(long)]
        force: bool,
    },
    /// Sign a policy: writes `<policy>.sig` beside its `.wasm`.
    ///
    /// The signature covers the policy's bytes (sha256) and its own name and version, as
    /// reported by the policy; a change to any of them invalidates it. The .sig is JSON
    /// ({"name","version","sha256","keyId","signature"}) so a reviewer can read what was signed.
    /// Ship it next to the .wasm: gavel/policies/<name>.wasm + gavel/policies/<name>.sig.
    ///
    /// Example:
    ///   gavel policy sign --key ~/.gavel/acme-policies target/policies/pii-guard.wasm
    #[command(verbatim_doc_comment)]
    Sign {
        /// Private key file written by `gavel policy keygen`.
        #[arg(long, value_name = "P")]
        key: PathBuf,
        /// A built policy's name or a path to a `.wasm` file.
        policy: String,
    },
    /// Check a policy's signature exactly as the extension does under GAVEL_TRUSTED_KEYS.
    ///
    /// Exits 0 if `<policy>.sig` exists, matches the policy's bytes, name and version, and
    /// verifies under one of the given keys; otherwise prints why (missing .sig, sha256
    /// mismatch, untrusted key, bad signature) and exits 1.
    ///
    /// Examples:
    ///   gavel policy verify --pubkey ~/.gavel/acme-policies.pub pii-guard
    ///   gavel policy verify --pubkey "$KEY" /opt/gavel/policies/pii-guard.wasm
    ///   GAVEL_TRUSTED_KEYS=k1,k2 gavel policy verify pii-guard
    #[command(verbatim_doc_comment)]
    Verify {
        /// Trusted public key: a `.pub` file or the base64 key. Repeat (or comma-separate) to
        /// trust several; defaults to GAVEL_TRUSTED_KEYS.
        #[arg(
            long = "pubkey",
            value_name = "K",
            env = "GAVEL_TRUSTED_KEYS",
            value_delimiter = ',',
            required = true
        )]
        pubkeys: Vec<String>,
        /// A built policy's name or a path to a `.wasm` file.
        policy: String,
    },
}

/// Run a `gavel policy` subcommand.
pub fn run(cmd: PolicyCommand) -> Result<i32> {
    match cmd {
        PolicyCommand::Test {
            policy,
            event,
            response,
            settings,
            timeout_ms,
        } => {
            let (loaded, engine) = load(&policy, &settings, timeout_ms)?;
            let input = read_input(&event, response.as_ref())?;
            let outcomes = phases(&loaded, response.is_some())
                .into_iter()
                .map(|phase| {
                    engine.evaluate(
                        &loaded,
                        &mut Evaluation::new(input.clone(), phase),
                        Decision::Alert,
                    )
                })
                .collect();
            let verdict = Verdict::new(Mode::Monitor, outcomes, false);
            println!("{}", serde_json::to_string_pretty(&verdict.to_json())?);
            Ok(0)
        }
        PolicyCommand::Bench {
            policy,
            event,
            response,
            settings,
            seconds,
            json,
            cold,
            perf_map,
        } => {
            // A generous deadline: the bench measures the policy, not the sandbox's limit.
            let engine = EngineBuilder::new()
                .timeout_ms(10_000)
                .perf_map(perf_map)
                .build()?;
            let (loaded, engine) = load_on(engine, &policy, &settings)?;
            let input = read_input(&event, response.as_ref())?;
            let phase = phases(&loaded, response.is_some())
                .last()
                .copied()
                .unwrap_or(Phase::Request);
            let options = BenchOptions {
                seconds,
                json,
                cold,
            };
            bench(&loaded, &engine, input, phase, &options)
        }
        PolicyCommand::Manifest { dir } => {
            let engine = EngineBuilder::new().build()?;
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("cannot list {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                .collect();
            files.sort();
            let mut entries = Vec::new();
            for path in files {
                let loaded = engine.load(PolicySource::from_file(&path, None)?, "{}")?;
                let file = path
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                entries.push(ManifestEntry {
                    name: loaded.name,
                    version: loaded.version,
                    sha256: loaded.sha256,
                    file,
                    precompiled: None,
                });
            }
            println!("{}", serde_json::to_string_pretty(&entries)?);
            Ok(0)
        }
        PolicyCommand::Precompile { dir } => precompile(&dir),
        PolicyCommand::Inspect { policy, json } => {
            let (loaded, _) = load(&policy, "{}", 1000)?;
            let phases: Vec<&str> = loaded.phases.iter().map(|p| phase_str(*p)).collect();
            let info = json!({
                "name": loaded.name, "version": loaded.version, "sha256": loaded.sha256,
                "phases": phases, "exports": loaded.exports, "imports": Vec::<String>::new(),
            });
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                println!(
                    "name:    {}\nversion: {}\nsha256:  {}",
                    loaded.name, loaded.version, loaded.sha256
                );
                println!(
                    "phases:  {}\nexports: {}",
                    phases.join(", "),
                    loaded.exports.join(", ")
                );
                println!("imports: none (gavel grants no imports)");
            }
            Ok(0)
        }
        PolicyCommand::Keygen { out, force } => {
            let key = signing::generate();
            let pub_path = signing::write_keypair(&out, &key, force)?;
            let public = signing::encode_public_key(&key.verifying_key());
            eprintln!(
                "wrote private key {} (mode 0600, keep it secret) and public key {} (key id {})",
                out.display(),
                pub_path.display(),
                signing::key_id(&key.verifying_key())
            );
            eprintln!("trust it on a function with GAVEL_TRUSTED_KEYS={public}");
            // Only the key on stdout, so `KEY=$(gavel policy keygen --out P)` works.
            println!("{public}");
            Ok(0)
        }
        PolicyCommand::Sign { key, policy } => {
            let key_path = key;
            let key = signing::read_signing_key(&key_path)?;
            warn_if_readable(&key_path);
            let path = find(&policy).map_err(anyhow::Error::msg)?;
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            // Sign the metadata the policy itself reports, the same values the verifier sees,
            // read from the very bytes that get signed (not a second read of the file).
            let engine = EngineBuilder::new().build()?;
            let loaded = engine.load(
                PolicySource {
                    label: path.display().to_string(),
                    bytes: bytes.clone(),
                    expected_sha256: None,
                    precompiled: None,
                },
                "{}",
            )?;
            let sig = signing::sign(&key, &loaded.name, &loaded.version, &bytes)?;
            let sig_path = signing::signature_path(&path);
            sig.write(&sig_path)?;
            println!(
                "signed {} {} (sha256 {}) with key {}\nwrote {}",
                sig.name,
                sig.version,
                sig.sha256,
                sig.key_id,
                sig_path.display()
            );
            Ok(0)
        }
        PolicyCommand::Verify { pubkeys, policy } => {
            let keys = pubkeys
                .iter()
                .filter(|k| !k.trim().is_empty())
                .map(|k| signing::public_key_arg(k.trim()))
                .collect::<Result<Vec<_>, _>>()
                .context("--pubkey")?;
            if keys.is_empty() {
                anyhow::bail!("--pubkey: no public key given");
            }
            let trusted = TrustedKeys::new(keys);
            let path = find(&policy).map_err(anyhow::Error::msg)?;
            match verify(&trusted, &path) {
                Ok(signed) => {
                    println!(
                        "ok: {} {} ({}) is signed by trusted key {}",
                        signed.name,
                        signed.version,
                        path.display(),
                        signed.key_id
                    );
                    Ok(0)
                }
                Err(VerifyError::Signature(e)) => {
                    eprintln!("gavel: {}: signature refused: {e}", path.display());
                    Ok(1)
                }
                Err(VerifyError::Other(e)) => Err(e),
            }
        }
    }
}

enum VerifyError {
    /// The signature does not hold: exit 1.
    Signature(SigningError),
    /// Could not even check (unreadable, not a policy): exit 2.
    Other(anyhow::Error),
}

/// The extension's check: authenticate the bytes first, load, then compare the metadata.
fn verify(trusted: &TrustedKeys, path: &std::path::Path) -> Result<signing::Signed, VerifyError> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read {}", path.display()))
        .map_err(VerifyError::Other)?;
    let signed = trusted
        .verify_file(path, &bytes)
        .map_err(VerifyError::Signature)?;
    let engine = EngineBuilder::new()
        .build()
        .map_err(|e| VerifyError::Other(e.into()))?;
    let loaded = engine
        .load(
            PolicySource {
                label: path.display().to_string(),
                bytes,
                expected_sha256: None,
                precompiled: None,
            },
            "{}",
        )
        .map_err(|e| VerifyError::Other(e.into()))?;
    signed
        .check_metadata(&loaded.name, &loaded.version)
        .map_err(VerifyError::Signature)?;
    Ok(signed)
}

/// A private key others can read is as good as published; say so, but still sign (the user
/// may be on a single-user machine or a CI runner with its own isolation).
fn warn_if_readable(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            eprintln!(
                "gavel: warning: private key {} is readable by other users (chmod 600 it)",
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn load(policy: &str, settings: &str, timeout_ms: u64) -> Result<(LoadedPolicy, Engine)> {
    load_on(
        EngineBuilder::new().timeout_ms(timeout_ms).build()?,
        policy,
        settings,
    )
}

fn load_on(engine: Engine, policy: &str, settings: &str) -> Result<(LoadedPolicy, Engine)> {
    let path = find(policy).map_err(anyhow::Error::msg)?;
    let loaded = engine.load(PolicySource::from_file(&path, None)?, settings)?;
    Ok((loaded, engine))
}

fn read_input(event: &PathBuf, response: Option<&PathBuf>) -> Result<InvocationInput> {
    let event =
        std::fs::read(event).with_context(|| format!("cannot read --event {}", event.display()))?;
    let result = response
        .map(|r| {
            std::fs::read(r).with_context(|| format!("cannot read --response {}", r.display()))
        })
        .transpose()?;
    Ok(InvocationInput {
        request_id: "00000000-0000-4000-8000-000000000000".into(),
        function_name: "gavel-cli".into(),
        function_arn: "arn:aws:lambda:us-east-1:000000000000:function:gavel-cli".into(),
        event,
        result,
        ..Default::default()
    })
}

/// The phases to run: request always (when wanted), response when a result was given.
fn phases(policy: &LoadedPolicy, have_result: bool) -> Vec<Phase> {
    let mut out = Vec::new();
    if policy.wants(Phase::Request) {
        out.push(Phase::Request);
    }
    if policy.wants(Phase::Response) && (have_result || !policy.wants(Phase::Request)) {
        out.push(Phase::Response);
    }
    out
}

/// How `gavel policy bench` measures.
struct BenchOptions {
    seconds: f64,
    json: bool,
    cold: bool,
}

/// Bytes written between cold evaluations: more than this machine class's last-level cache.
const EVICT_BYTES: usize = 64 << 20;

/// Write one byte per cache line of `buffer`, so that what was cached before is evicted.
fn evict_caches(buffer: &mut [u8], round: u8) {
    for line in buffer.chunks_mut(64) {
        line[0] = round;
    }
    std::hint::black_box(&buffer);
}

fn bench(
    policy: &LoadedPolicy,
    engine: &Engine,
    input: InvocationInput,
    phase: Phase,
    options: &BenchOptions,
) -> Result<i32> {
    let bytes = input.event.len() + input.result.as_ref().map_or(0, Vec::len);
    let mut evaluation = Evaluation::new(input, phase);
    // Warm up: first instantiation faults in the pool slot and code pages.
    for _ in 0..3 {
        engine.evaluate(policy, &mut evaluation, Decision::Alert);
    }
    let mut evict = if options.cold {
        vec![0u8; EVICT_BYTES]
    } else {
        Vec::new()
    };
    let mut samples = Vec::new();
    let mut busy = std::time::Duration::ZERO;
    let started = Instant::now();
    let mut errors = 0usize;
    while started.elapsed().as_secs_f64() < options.seconds || samples.len() < 10 {
        if options.cold {
            evict_caches(&mut evict, samples.len() as u8);
        }
        let t = Instant::now();
        let outcome = engine.evaluate(policy, &mut evaluation, Decision::Alert);
        let took = t.elapsed();
        busy += took;
        samples.push(took.as_nanos() as u64);
        errors += usize::from(outcome.error.is_some());
    }
    // Throughput counts evaluation time only, so a cold run's evictions do not count against it.
    let total = busy.as_secs_f64();
    samples.sort_unstable();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
    let evals_per_s = samples.len() as f64 / total;
    let mb_per_s = evals_per_s * bytes as f64 / 1e6;
    if options.json {
        println!(
            "{}",
            json!({"policy": policy.name, "phase": phase_str(phase), "bytes": bytes, "evaluations": samples.len(),
                   "evalsPerSec": evals_per_s, "mbPerSec": mb_per_s, "p50Us": pct(0.5), "p99Us": pct(0.99), "errors": errors,
                   "cold": options.cold})
        );
    } else {
        println!(
            "policy {} ({} phase), {} byte input{}",
            policy.name,
            phase_str(phase),
            bytes,
            if options.cold {
                ", caches evicted before each evaluation"
            } else {
                ""
            }
        );
        println!(
            "  {} evaluations, {:.2} s evaluating: {:.0} evaluations/s, {:.1} MB/s",
            samples.len(),
            total,
            evals_per_s,
            mb_per_s
        );
        println!(
            "  latency p50 {:.1} µs, p99 {:.1} µs{}",
            pct(0.5),
            pct(0.99),
            if errors > 0 {
                format!(", {errors} evaluations failed")
            } else {
                String::new()
            }
        );
    }
    Ok(0)
}

/// `gavel policy precompile DIR`: a `.cwasm` per manifest entry, recorded in the manifest.
fn precompile(dir: &std::path::Path) -> Result<i32> {
    let Some(mut entries) = crate::catalog::read_manifest(dir)? else {
        anyhow::bail!(
            "{}: no {} (write one with `gavel policy manifest`)",
            dir.display(),
            crate::catalog::MANIFEST
        );
    };
    // Default knobs: the runtime's engine must have the same settings for wasmtime to accept
    // the code; with other GAVEL_POLICY_* values gavel falls back to compiling at init.
    let engine = EngineBuilder::new().portable(true).build()?;
    let build = crate::engine::build_id();
    for entry in &mut entries {
        let wasm = dir.join(&entry.file);
        let bytes =
            std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
        let actual = crate::engine::sha256_hex(&bytes);
        anyhow::ensure!(
            actual == entry.sha256,
            "{}: sha256 {actual} does not match the manifest's {}",
            wasm.display(),
            entry.sha256
        );
        let started = Instant::now();
        let code = engine.precompile(&bytes)?;
        let file = format!("{}.cwasm", entry.file.trim_end_matches(".wasm"));
        std::fs::write(dir.join(&file), &code)
            .with_context(|| format!("cannot write {}", dir.join(&file).display()))?;
        eprintln!(
            "{}: {file} ({} KiB, {:.0?})",
            entry.name,
            code.len() / 1024,
            started.elapsed()
        );
        entry.precompiled = Some(crate::catalog::Precompiled {
            file,
            sha256: crate::engine::sha256_hex(&code),
            build: build.clone(),
        });
    }
    let manifest = dir.join(crate::catalog::MANIFEST);
    let tmp = manifest.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&entries)? + "\n")
        .and_then(|()| std::fs::rename(&tmp, &manifest))
        .with_context(|| format!("cannot write {}", manifest.display()))?;
    eprintln!(
        "{}: {} policies precompiled for {build}",
        manifest.display(),
        entries.len()
    );
    Ok(0)
}
