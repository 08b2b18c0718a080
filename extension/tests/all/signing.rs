//! Policy signing end to end: `GAVEL_TRUSTED_KEYS` enforcement in `PolicySet::from_config`, and
//! the `gavel policy keygen/sign/verify` commands. Policies are copied into temp dirs before
//! signing so the shared `target/policies` never gains `.sig` files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ed25519_dalek::SigningKey;
use gavel::catalog::{CatalogError, PolicySet};
use gavel::config::Config;
use gavel::engine::{EngineBuilder, PolicySource};
use gavel::signing::{self, SignatureFile, SigningError};

use crate::support::{shipped_policy, test_policy};

/// A policy directory holding copies of `policies` (paths of built `.wasm` files).
fn policy_dir(policies: &[PathBuf]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for p in policies {
        std::fs::copy(p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    dir
}

/// Sign `wasm` with `key` as `gavel policy sign` does (metadata from the policy itself).
fn sign(key: &SigningKey, wasm: &Path) -> SignatureFile {
    let engine = EngineBuilder::new().build().unwrap();
    let loaded = engine
        .load(PolicySource::from_file(wasm, None).unwrap(), "{}")
        .unwrap();
    let bytes = std::fs::read(wasm).unwrap();
    let sig = signing::sign(key, &loaded.name, &loaded.version, &bytes).unwrap();
    sig.write(&signing::signature_path(wasm)).unwrap();
    sig
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(key: &SigningKey) -> String {
    signing::encode_public_key(&key.verifying_key())
}

fn from_config(dir: &Path, policies: &str, trusted: &str) -> Result<PolicySet, CatalogError> {
    let mut vars = vec![
        ("GAVEL_POLICY_DIR".to_string(), dir.display().to_string()),
        ("GAVEL_POLICIES".to_string(), policies.to_string()),
    ];
    if !trusted.is_empty() {
        vars.push(("GAVEL_TRUSTED_KEYS".to_string(), trusted.to_string()));
    }
    PolicySet::from_config(&Config::from_vars(vars).expect("config parses"))
}

/// The signature problem behind a catalogue error, if it is one.
fn signing_error(err: &CatalogError) -> Option<&SigningError> {
    match err {
        CatalogError::Signature { source, .. } => Some(source),
        _ => None,
    }
}

fn refusal(result: Result<PolicySet, CatalogError>) -> (String, CatalogError) {
    match result {
        Ok(_) => panic!("policy set loaded, expected a refusal"),
        Err(e) => (e.to_string(), e),
    }
}

#[test]
fn signed_policy_loads_under_trusted_key() {
    let dir = policy_dir(&[shipped_policy("malicious-content")]);
    let k = key(1);
    let sig = sign(&k, &dir.path().join("malicious-content.wasm"));
    assert_eq!(sig.name, "malicious-content");
    // A second, unrelated trusted key must not get in the way.
    let trusted = format!("{}, {}", public(&key(9)), public(&k));
    let set = from_config(dir.path(), "malicious-content", &trusted).expect("signed policy loads");
    assert_eq!(set.policies[0].name, "malicious-content");
}

#[test]
fn unsigned_policy_is_refused_naming_it_and_the_missing_file() {
    let dir = policy_dir(&[test_policy("hostile"), shipped_policy("malicious-content")]);
    let k = key(1);
    sign(&k, &dir.path().join("hostile.wasm"));
    let (msg, err) = refusal(from_config(
        dir.path(),
        "hostile,malicious-content",
        &public(&k),
    ));
    assert!(
        matches!(
            signing_error(&err),
            Some(SigningError::MissingSignature { .. })
        ),
        "{msg}"
    );
    let expected_sig = dir.path().join("malicious-content.sig");
    assert!(
        msg.starts_with("GAVEL_TRUSTED_KEYS: policy malicious-content (sha256 "),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("no signature file {}", expected_sig.display())),
        "{msg}"
    );
}

#[test]
fn flipped_byte_is_refused() {
    let dir = policy_dir(&[test_policy("hostile")]);
    let k = key(1);
    let wasm = dir.path().join("hostile.wasm");
    sign(&k, &wasm);
    let mut bytes = std::fs::read(&wasm).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&wasm, &bytes).unwrap();
    let (msg, err) = refusal(from_config(dir.path(), "hostile", &public(&k)));
    assert!(
        matches!(
            signing_error(&err),
            Some(SigningError::DigestMismatch { .. })
        ),
        "{msg}"
    );
    assert!(msg.contains("policy hostile"), "{msg}");
    assert!(msg.contains("sha256 mismatch"), "{msg}");
}

#[test]
fn signature_by_untrusted_key_is_refused() {
    let dir = policy_dir(&[test_policy("hostile")]);
    let attacker = key(2);
    let sig = sign(&attacker, &dir.path().join("hostile.wasm"));
    let (msg, err) = refusal(from_config(dir.path(), "hostile", &public(&key(1))));
    assert!(
        matches!(signing_error(&err), Some(SigningError::UntrustedKey { .. })),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("untrusted key {}", sig.key_id)),
        "{msg}"
    );
}

#[test]
fn signature_for_other_metadata_is_refused_after_load() {
    // Valid signature over the right bytes, but vouching for a different name: the policy's
    // own `describe` disagrees, so the set must not load.
    let dir = policy_dir(&[test_policy("hostile")]);
    let k = key(1);
    let wasm = dir.path().join("hostile.wasm");
    let bytes = std::fs::read(&wasm).unwrap();
    signing::sign(&k, "malicious-content", "9.9.9", &bytes)
        .unwrap()
        .write(&signing::signature_path(&wasm))
        .unwrap();
    let (msg, err) = refusal(from_config(dir.path(), "hostile", &public(&k)));
    assert!(
        matches!(
            signing_error(&err),
            Some(SigningError::MetadataMismatch { .. })
        ),
        "{msg}"
    );
}

