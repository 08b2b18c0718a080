//! Policy signing: ed25519 signatures over a policy's bytes and its metadata, the `.sig` file
//! beside each `.wasm`, key files, and the trust check behind `GAVEL_TRUSTED_KEYS`.
//!
//! What is signed is not the raw file but a message binding three things, so that a signature
//! made for one policy cannot be replayed onto another, nor onto a relabelled copy:
//!
//! ```text
//! gavel-policy-signature-v1\n<name>\n<version>\n<sha256 hex of the .wasm bytes>
//! ```
//!
//! The `.sig` file is JSON a human can read (`{"name","version","sha256","keyId","signature"}`);
//! the verifier never trusts its `sha256` field, it recomputes the digest from the bytes it is
//! about to load and rebuilds the message from them.
//!
//! Verification runs in two steps because loading a component compiles it and runs guest code
//! (`describe`, `validate-settings`): [`TrustedKeys::verify`] authenticates the bytes *before*
//! anything touches them, and [`Signed::check_metadata`] afterwards confirms that the name and
//! version the signer vouched for are what the policy itself reports.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::engine::sha256_hex;

/// Domain separation: a gavel policy signature can never be mistaken for an ed25519 signature
/// some other tool made with the same key over coincidentally equal bytes.
pub const DOMAIN: &str = "gavel-policy-signature-v1\n";

/// Extension of the signature file; `<name>.wasm` is signed by `<name>.sig`.
pub const SIG_EXTENSION: &str = "sig";

/// Why signing or verification failed. Messages say what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The policy has no `.sig` beside it.
    #[error("no signature file {}", path.display())]
    MissingSignature {
        /// Where the signature was expected.
        path: PathBuf,
    },
    /// The `.sig` is not the JSON `gavel policy sign` writes.
    #[error("signature file {}: {reason}", path.display())]
    MalformedSignature {
        /// The signature file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The bytes are not the ones that were signed (modified after signing, or the wrong `.sig`).
    #[error(
        "sha256 mismatch: the signature covers sha256 {signed} but the policy file has {actual} (modified after signing?)"
    )]
    DigestMismatch {
        /// Digest recorded in the `.sig`.
        signed: String,
        /// Digest of the bytes on disk.
        actual: String,
    },
    /// Signed by a key that is not trusted.
    #[error("signed by untrusted key {key_id} (trusted: {})", trusted.join(", "))]
    UntrustedKey {
        /// Key id recorded in the `.sig`.
        key_id: String,
        /// Key ids that are trusted.
        trusted: Vec<String>,
    },
    /// The signature does not verify under the key it names.
    #[error(
        "bad signature: does not verify under key {key_id} for {name} {version} (the .sig was altered or made for other metadata)"
    )]
    BadSignature {
        /// The key tried.
        key_id: String,
        /// Signed name.
        name: String,
        /// Signed version.
        version: String,
    },
    /// The policy reports a name/version other than the signed one.
    #[error(
        "metadata mismatch: signed as {signed_name} {signed_version} but the policy reports {name} {version}"
    )]
    MetadataMismatch {
        /// Name in the signature.
        signed_name: String,
        /// Version in the signature.
        signed_version: String,
        /// Name the policy reports.
        name: String,
        /// Version the policy reports.
        version: String,
    },
    /// A name or version gavel refuses to sign (it would make the message ambiguous).
    #[error("cannot sign metadata {field} {value:?}: must not contain a newline")]
    BadMetadata {
        /// `name` or `version`.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// A key that does not parse.
    #[error("{0}")]
    BadKey(String),
    /// A key or signature file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SigningError + '_ {
    move |source| SigningError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The `.sig` file: what was signed, by which key, and the signature (base64).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureFile {
    /// Policy name from its metadata.
    pub name: String,
    /// Policy version from its metadata.
    pub version: String,
    /// Lower-case hex sha256 of the `.wasm` bytes.
    pub sha256: String,
    /// [`key_id`] of the signing key.
    pub key_id: String,
    /// Base64 ed25519 signature over [`message`].
    pub signature: String,
}

impl SignatureFile {
    /// Read and parse a `.sig`; a missing file is [`SigningError::MissingSignature`].
    pub fn read(path: &Path) -> Result<Self, SigningError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SigningError::MissingSignature {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(io_err(path)(e)),
        };
        serde_json::from_str(&text).map_err(|e| SigningError::MalformedSignature {
            path: path.to_path_buf(),
            reason: format!("not a gavel signature ({e})"),
        })
    }

    /// Write as pretty JSON (a reviewer reads it in a pull request).
    pub fn write(&self, path: &Path) -> Result<(), SigningError> {
        let mut text = serde_json::to_string_pretty(self).expect("serialisable");
        text.push('\n');
        std::fs::write(path, text).map_err(io_err(path))
    }
}

