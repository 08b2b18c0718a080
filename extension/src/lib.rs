//! gavel: a Lambda layer extension that judges every invocation with sandboxed WASM policies.
//!
//! The flow is visible in the modules: [`config`] → [`proxy`] / telemetry → [`engine`] →
//! [`verdict`] → [`record`] → [`destinations`].
#![warn(missing_docs)]

pub mod catalog;
pub mod cli;
pub mod config;
pub mod destinations;
pub mod engine;
pub mod extension;
pub mod proxy;
pub mod record;
pub mod signing;
pub mod telemetry;
pub mod verdict;
