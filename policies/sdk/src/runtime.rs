//! Glue between the generated bindings and [`Policy`](crate::Policy): settings parsing,
//! lazy JSON views, and turning a [`Report`](crate::Report) into a verdict.

use std::cell::OnceCell;

use crate::{Invocation, Metadata, Phase, Policy, Verdict};

/// What a policy's `evaluate` receives: the invocation, its parsed settings and lazily
/// parsed JSON of the event and result.
pub struct Input<S> {
    /// The raw invocation from the host.
    pub invocation: Invocation,
    /// Settings parsed into the policy's type.
    pub settings: S,
    event_json: OnceCell<Option<serde_json::Value>>,
    result_json: OnceCell<Option<serde_json::Value>>,
}

impl<S> Input<S> {
    /// Build an input directly (native tests, the `Testcase` helpers).
    pub fn new(invocation: Invocation, settings: S) -> Self {
        Self {
            invocation,
            settings,
            event_json: OnceCell::new(),
            result_json: OnceCell::new(),
        }
    }

    /// The phase of this call.
    pub fn phase(&self) -> Phase {
        self.invocation.phase
    }

    /// The event bytes as received.
    pub fn event_bytes(&self) -> &[u8] {
        &self.invocation.event
    }

    /// The event parsed as JSON, or `None` when it is not JSON (a clearly unparsable event).
    pub fn event(&self) -> Option<&serde_json::Value> {
        self.event_json
            .get_or_init(|| parse_json(&self.invocation.event))
            .as_ref()
    }

    /// The function's result bytes (response and telemetry phases).
    pub fn result_bytes(&self) -> Option<&[u8]> {
        self.invocation.result.as_deref()
    }

    /// The result parsed as JSON, when it is JSON.
    pub fn result(&self) -> Option<&serde_json::Value> {
        self.result_json
            .get_or_init(|| self.invocation.result.as_deref().and_then(parse_json))
            .as_ref()
    }
}

/// serde_json recurses; its default depth limit (128) keeps hostile nesting from overflowing
/// the guest stack, and such events are treated as unparsable.
fn parse_json(bytes: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice(bytes).ok()
}

/// Parse settings JSON; errors name the JSON path that failed.
pub fn parse_settings<P: Policy>(settings: &str) -> Result<P::Settings, String> {
    let text = if settings.trim().is_empty() {
        "{}"
    } else {
        settings
    };
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("{}", e.inner())
        } else {
            format!("at `{path}`: {}", e.inner())
        }
    })
}

#[doc(hidden)]
pub fn metadata<P: Policy>() -> Metadata {
    Metadata {
        name: P::NAME.into(),
        version: P::VERSION.into(),
        phases: P::PHASES.to_vec(),
    }
}

#[doc(hidden)]
pub fn validate_settings<P: Policy>(settings: &str) -> Result<(), String> {
    let parsed = parse_settings::<P>(settings)?;
    P::validate(&parsed)
}

#[doc(hidden)]
pub fn evaluate<P: Policy>(invocation: Invocation) -> Result<Verdict, String> {
    let settings = parse_settings::<P>(&invocation.settings)?;
    let input = Input::new(invocation, settings);
    P::evaluate(&input).map(crate::Report::into_verdict)
}
