//! Shared helpers: where the built policies are, and a small engine.

use std::path::PathBuf;

use gavel::engine::{Engine, EngineBuilder, LoadedPolicy, PolicySource};

/// The workspace's target directory (policies are built there by `make policies`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

/// A test policy built from `tests/policies/<name>`.
pub fn test_policy(name: &str) -> PathBuf {
    let path = target_dir()
        .join("test-policies")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} missing: run `make policies` (make test does)",
        path.display()
    );
    path
}

/// A shipped policy built from `policies/<name>`.
pub fn shipped_policy(name: &str) -> PathBuf {
    let path = target_dir().join("policies").join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} missing: run `make policies` (make test does)",
        path.display()
    );
    path
}

/// An engine with a short deadline so hostile tests finish fast.
pub fn engine(timeout_ms: u64) -> Engine {
    EngineBuilder::new()
        .timeout_ms(timeout_ms)
        .memory_mb(32)
        .build()
        .expect("engine")
}

/// Load `path` with `settings`.
pub fn load(engine: &Engine, path: &std::path::Path, settings: &str) -> LoadedPolicy {
    engine
        .load(PolicySource::from_file(path, None).expect("read"), settings)
        .unwrap_or_else(|e| panic!("load {}: {e}", path.display()))
}

/// The corpus shipped beside the repository (`../shared/corpus`).
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"))
}

/// The `gavel` binary built for these tests.
pub fn gavel() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_gavel"))
}

/// Run `cmd`; its output once it has exited successfully, else fail showing its stderr.
pub fn succeed(cmd: &mut std::process::Command) -> std::process::Output {
    let out = cmd.output().expect("run the command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
