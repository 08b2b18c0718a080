//! Precompiled policies (`.cwasm`, `gavel policy precompile`): loaded instead of compiling only
//! when written by this very build for these very `.wasm` bytes; anything else compiles the
//! `.wasm` and still loads. Runs the real `gavel` binary on copies of the shipped policies.

use std::path::Path;

use gavel::catalog::{ManifestEntry, PolicySet, read_manifest};
use gavel::config::Config;
use gavel::engine::{Decision, InvocationInput, Phase};

use crate::support::{gavel, succeed, target_dir};

/// A copy of `target/policies` (wasm + manifest), precompiled by the gavel binary.
fn precompiled_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = target_dir().join("policies");
    for entry in std::fs::read_dir(&shipped).expect("target/policies: run `make policies`") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".wasm") || name == "manifest.json" {
            std::fs::copy(&path, dir.path().join(name)).unwrap();
        }
    }
    succeed(gavel().args(["policy", "precompile"]).arg(dir.path()));
    dir
}

fn load(dir: &Path) -> PolicySet {
    let vars = [("GAVEL_POLICY_DIR".to_string(), dir.display().to_string())];
    PolicySet::from_config(&Config::from_vars(vars).unwrap()).expect("policies load")
}

fn precompiled(set: &PolicySet) -> Vec<(String, bool)> {
    set.policies
        .iter()
        .map(|p| (p.name.clone(), p.precompiled))
        .collect()
}

fn rewrite_manifest(dir: &Path, edit: impl Fn(&mut ManifestEntry)) {
    let mut entries = read_manifest(dir).unwrap().unwrap();
    entries.iter_mut().for_each(edit);
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&entries).unwrap(),
    )
    .unwrap();
}

const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn decision_on_eicar(set: &PolicySet) -> Decision {
    let input = InvocationInput {
        event: serde_json::to_vec(&serde_json::json!({ "body": EICAR })).unwrap(),
        ..InvocationInput::default()
    };
    set.evaluate(Phase::Request, input)
        .iter()
        .map(|o| o.decision)
        .max_by_key(|d| match d {
            Decision::Allow => 0,
            Decision::Alert => 1,
            Decision::Deny => 2,
        })
        .unwrap()
}

#[test]
fn precompile_records_each_cwasm_in_the_manifest() {
    let dir = precompiled_dir();
    let entries = read_manifest(dir.path()).unwrap().unwrap();
    assert_eq!(entries.len(), 3, "{entries:?}");
    for e in &entries {
        let pre = e.precompiled.as_ref().expect("precompiled entry");
        let bytes = std::fs::read(dir.path().join(&pre.file)).unwrap();
        assert_eq!(gavel::engine::sha256_hex(&bytes), pre.sha256, "{}", e.name);
        assert_eq!(pre.build, gavel::engine::build_id());
    }
}

#[test]
fn same_build_loads_the_cwasm_and_judges_alike() {
    let dir = precompiled_dir();
    let set = load(dir.path());
    assert!(
        precompiled(&set).iter().all(|(_, pre)| *pre),
        "{:?}",
        precompiled(&set)
    );
    assert_eq!(decision_on_eicar(&set), Decision::Deny);
}

#[test]
fn another_build_compiles_the_wasm_instead() {
    let dir = precompiled_dir();
    rewrite_manifest(dir.path(), |e| {
        e.precompiled.as_mut().unwrap().build = "gavel-0.0.1+0123abcd-x86_64-linux".into();
    });
    let set = load(dir.path());
    assert!(
        precompiled(&set).iter().all(|(_, pre)| !*pre),
        "{:?}",
        precompiled(&set)
    );
    assert_eq!(decision_on_eicar(&set), Decision::Deny);
}

#[test]
fn a_tampered_cwasm_is_never_deserialised() {
    let dir = precompiled_dir();
    let cwasm = dir.path().join("malicious-content.cwasm");
    let mut bytes = std::fs::read(&cwasm).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&cwasm, bytes).unwrap();
    let set = load(dir.path());
    for (name, pre) in precompiled(&set) {
        assert_eq!(pre, name != "malicious-content", "{name}");
    }
    assert_eq!(decision_on_eicar(&set), Decision::Deny);
}

#[test]
fn a_missing_cwasm_compiles_the_wasm() {
    let dir = precompiled_dir();
    std::fs::remove_file(dir.path().join("secrets-leak.cwasm")).unwrap();
    let set = load(dir.path());
    for (name, pre) in precompiled(&set) {
        assert_eq!(pre, name != "secrets-leak", "{name}");
    }
}

#[test]
fn a_pin_other_than_the_manifests_never_gets_that_manifests_cwasm() {
    // The user pins other bytes under the name: the .cwasm beside it was made from the
    // manifest's .wasm, so it must not stand in for what was pinned.
    let dir = precompiled_dir();
    let other = std::fs::read(dir.path().join("unauthorized-access.wasm")).unwrap();
    std::fs::write(dir.path().join("malicious-content.wasm"), &other).unwrap();
    let pin = gavel::engine::sha256_hex(&other);
    let vars = [
        (
            "GAVEL_POLICY_DIR".to_string(),
            dir.path().display().to_string(),
        ),
        (
            "GAVEL_POLICIES".to_string(),
            format!("malicious-content@sha256:{pin}"),
        ),
    ];
    let set = PolicySet::from_config(&Config::from_vars(vars).unwrap()).expect("loads");
    assert_eq!(
        precompiled(&set),
        vec![("unauthorized-access".to_string(), false)],
        "the pinned bytes are compiled, not the manifest's .cwasm"
    );
}
