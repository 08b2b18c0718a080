//! The layer zips of `make layer` (`dist/gavel-layer-<arch>.zip`): the contract's layout, modes
//! and manifest, and static musl binaries of the right architecture. The x86_64 zip's contents
//! also run this whole suite: `make test` runs it again with `GAVEL_E2E_LAYER` (see paths.rs).

use std::path::{Path, PathBuf};
use std::process::Command;

use gavel_e2e::paths;
use serde_json::Value;

fn zip_path(arch: &str) -> PathBuf {
    let zip = paths::repo_root().join(format!("dist/gavel-layer-{arch}.zip"));
    assert!(
        zip.is_file(),
        "{} missing: run `make layer` (make test does)",
        zip.display()
    );
    zip
}

/// The zip's entries as `{name: {"mode", "size", "sha256"}}`, read with Python's zipfile.
fn entries(zip: &Path) -> serde_json::Map<String, Value> {
    let script = "import hashlib,json,sys,zipfile\n\
        z=zipfile.ZipFile(sys.argv[1])\n\
        print(json.dumps({i.filename:{'mode':(i.external_attr>>16)&0o777,'size':i.file_size,\
        'sha256':hashlib.sha256(z.read(i)).hexdigest()} for i in z.infolist()}))";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(zip)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    match serde_json::from_slice(&out.stdout).unwrap() {
        Value::Object(map) => map,
        other => panic!("{other}"),
    }
}

/// One file of the zip, extracted into `dir`.
fn extract(zip: &Path, name: &str, dir: &Path) -> PathBuf {
    let script = "import os,sys,zipfile\n\
        z=zipfile.ZipFile(sys.argv[1]); i=z.getinfo(sys.argv[2])\n\
        p=z.extract(i,sys.argv[3]); os.chmod(p,(i.external_attr>>16)&0o777)";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(zip)
        .arg(name)
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    dir.join(name)
}

fn check_layout(arch: &str) {
    let zip = zip_path(arch);
    let entries = entries(&zip);
    let mode = |name: &str| {
        entries
            .get(name)
            .unwrap_or_else(|| panic!("{}: no {name}; has {:?}", zip.display(), entries.keys()))["mode"]
            .as_u64()
            .unwrap()
    };
    for exe in ["extensions/gavel", "gavel/wrapper", "gavel/bootstrap"] {
        assert_eq!(mode(exe), 0o755, "{exe} must be executable");
    }
    // Every manifest entry (and its .cwasm, if any) is in the zip with the recorded digest.
    let dir = tempfile::tempdir().unwrap();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(extract(&zip, "gavel/policies/manifest.json", dir.path())).unwrap(),
    )
    .unwrap();
    let policies = manifest.as_array().expect("manifest is a list");
    let names: Vec<&str> = policies.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for wanted in ["malicious-content", "unauthorized-access", "secrets-leak"] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    for p in policies {
        let file = format!("gavel/policies/{}", p["file"].as_str().unwrap());
        assert_eq!(entries[&file]["sha256"], p["sha256"], "{file}");
        assert!(
            ["name", "version", "sha256", "file"]
                .iter()
                .all(|k| p[k].is_string())
        );
        if let Some(pre) = p.get("precompiled") {
            let file = format!("gavel/policies/{}", pre["file"].as_str().unwrap());
            assert_eq!(entries[&file]["sha256"], pre["sha256"], "{file}");
        }
    }
    // Nothing else: a stray file in a layer lands in every function that attaches it.
    for name in entries.keys() {
        assert!(
            name.starts_with("extensions/gavel") || name.starts_with("gavel/"),
            "unexpected {name} in {}",
            zip.display()
        );
    }
}

/// ELF machine and whether a program interpreter (dynamic loader) is requested.
fn elf_machine_and_interp(bytes: &[u8]) -> (u16, bool) {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(bytes[4], 2, "not a 64-bit ELF");
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let machine = u16_at(0x12);
    let phoff = u64::from_le_bytes(bytes[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36) as usize, u16_at(0x38) as usize);
    const PT_INTERP: u32 = 3;
    let interp = (0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) == PT_INTERP
    });
    (machine, interp)
}

fn static_binary(arch: &str, machine: u16) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let bin = extract(&zip_path(arch), "extensions/gavel", &dir);
    let (found, interp) = elf_machine_and_interp(&std::fs::read(&bin).unwrap());
    assert_eq!(found, machine, "{arch}: ELF e_machine");
    assert!(
        !interp,
        "{arch}: the binary asks for a dynamic loader; Lambda layers need static musl"
    );
    bin
}

#[test]
fn x86_64_zip_has_the_contract_layout() {
    check_layout("x86_64");
}

#[test]
fn arm64_zip_has_the_contract_layout() {
    check_layout("arm64");
}

#[test]
fn x86_64_binary_is_static_and_runs() {
    const EM_X86_64: u16 = 62;
    let bin = static_binary("x86_64", EM_X86_64);
    let out = Command::new(&bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("gavel "));
}

#[test]
fn arm64_binary_is_static_aarch64_and_runs_under_qemu() {
    const EM_AARCH64: u16 = 183;
    let bin = static_binary("arm64", EM_AARCH64);
    // qemu-user-static is installed by `make test` where apt allows it (tests/setup-qemu.sh).
    let Some(qemu) = ["/usr/bin/qemu-aarch64-static", "/usr/bin/qemu-aarch64"]
        .into_iter()
        .find(|q| Path::new(q).is_file())
    else {
        eprintln!("qemu-aarch64-static not installed: checked the ELF header only");
        return;
    };
    let out = Command::new(qemu)
        .arg(&bin)
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("gavel "));
}
