//! End-to-end harness: a simulated Lambda sandbox running real processes (the gavel extension, a
//! real runtime client, the layer's wrapper/bootstrap) around a test-only Lambda API emulator.
//!
//! ```no_run
//! # async fn demo() {
//! use gavel_e2e::{LambdaEnv, Options, Runtime};
//! let mut env = LambdaEnv::start(Options::new(Runtime::python("echo"))).await.unwrap();
//! let r = env.invoke(br#"{"a":1}"#).await;
//! assert_eq!(r.body, br#"{"a":1}"#);
//! env.shutdown().await;
//! # }
//! ```

#![warn(missing_docs)]

#[path = "harness/emulator.rs"]
pub mod emulator;
#[path = "harness/env.rs"]
pub mod env;
#[path = "harness/moto.rs"]
pub mod moto;
#[path = "harness/paths.rs"]
pub mod paths;

pub use emulator::{Emulator, FunctionInfo, Outcome};
pub use env::{FunctionError, InvokeResult, LambdaEnv, Options, Runtime, ShutdownReport};

/// The gavel binary. `make test` builds it first; a missing binary fails the test (a skipped
/// end-to-end test would let CI pass without crossing the boundary it exists for).
#[macro_export]
macro_rules! require_gavel {
    () => {
        match $crate::paths::gavel_bin() {
            Some(p) => p,
            None => panic!(
                "no gavel binary at {} (run `make test`, or cargo build -p gavel, or set GAVEL_E2E_BIN)",
                $crate::paths::gavel_bin_path().display()
            ),
        }
    };
}
