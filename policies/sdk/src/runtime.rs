//! Glue between the generated bindings and [`Policy`](crate::Policy): settings parsing,
//! lazy JSON views, and turning a [`Report`](crate::Report) into a verdict.

use std::cell::OnceCell;

use crate::{Invocation, Metadata, Phase, Policy, Verdict};

impl Invocation {
    /// A request-phase invocation of `event`, settings `{}`: for native tests and benchmarks
    /// that call a policy's `evaluate` directly.
    pub fn request(event: Vec<u8>) -> Self {
        Self {
            request_id: "00000000-0000-4000-8000-000000000000".into(),
            function_name: "native".into(),
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:native".into(),
            phase: Phase::Request,
            event,
            result: None,
            function_error: None,
            telemetry: Vec::new(),
            settings: "{}".into(),
        }
    }
}

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

/// The build-time initialisation (`wizer-initialize`, see [`Policy::warm`]).
pub fn warm<P: Policy>() {
    P::warm();
}

/// Zero the heap's free memory. Call it at the end of a [`Policy::warm`] that builds things
/// through scratch memory (an automaton's intermediate forms): the build-time snapshot stores
/// every non-zero byte, and freed scratch would otherwise ship in the module (for secrets-leak,
/// twice the size of what it keeps). It costs a little memory bookkeeping of its own, so a
/// `warm` that allocates little should not call it. Does nothing outside wasm.
pub fn zero_free_heap() {
    #[cfg(target_arch = "wasm32")]
    zero_free_heap_wasm();
}

/// Take every free block the allocator has, as zeroed memory, then give it all back. Stops at
/// each size once the allocator has to grow memory: fresh pages are zero already. Blocks of
/// 64 KiB at most (larger free chunks are split), so growing adds at most ~128 KiB.
#[cfg(target_arch = "wasm32")]
fn zero_free_heap_wasm() {
    use std::alloc::{Layout, alloc_zeroed, dealloc};
    use std::arch::wasm32::memory_size;
    let mut held: Vec<(*mut u8, Layout)> = Vec::with_capacity(1024);
    let mut size = 1usize << 16;
    while size >= 16 && held.len() < held.capacity() {
        let Ok(layout) = Layout::from_size_align(size, 8) else {
            break;
        };
        let pages = memory_size(0);
        // SAFETY: a non-zero size; every block is freed below with the layout it was made with.
        let block = unsafe { alloc_zeroed(layout) };
        if block.is_null() {
            size /= 2;
            continue;
        }
        held.push((block, layout));
        if memory_size(0) != pages {
            size /= 2;
        }
    }
    for (block, layout) in held.drain(..) {
        // SAFETY: allocated above with this layout, freed once.
        unsafe { dealloc(block, layout) };
    }
    // The list itself is freed scratch too.
    let list = held.spare_capacity_mut();
    for slot in list.iter_mut() {
        // SAFETY: writing zero bytes over our own spare capacity.
        unsafe { std::ptr::write_bytes(slot.as_mut_ptr(), 0, 1) };
    }
    std::hint::black_box(&held);
}
