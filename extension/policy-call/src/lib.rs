//! The host's side of the policy contract (`policies/wit/policy.wit`): the bindings generated
//! from it, the state each store carries, and the calls into a policy.
//!
//! A crate of its own for speed. The canonical ABI copies the event (up to 6 MB) and the result
//! into the sandbox with generic wasmtime code, and generic code is compiled in the crate that
//! instantiates it. The layer builds gavel for size (opt-level z), where that copy stays a byte
//! loop: a third of a no-op evaluation of a 6 MB event. The layer profile builds this crate at
//! opt-level 3 (see the workspace `Cargo.toml`), so the copy is optimised for speed, without
//! making the rest of gavel bigger.
//!
//! The functions here are not generic on purpose: each is compiled once, here.

#![warn(missing_docs)]

use std::sync::atomic::{AtomicBool, Ordering};

use wasmtime::component::{ComponentExportIndex, Instance, Linker, TypedFunc};
use wasmtime::{Engine, ResourceLimiter, Store};

mod bounded;

pub use bounded::{MAX_ACTIONS, MAX_ERROR_BYTES, MAX_FIELD_BYTES, MAX_FINDINGS, OutputTooLarge};

/// Bindings generated from `policies/wit/policy.wit`, the one policy contract.
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../../policies/wit",
        world: "gavel-policy",
    });
}

use bindings::exports::gavel::policy::types::{Invocation, Metadata, Verdict};
use bindings::{GavelPolicy, GavelPolicyPre};
use bounded::{BoundedVerdict, Message};

/// The contract's `policy` interface, as a component exports it.
const POLICY_INTERFACE: &str = "gavel:policy/policy@0.1.0";

/// Store data: the memory limiter, and whatever must live exactly as long as the store.
pub struct HostState {
    memory_cap: usize,
    /// Dropped with the store (gavel keeps its epoch clock running through it).
    _guard: Box<dyn Send>,
}

/// Raised (as the trap's cause) when a policy grows memory past the cap.
#[derive(Debug, thiserror::Error)]
#[error("memory cap of {cap_mb} MiB exceeded (asked for {asked_mb} MiB)")]
pub struct MemoryCapExceeded {
    cap_mb: usize,
    asked_mb: usize,
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            return Err(MemoryCapExceeded {
                cap_mb: self.memory_cap >> 20,
                asked_mb: desired.div_ceil(1 << 20),
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// A policy component linked and type-checked against the contract, ready to instantiate.
pub struct Prepared {
    pre: GavelPolicyPre<HostState>,
    /// `evaluate`, called through [`BoundedVerdict`] rather than the generated bindings.
    evaluate: ComponentExportIndex,
    /// Whether `evaluate`'s type was checked against [`EvaluateFn`] (on the first call).
    evaluate_checked: AtomicBool,
}

/// `evaluate` as the host calls it: the verdict lifted within bounds.
type EvaluateFn<'a> = TypedFunc<(&'a Invocation,), (Result<BoundedVerdict, Message>,)>;

/// Link `component` and check it against the contract.
pub fn prepare(
    engine: &Engine,
    component: &wasmtime::component::Component,
) -> wasmtime::Result<Prepared> {
    let linker: Linker<HostState> = Linker::new(engine);
    let pre = GavelPolicyPre::new(linker.instantiate_pre(component)?)?;
    let evaluate = component
        .get_export_index(None, POLICY_INTERFACE)
        .and_then(|policy| component.get_export_index(Some(&policy), "evaluate"))
        .ok_or_else(|| wasmtime::format_err!("no `evaluate` in `{POLICY_INTERFACE}`"))?;
    Ok(Prepared {
        pre,
        evaluate,
        evaluate_checked: AtomicBool::new(false),
    })
}

/// Limits of one sandbox.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear-memory cap, in bytes.
    pub memory_bytes: usize,
    /// Epoch ticks until the call traps with `Trap::Interrupt`.
    pub deadline_ticks: u64,
}

/// A fresh sandbox: a new store (memory cap, epoch deadline) and an instance in it. `guard` is
/// dropped with the store. After a trap, drop both; never call into them again.
pub fn instantiate(
    engine: &Engine,
    prepared: &Prepared,
    limits: Limits,
    guard: Box<dyn Send>,
) -> wasmtime::Result<(Store<HostState>, Instance)> {
    let mut store = Store::new(
        engine,
        HostState {
            memory_cap: limits.memory_bytes,
            _guard: guard,
        },
    );
    store.limiter(|state| state);
    store.set_epoch_deadline(limits.deadline_ticks);
    store.epoch_deadline_trap();
    let instance = prepared.pre.instance_pre().instantiate(&mut store)?;
    Ok((store, instance))
}

/// `evaluate`: the policy's verdict on one invocation, or its own error message. A verdict or
/// message over the bounds ([`MAX_FINDINGS`], …) fails the call with [`OutputTooLarge`] before
/// any of it is copied out of the sandbox.
pub fn evaluate(
    store: &mut Store<HostState>,
    instance: &Instance,
    prepared: &Prepared,
    invocation: &Invocation,
) -> wasmtime::Result<Result<Verdict, String>> {
    let func = instance
        .get_func(&mut *store, prepared.evaluate)
        .ok_or_else(|| wasmtime::format_err!("no `evaluate` in `{POLICY_INTERFACE}`"))?;
    // The type check walks the whole contract; every instance of one component has the same
    // types, so it runs once per policy, not once per evaluation (as the generated bindings do).
    if !prepared.evaluate_checked.load(Ordering::Relaxed) {
        let _: EvaluateFn<'_> = func.typed(&*store)?;
        prepared.evaluate_checked.store(true, Ordering::Relaxed);
    }
    // SAFETY: `func` belongs to an instance of `prepared`'s component, whose `evaluate` was
    // checked against `EvaluateFn` above.
    let func: EvaluateFn<'_> = unsafe { TypedFunc::new_unchecked(func) };
    let (answer,) = func.call(&mut *store, (invocation,))?;
    Ok(answer.map(Verdict::from).map_err(|message| message.0))
}

/// `describe`: the policy's name, version and phases.
pub fn describe(store: &mut Store<HostState>, instance: &Instance) -> wasmtime::Result<Metadata> {
    GavelPolicy::new(&mut *store, instance)?
        .gavel_policy_policy()
        .call_describe(store)
}

/// `validate-settings`: `Err(reason)` when the policy refuses its settings.
pub fn validate_settings(
    store: &mut Store<HostState>,
    instance: &Instance,
    settings: &str,
) -> wasmtime::Result<Result<(), String>> {
    GavelPolicy::new(&mut *store, instance)?
        .gavel_policy_policy()
        .call_validate_settings(store, settings)
}
