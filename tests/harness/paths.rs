//! Where the end-to-end tests find things: repo, binaries, venv, layer scripts, policies, ports.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `<repo>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// Where the gavel binary is looked for: `GAVEL_E2E_BIN`, else `target/debug/gavel`.
pub fn gavel_bin_path() -> PathBuf {
    std::env::var_os("GAVEL_E2E_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug/gavel"))
}

/// The gavel binary, if it exists.
pub fn gavel_bin() -> Option<PathBuf> {
    let p = gavel_bin_path();
    p.is_file().then_some(p)
}

/// Shipped policies built by `make policies` (`target/policies/<name>.wasm`).
pub fn policy_dir() -> PathBuf {
    target_dir().join("policies")
}

/// `.venv/bin/python`, made by `tests/setup-venv.sh`.
pub fn venv_python() -> Result<PathBuf, String> {
    let p = repo_root().join(".venv/bin/python");
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} missing: run tests/setup-venv.sh (make test does)",
            p.display()
        ))
    }
}

/// `tests/functions/python/handler.py`.
pub fn python_handler_file() -> PathBuf {
    repo_root().join("tests/functions/python/handler.py")
}

/// `layer/<name>` (`wrapper`, `bootstrap`).
pub fn layer_file(name: &str) -> PathBuf {
    repo_root().join("layer").join(name)
}

/// A port that was free a moment ago (bind to 0, read it, release it). Racy in theory; the
/// kernel hands out ephemeral ports round-robin, so a reuse within a test run is unlikely.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9009)
}

/// The `rust-echo` test function (`tests/functions/rust-echo`), built on first use: `cargo test
/// -p gavel-e2e` does not build other workspace members' binaries.
pub fn rust_echo_bin() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = Command::new(cargo)
                .args(["build", "--quiet", "-p", "rust-echo"])
                .current_dir(repo_root())
                .output()
                .map_err(|e| format!("cargo build -p rust-echo: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "cargo build -p rust-echo failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let p = target_dir().join("debug/rust-echo");
            p.is_file()
                .then(|| p.clone())
                .ok_or_else(|| format!("{} not built", p.display()))
        })
        .clone()
}
