//! gavel-policy-build: wraps core wasm modules built by `cargo build --target
//! wasm32-unknown-unknown` into gavel policy components (the step `wasm-tools component new`
//! does), so `make policies` needs no extra tool installed.
//!
//! ```text
//! gavel-policy-build --out-dir target/policies target/wasm32-unknown-unknown/policy/malicious_content.wasm
//! ```
//! Output names are the input file stems with `_` turned into `-`. A module built with the SDK is
//! pre-initialised first ([`preinit`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

mod preinit;

fn main() {
    if let Err(err) = run() {
        eprintln!("gavel-policy-build: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out_dir: Option<PathBuf> = None;
    let mut inputs = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out-dir" => {
                out_dir = Some(args.next().context("--out-dir needs a directory")?.into())
            }
            "-h" | "--help" => {
                println!(
                    "usage: gavel-policy-build --out-dir DIR MODULE.wasm...\n\nWraps core modules (wit-bindgen guests built for wasm32-unknown-unknown) into gavel policy components."
                );
                return Ok(());
            }
            _ => inputs.push(PathBuf::from(arg)),
        }
    }
    let out_dir = out_dir.context("missing --out-dir DIR")?;
    if inputs.is_empty() {
        bail!("no input modules given");
    }
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    for input in &inputs {
        let out = out_dir.join(component_name(input)?);
        let started = std::time::Instant::now();
        let module =
            std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
        let preinitialized = preinit::preinitialize(&module)
            .with_context(|| format!("{}: pre-initialisation failed", input.display()))?;
        let how = if preinitialized.is_some() {
            "pre-initialised"
        } else {
            "no `wizer-initialize` export: not pre-initialised"
        };
        let bytes = componentize(input, preinitialized.as_deref().unwrap_or(&module))?;
        std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
        println!(
            "{} -> {} ({} KiB, {how}, {} ms)",
            input.display(),
            out.display(),
            bytes.len() / 1024,
            started.elapsed().as_millis()
        );
    }
    Ok(())
}

fn component_name(input: &Path) -> Result<String> {
    let stem = input
        .file_stem()
        .and_then(|s| s.to_str())
        .with_context(|| format!("{}: not a file name", input.display()))?;
    Ok(format!("{}.wasm", stem.replace('_', "-")))
}

fn componentize(input: &Path, module: &[u8]) -> Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(module)
        .and_then(|encoder| encoder.validate(true).encode())
        .with_context(|| {
            format!(
                "{}: cannot wrap into a component (is it a gavel SDK policy?)",
                input.display()
            )
        })
}
