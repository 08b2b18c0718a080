//! End-to-end tests: one binary. `baseline` proves the harness without gavel; `extension` runs
//! the gavel binary as an external extension (skipped, with a printed reason, when it is absent).

mod baseline;
mod extension;
mod faults;
// dist/gavel-layer-*.zip from `make layer`.
mod layer;
// layer/template.yaml: cfn-lint and tests/check-template.py (layers, attachment, IAM scope).
mod template;

use gavel_e2e::{LambdaEnv, Options};

/// Starts a sandbox or fails the test with the processes' output.
pub async fn start(opts: Options) -> LambdaEnv {
    match LambdaEnv::start(opts).await {
        Ok(env) => env,
        Err(e) => panic!("sandbox did not start: {e}"),
    }
}

/// A JSON event whose bytes a re-serialising proxy would change: key order, spacing, escapes,
/// big and fractional numbers, non-ASCII.
pub const TRICKY_JSON: &[u8] = b"{ \"zeta\":1, \"alpha\" : [1.50, 1e3, 12345678901234567890],\n \"s\":\"caf\\u00e9 \xe2\x9c\x93 \\/\", \"n\":null }";

/// Bytes that are neither JSON nor UTF-8.
pub const BINARY: &[u8] = b"\x00\xff\xfe binary \x80\x81 \r\n\x7f end";