/// Where the signature of `policy` lives: the same path with the extension `.sig`
/// (`/opt/gavel/policies/x.wasm` → `/opt/gavel/policies/x.sig`).
pub fn signature_path(policy: &Path) -> PathBuf {
    policy.with_extension(SIG_EXTENSION)
}

/// The exact bytes signed for a policy `name` `version` whose file has digest `sha256`.
pub fn message(name: &str, version: &str, sha256: &str) -> Vec<u8> {
    format!("{DOMAIN}{name}\n{version}\n{}", sha256.to_ascii_lowercase()).into_bytes()
}

/// A short, stable name for a public key: the first 16 hex digits of sha256 of its 32 bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    sha256_hex(key.as_bytes())[..16].to_string()
}

/// Base64 of a public key, the form `GAVEL_TRUSTED_KEYS` and `.pub` files use.
pub fn encode_public_key(key: &VerifyingKey) -> String {
    B64.encode(key.as_bytes())
}

/// Parse a base64 ed25519 public key.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, SigningError> {
    let text = text.trim();
    let shown = if text.len() > 60 {
        format!("{}…", &text[..text.floor_char_boundary(60)])
    } else {
        text.to_string()
    };
    let bytes = B64
        .decode(text)
        .map_err(|e| SigningError::BadKey(format!("public key `{shown}` is not base64: {e}")))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        SigningError::BadKey(format!(
            "public key `{shown}` is {} bytes, an ed25519 public key is 32",
            b.len()
        ))
    })?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| {
        SigningError::BadKey(format!("public key `{shown}` is not an ed25519 point"))
    })?;
    // A small-order key admits signatures that verify for many messages; never trust one.
    if key.is_weak() {
        return Err(SigningError::BadKey(format!(
            "public key `{shown}` is a weak (small-order) ed25519 key"
        )));
    }
    Ok(key)
}

/// A public key given on the command line: a `.pub` file, or the base64 key itself.
pub fn public_key_arg(arg: &str) -> Result<VerifyingKey, SigningError> {
    let path = Path::new(arg);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        return parse_public_key(&text)
            .map_err(|e| SigningError::BadKey(format!("{}: {e}", path.display())));
    }
    parse_public_key(arg).map_err(|e| {
        if arg.ends_with(".pub") || arg.contains('.') {
            SigningError::BadKey(format!("{arg}: no such key file, and {e}"))
        } else {
            e
        }
    })
}

/// A fresh signing key from the operating system's CSPRNG.
pub fn generate() -> SigningKey {
    SigningKey::generate(&mut rand_core::OsRng)
}

/// Write `key` to `path` (base64 of the 32-byte secret, mode 0600) and its public key to
/// `path.pub`; returns the `.pub` path. Refuses to replace an existing key unless `force`:
/// overwriting a private key by accident would orphan every signature made with it.
pub fn write_keypair(path: &Path, key: &SigningKey, force: bool) -> Result<PathBuf, SigningError> {
    let pub_path = public_key_path(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            SigningError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    e.kind(),
                    "already exists; refusing to overwrite a private key (use --force)",
                ),
            }
        } else {
            io_err(path)(e)
        }
    })?;
    // `mode` only applies on creation; with --force over an existing file, tighten it too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_err(path))?;
    }
    writeln!(file, "{}", B64.encode(key.to_bytes())).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    std::fs::write(
        &pub_path,
        format!("{}\n", encode_public_key(&key.verifying_key())),
    )
    .map_err(io_err(&pub_path))?;
    Ok(pub_path)
}

