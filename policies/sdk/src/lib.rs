//! The gavel policy SDK: a policy is a type implementing [`Policy`], exported with
//! [`export_policy!`]. The SDK turns the WIT contract (`policies/wit/policy.wit`) into plain Rust:
//! typed settings parsed with errors that name the JSON path, typed views of the event
//! ([`views`]), and a [`Report`] that collects findings and derives the decision.
//!
//! ```ignore
//! use gavel_policy_sdk::{export_policy, Decision, Input, Phase, Policy, Report, Severity};
//!
//! #[derive(serde::Deserialize, Default)]
//! struct Settings { words: Vec<String> }
//!
//! struct BadWords;
//! impl Policy for BadWords {
//!     const NAME: &'static str = "bad-words";
//!     const VERSION: &'static str = "0.1.0";
//!     const PHASES: &'static [Phase] = &[Phase::Request];
//!     type Settings = Settings;
//!     fn evaluate(input: &Input<Settings>) -> Result<Report, String> {
//!         let mut report = Report::default();
//!         let text = String::from_utf8_lossy(input.event_bytes());
//!         for w in &input.settings.words {
//!             if text.contains(w.as_str()) {
//!                 report.add(Decision::Alert, "words.match", Severity::Low, "bad word", "", w);
//!             }
//!         }
//!         Ok(report)
//!     }
//! }
//! export_policy!(BadWords);
//! ```
#![warn(missing_docs)]

pub mod cloudtrail;
pub mod decode;
pub mod redact;
mod report;
#[doc(hidden)]
pub mod runtime;
pub mod settings;
pub mod views;

pub use report::Report;
pub use runtime::Input;

/// Bindings generated from the WIT contract; policy code rarely needs them directly.
#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "gavel-policy",
        pub_export_macro: true,
        export_macro_name: "__export_gavel_policy",
        default_bindings_module: "gavel_policy_sdk::bindings",
    });
}

pub use bindings::exports::gavel::policy::types::{
    Decision, Finding, Invocation, Metadata, Phase, Severity, Verdict,
};

/// A gavel policy. Implement it on a unit struct and export it with [`export_policy!`].
pub trait Policy {
    /// Policy name, as users select it in `GAVEL_POLICIES`.
    const NAME: &'static str;
    /// Policy version (semver).
    const VERSION: &'static str;
    /// Phases the host calls this policy in.
    const PHASES: &'static [Phase];
    /// Settings, parsed from the `GAVEL_SETTINGS_<NAME>` JSON. `{}` must parse.
    type Settings: serde::de::DeserializeOwned;

    /// Extra checks beyond parsing; the error is shown to the user at init.
    fn validate(_settings: &Self::Settings) -> Result<(), String> {
        Ok(())
    }

    /// Judge one invocation.
    fn evaluate(input: &Input<Self::Settings>) -> Result<Report, String>;

    /// Build what every evaluation needs (matchers, tables, parsed rule sets), typically by
    /// forcing `static` `OnceLock`s. `make policies` calls this once at build time and
    /// snapshots the instance's memory (wizer), so each per-invocation instance starts with it
    /// done instead of rebuilding it. Must not depend on settings or on any input.
    fn warm() {}
}

/// Export a [`Policy`] implementation as the component's `policy` interface.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        // Exports only exist in the wasm build: wit-bindgen's `pkg:iface#fn` symbol names do not
        // link into a native cdylib, and native builds are for `cargo test`.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct GavelGuest;
            impl $crate::bindings::exports::gavel::policy::policy::Guest for GavelGuest {
                fn describe() -> $crate::Metadata {
                    $crate::runtime::metadata::<$policy>()
                }
                fn validate_settings(
                    settings: ::std::string::String,
                ) -> ::std::result::Result<(), ::std::string::String> {
                    $crate::runtime::validate_settings::<$policy>(&settings)
                }
                fn evaluate(
                    invocation: $crate::Invocation,
                ) -> ::std::result::Result<$crate::Verdict, ::std::string::String> {
                    $crate::runtime::evaluate::<$policy>(invocation)
                }
            }
    $crate::bindings::__export_gavel_policy!(GavelGuest with_types_in $crate::bindings);

            // Run once by the build's pre-initialisation step (gavel-policy-build), which
            // snapshots the result and removes this export; the host never calls it.
            #[unsafe(export_name = "wizer-initialize")]
            extern "C" fn gavel_wizer_initialize() {
                $crate::runtime::warm::<$policy>();
            }
        };
    };
}