#[test]
fn absolute_path_policies_carry_their_sig_beside_them() {
    let dir = policy_dir(&[test_policy("hostile")]);
    let k = key(1);
    let wasm = dir.path().join("hostile.wasm");
    let empty = tempfile::tempdir().unwrap();
    let policies = wasm.display().to_string();
    let (msg, _) = refusal(from_config(empty.path(), &policies, &public(&k)));
    assert!(msg.contains("no signature file"), "{msg}");
    sign(&k, &wasm);
    from_config(empty.path(), &policies, &public(&k)).expect("signed path loads");
}

#[test]
fn malformed_trusted_key_is_a_config_error() {
    let dir = policy_dir(&[test_policy("hostile")]);
    let (msg, err) = refusal(from_config(dir.path(), "hostile", "not-a-key"));
    assert!(
        matches!(
            err,
            CatalogError::Config {
                var: "GAVEL_TRUSTED_KEYS",
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.starts_with("GAVEL_TRUSTED_KEYS: "), "{msg}");
}

#[test]
fn without_trusted_keys_unsigned_policies_load() {
    let dir = policy_dir(&[test_policy("hostile")]);
    from_config(dir.path(), "hostile", "").expect("no keys, no signature needed");
}

// ---- the CLI ---------------------------------------------------------------------------------

fn gavel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gavel"))
        .args(args)
        // verify falls back to GAVEL_TRUSTED_KEYS; the test's own environment must not leak in.
        .env_remove("GAVEL_TRUSTED_KEYS")
        .env_remove("GAVEL_POLICY_DIR")
        .output()
        .expect("run gavel")
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[test]
fn cli_keygen_sign_verify() {
    let dir = policy_dir(&[test_policy("hostile")]);
    let wasm = dir.path().join("hostile.wasm");
    let wasm_arg = wasm.to_str().unwrap();
    let keyfile = dir.path().join("team");
    let key_arg = keyfile.to_str().unwrap();

    // keygen: the public key alone on stdout, private key 0600, refuses to overwrite.
    let out = gavel(&["policy", "keygen", "--out", key_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pubkey = text(&out.stdout).trim().to_string();
    let pub_file = dir.path().join("team.pub");
    assert_eq!(std::fs::read_to_string(&pub_file).unwrap().trim(), pubkey);
    signing::parse_public_key(&pubkey).expect("printed key parses");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&keyfile).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = gavel(&["policy", "keygen", "--out", key_arg]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("--force"));

    // sign: writes hostile.sig beside the .wasm and says what it signed.
    let out = gavel(&["policy", "sign", "--key", key_arg, wasm_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sig_path = dir.path().join("hostile.sig");
    let sig = SignatureFile::read(&sig_path).expect("sig written");
    assert_eq!(
        sig.sha256,
        gavel::engine::sha256_hex(&std::fs::read(&wasm).unwrap())
    );
    assert!(text(&out.stdout).contains(&sig.sha256));
    assert!(text(&out.stdout).contains(&sig.key_id));

    // verify: with the .pub file and with the base64 key itself.
    let pub_arg = pub_file.to_str().unwrap();
    for k in [pub_arg, pubkey.as_str()] {
        let out = gavel(&["policy", "verify", "--pubkey", k, wasm_arg]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).starts_with("ok: "),
            "{}",
            text(&out.stdout)
        );
    }

    // Each refusal exits 1 and says why.
    let refused = |args: &[&str], why: &str| {
        let out = gavel(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(why),
            "{args:?}: {}",
            text(&out.stderr)
        );
    };

    // A key nobody trusts.
    let other = key(7);
    refused(
        &["policy", "verify", "--pubkey", &public(&other), wasm_arg],
        "untrusted key",
    );

    // An altered signature.
    let mut bad = sig.clone();
    let mut raw = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&sig.signature)
            .unwrap()
    };
    raw[0] ^= 0x80;
    bad.signature = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(raw)
    };
    bad.write(&sig_path).unwrap();
    refused(
        &["policy", "verify", "--pubkey", pub_arg, wasm_arg],
        "bad signature",
    );
    sig.write(&sig_path).unwrap();

    // A flipped byte in the policy.
    let original = std::fs::read(&wasm).unwrap();
    let mut flipped = original.clone();
    flipped[100] ^= 0x01;
    std::fs::write(&wasm, &flipped).unwrap();
    refused(
        &["policy", "verify", "--pubkey", pub_arg, wasm_arg],
        "sha256 mismatch",
    );
    std::fs::write(&wasm, &original).unwrap();

    // No signature at all.
    std::fs::remove_file(&sig_path).unwrap();
    refused(
        &["policy", "verify", "--pubkey", pub_arg, wasm_arg],
        "no signature file",
    );
}

#[test]
fn cli_help_teaches() {
    for (cmd, needle) in [
        ("keygen", "GAVEL_TRUSTED_KEYS"),
        ("sign", "<name>.sig"),
        ("verify", "exits 1"),
    ] {
        let out = gavel(&["policy", cmd, "--help"]);
        assert!(out.status.success());
        let help = text(&out.stdout);
        assert!(help.contains("Example"), "{cmd}: {help}");
        assert!(help.contains(needle), "{cmd}: {help}");
    }
}
