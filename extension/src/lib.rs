//! gavel: a Lambda layer extension that judges every invocation with sandboxed WASM policies.
//!
//! The flow is visible in the modules: [`config`] → proxy/telemetry → [`engine`] → [`verdict`]
//! → destinations.
#![warn(missing_docs)]

pub mod engine;
pub mod proxy;
