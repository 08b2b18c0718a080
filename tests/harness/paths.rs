//! Where the end-to-end tests find things: repo, binaries, venv, layer scripts, policies, ports.

use std::path::{Path, PathBuf};
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

/// `GAVEL_E2E_LAYER=<layer zip>`: the zip unpacked once into a fresh `/opt`-like root
/// (`target/layer-root/<zip name>`), so the suite runs the layer's own binary, wrapper,
/// bootstrap and (precompiled) policies instead of the cargo build's. Panics on a bad zip:
/// a test run that asked for a layer must not quietly test something else.
pub fn layer_root() -> Option<&'static Path> {
    static ROOT: OnceLock<Option<PathBuf>> = OnceLock::new();
    ROOT.get_or_init(|| {
        let zip = PathBuf::from(std::env::var_os("GAVEL_E2E_LAYER")?);
        let stem = zip
            .file_stem()
            .map_or("layer".into(), |s| s.to_string_lossy().into_owned());
        let root = target_dir().join("layer-root").join(stem);
        let _ = std::fs::remove_dir_all(&root);
        // Python's zipfile drops mode bits on extract; restore them from the entries as
        // Lambda does when it unpacks a layer under /opt.
        let script = "import os,sys,zipfile\n\
            z=zipfile.ZipFile(sys.argv[1])\n\
            for i in z.infolist():\n\
            \x20p=z.extract(i,sys.argv[2]); m=(i.external_attr>>16)&0o777\n\
            \x20m and os.chmod(p,m)\n";
        let status = Command::new("python3")
            .args(["-c", script])
            .arg(&zip)
            .arg(&root)
            .status()
            .unwrap_or_else(|e| panic!("GAVEL_E2E_LAYER: cannot run python3 to unpack: {e}"));
        assert!(
            status.success(),
            "GAVEL_E2E_LAYER: cannot unpack {}",
            zip.display()
        );
        Some(root)
    })
    .as_deref()
}

/// Where the gavel binary is looked for: `GAVEL_E2E_BIN`, the unpacked layer's
/// `extensions/gavel` ([`layer_root`]), else `target/debug/gavel`.
pub fn gavel_bin_path() -> PathBuf {
    if let Some(bin) = std::env::var_os("GAVEL_E2E_BIN") {
        return PathBuf::from(bin);
    }
    match layer_root() {
        Some(root) => root.join("extensions/gavel"),
        None => target_dir().join("debug/gavel"),
    }
}

/// The gavel binary, if it exists.
pub fn gavel_bin() -> Option<PathBuf> {
    let p = gavel_bin_path();
    p.is_file().then_some(p)
}

/// Shipped policies: the unpacked layer's `gavel/policies`, else those built by
/// `make policies` (`target/policies/<name>.wasm`).
pub fn policy_dir() -> PathBuf {
    match layer_root() {
        Some(root) => root.join("gavel/policies"),
        None => target_dir().join("policies"),
    }
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

/// The layer's `gavel/<name>` when testing a zip, else `layer/<name>` (`wrapper`, `bootstrap`).
pub fn layer_file(name: &str) -> PathBuf {
    match layer_root() {
        Some(root) => root.join("gavel").join(name),
        None => repo_root().join("layer").join(name),
    }
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