/// `P` → `P.pub`.
pub fn public_key_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Read a private key file written by [`write_keypair`].
pub fn read_signing_key(path: &Path) -> Result<SigningKey, SigningError> {
    // Both files are 32 base64 bytes, so a .pub would parse as a (different) secret and yield
    // signatures no one trusts; catch the mix-up here instead.
    if path.extension().is_some_and(|e| e == "pub") {
        return Err(SigningError::BadKey(format!(
            "{} is a public key; sign with the private key file beside it",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let bytes = B64.decode(text.trim()).map_err(|e| {
        SigningError::BadKey(format!(
            "{}: not a gavel private key (base64 expected: {e})",
            path.display()
        ))
    })?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        SigningError::BadKey(format!(
            "{}: {} bytes, an ed25519 private key is 32",
            path.display(),
            b.len()
        ))
    })?;
    Ok(SigningKey::from_bytes(&bytes))
}

fn check_field(field: &'static str, value: &str) -> Result<(), SigningError> {
    // A newline in name or version would let ("a\nb","c") and ("a","b\nc") share a message.
    if value.contains('\n') {
        return Err(SigningError::BadMetadata {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

/// Sign a policy whose metadata is `name` `version` and whose file is `bytes`.
pub fn sign(
    key: &SigningKey,
    name: &str,
    version: &str,
    bytes: &[u8],
) -> Result<SignatureFile, SigningError> {
    check_field("name", name)?;
    check_field("version", version)?;
    let sha256 = sha256_hex(bytes);
    let signature = key.sign(&message(name, version, &sha256));
    Ok(SignatureFile {
        name: name.to_string(),
        version: version.to_string(),
        sha256,
        key_id: key_id(&key.verifying_key()),
        signature: B64.encode(signature.to_bytes()),
    })
}

/// What a verified signature vouches for; confirm it against the loaded policy with
/// [`Signed::check_metadata`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Signed name.
    pub name: String,
    /// Signed version.
    pub version: String,
    /// Key id of the key that verified it.
    pub key_id: String,
}

impl Signed {
    /// The policy's own metadata (after loading) must be what was signed.
    pub fn check_metadata(&self, name: &str, version: &str) -> Result<(), SigningError> {
        if self.name != name || self.version != version {
            return Err(SigningError::MetadataMismatch {
                signed_name: self.name.clone(),
                signed_version: self.version.clone(),
                name: name.to_string(),
                version: version.to_string(),
            });
        }
        Ok(())
    }
}

/// The public keys a policy signature may verify under.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<VerifyingKey>,
}

impl TrustedKeys {
    /// Parse base64 keys (the entries of `GAVEL_TRUSTED_KEYS`); any bad entry is an error.
    pub fn parse<S: AsRef<str>>(keys: &[S]) -> Result<Self, SigningError> {
        let keys = keys
            .iter()
            .map(|k| parse_public_key(k.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// Trust exactly `keys`.
    pub fn new(keys: Vec<VerifyingKey>) -> Self {
        Self { keys }
    }

    /// No key is trusted (signatures are not required).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Key ids of the trusted keys.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(key_id).collect()
    }

    /// Authenticate `bytes` against `sig`: the digest of the bytes must be the signed one and
    /// the signature must verify under a trusted key. Nothing in `sig` is believed until then.
    pub fn verify(&self, bytes: &[u8], sig: &SignatureFile) -> Result<Signed, SigningError> {
        let actual = sha256_hex(bytes);
        if !sig.sha256.eq_ignore_ascii_case(&actual) {
            return Err(SigningError::DigestMismatch {
                signed: sig.sha256.clone(),
                actual,
            });
        }
        // keyId is an unsigned hint; a forged one only selects a key the signature then fails.
        let key = self
            .keys
            .iter()
            .find(|k| key_id(k).eq_ignore_ascii_case(&sig.key_id))
            .ok_or_else(|| SigningError::UntrustedKey {
                key_id: sig.key_id.clone(),
                trusted: self.ids(),
            })?;
        let bad = || SigningError::BadSignature {
            key_id: sig.key_id.clone(),
            name: sig.name.clone(),
            version: sig.version.clone(),
        };
        let signature = B64
            .decode(sig.signature.trim())
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or_else(bad)?;
        check_field("name", &sig.name)?;
        check_field("version", &sig.version)?;
        // verify_strict: rejects non-canonical and small-order components (no malleability).
        key.verify_strict(&message(&sig.name, &sig.version, &actual), &signature)
            .map_err(|_| bad())?;
        Ok(Signed {
            name: sig.name.clone(),
            version: sig.version.clone(),
            key_id: key_id(key),
        })
    }

    /// [`TrustedKeys::verify`] with the signature read from beside `policy`.
    pub fn verify_file(&self, policy: &Path, bytes: &[u8]) -> Result<Signed, SigningError> {
        let sig = SignatureFile::read(&signature_path(policy))?;
        self.verify(bytes, &sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn sign_then_verify() {
        let k = key(1);
        let sig = sign(&k, "p", "1.0.0", b"wasm").unwrap();
        assert_eq!(sig.sha256, sha256_hex(b"wasm"));
        assert_eq!(sig.key_id.len(), 16);
        let trusted = TrustedKeys::new(vec![k.verifying_key()]);
        let signed = trusted.verify(b"wasm", &sig).unwrap();
        assert_eq!(
            (signed.name.as_str(), signed.version.as_str()),
            ("p", "1.0.0")
        );
        signed.check_metadata("p", "1.0.0").unwrap();
        assert!(matches!(
            signed.check_metadata("p", "2.0.0"),
            Err(SigningError::MetadataMismatch { .. })
        ));
    }

    #[test]
    fn message_is_domain_separated_and_binds_metadata() {
        let m = message("p", "1", "AB");
        assert_eq!(m, b"gavel-policy-signature-v1\np\n1\nab");
    }

    #[test]
    fn flipped_byte_is_a_digest_mismatch() {
        let k = key(1);
        let sig = sign(&k, "p", "1", b"wasm").unwrap();
        let err = TrustedKeys::new(vec![k.verifying_key()])
            .verify(b"wasM", &sig)
            .unwrap_err();
        assert!(matches!(err, SigningError::DigestMismatch { .. }), "{err}");
        assert!(err.to_string().contains("sha256 mismatch"));
    }

    #[test]
    fn relabelled_signature_does_not_verify() {
        let k = key(1);
        let mut sig = sign(&k, "p", "1", b"wasm").unwrap();
        sig.version = "2".into();
        let err = TrustedKeys::new(vec![k.verifying_key()])
            .verify(b"wasm", &sig)
            .unwrap_err();
        assert!(matches!(err, SigningError::BadSignature { .. }), "{err}");
    }

    #[test]
    fn untrusted_key_is_named() {
        let sig = sign(&key(2), "p", "1", b"wasm").unwrap();
        let trusted = TrustedKeys::new(vec![key(1).verifying_key()]);
        let err = trusted.verify(b"wasm", &sig).unwrap_err();
        assert!(matches!(err, SigningError::UntrustedKey { .. }), "{err}");
        assert!(err.to_string().contains(&sig.key_id));
        assert!(err.to_string().contains(&trusted.ids()[0]));
    }

    #[test]
    fn forged_key_id_still_fails() {
        // An attacker's signature claiming a trusted key id.
        let trusted_key = key(1);
        let mut sig = sign(&key(2), "p", "1", b"wasm").unwrap();
        sig.key_id = key_id(&trusted_key.verifying_key());
        let err = TrustedKeys::new(vec![trusted_key.verifying_key()])
            .verify(b"wasm", &sig)
            .unwrap_err();
        assert!(matches!(err, SigningError::BadSignature { .. }), "{err}");
    }

    #[test]
    fn garbage_signature_is_bad() {
        let k = key(1);
        let mut sig = sign(&k, "p", "1", b"wasm").unwrap();
        sig.signature = "not base64!".into();
        let err = TrustedKeys::new(vec![k.verifying_key()])
            .verify(b"wasm", &sig)
            .unwrap_err();
        assert!(matches!(err, SigningError::BadSignature { .. }));
    }

    #[test]
    fn newline_in_metadata_is_refused() {
        assert!(matches!(
            sign(&key(1), "a\nb", "1", b"x"),
            Err(SigningError::BadMetadata { field: "name", .. })
        ));
    }

    #[test]
    fn public_keys_parse_strictly() {
        let k = key(3).verifying_key();
        assert_eq!(parse_public_key(&encode_public_key(&k)).unwrap(), k);
        assert!(parse_public_key("not-base64!").is_err());
        assert!(
            parse_public_key(&B64.encode([1u8; 16]))
                .unwrap_err()
                .to_string()
                .contains("16 bytes")
        );
        // The identity point is small-order: trusting it would accept forged signatures.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(
            parse_public_key(&B64.encode(identity))
                .unwrap_err()
                .to_string()
                .contains("weak")
        );
        assert!(TrustedKeys::parse(&["a"]).is_err());
    }

    #[test]
    fn keypair_files_round_trip_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let k = generate();
        let pub_path = write_keypair(&path, &k, false).unwrap();
        assert_eq!(pub_path, dir.path().join("k.pub"));
        assert_eq!(read_signing_key(&path).unwrap().to_bytes(), k.to_bytes());
        assert_eq!(
            public_key_arg(pub_path.to_str().unwrap()).unwrap(),
            k.verifying_key()
        );
        assert_eq!(
            public_key_arg(&encode_public_key(&k.verifying_key())).unwrap(),
            k.verifying_key()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = write_keypair(&path, &generate(), false).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        write_keypair(&path, &generate(), true).unwrap();
        // A .pub file also holds 32 base64 bytes; signing with it must not silently "work".
        let err = read_signing_key(&pub_path).unwrap_err();
        assert!(err.to_string().contains("public key"), "{err}");
    }

    #[test]
    fn sig_path_replaces_the_extension() {
        assert_eq!(
            signature_path(Path::new("/opt/gavel/policies/x.wasm")),
            PathBuf::from("/opt/gavel/policies/x.sig")
        );
    }
}
