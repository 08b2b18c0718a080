//! One evaluation: a fresh store under deadline and memory cap, the call, and the mapping of
//! every failure (trap, timeout, memory cap, policy error, malformed output) to an outcome.

use std::time::Instant;

use gavel_policy_call::{MemoryCapExceeded, OutputTooLarge};
use wasmtime::Trap;

use super::bindings::exports::gavel::policy::types::{Finding, Invocation, Verdict};
use super::{Decision, Engine, LoadedPolicy, Phase, Severity};

/// Bounds on what a policy may return; anything larger is malformed output, not a verdict.
/// The host's side of the contract enforces them as it lifts the verdict out of the sandbox;
/// [`check_output`] holds a lifted verdict to them again.
pub use gavel_policy_call::{MAX_ACTIONS, MAX_FIELD_BYTES, MAX_FINDINGS};

/// What the host knows of one invocation, handed to every policy.
#[derive(Debug, Clone, Default)]
pub struct InvocationInput {
    /// Lambda request id.
    pub request_id: String,
    /// Function name.
    pub function_name: String,
    /// Function ARN.
    pub function_arn: String,
    /// Event bytes as the runtime received them.
    pub event: Vec<u8>,
    /// Result bytes, once the function returned.
    pub result: Option<Vec<u8>>,
    /// The error type when the function failed.
    pub function_error: Option<String>,
    /// Telemetry records (JSON objects) of this invocation.
    pub telemetry: Vec<String>,
}

/// One finding, bounded and owned by the host.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeFinding {
    /// Rule id.
    pub rule_id: String,
    /// Severity.
    pub severity: Severity,
    /// Message.
    pub message: String,
    /// JSON pointer.
    pub location: String,
    /// Redacted evidence.
    pub evidence: String,
}

/// The result of evaluating one policy in one phase.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Policy name.
    pub name: String,
    /// Policy version.
    pub version: String,
    /// Policy sha256.
    pub sha256: String,
    /// Phase evaluated.
    pub phase: Phase,
    /// The policy's decision, or the configured decision for a policy error.
    pub decision: Decision,
    /// Wall time of instantiation plus call.
    pub duration_us: u64,
    /// Why the policy failed, when it did.
    pub error: Option<String>,
    /// Findings.
    pub findings: Vec<OutcomeFinding>,
    /// Suggested actions.
    pub actions: Vec<String>,
}

impl Outcome {
    /// Take a checked call's result ([`check_output`]): the verdict's decision, findings and
    /// actions, or the error with the decision `on_error`.
    pub fn settle(&mut self, result: Result<Verdict, String>, on_error: Decision) {
        match result {
            Ok(verdict) => {
                self.decision = verdict.decision;
                self.findings = verdict
                    .findings
                    .into_iter()
                    .map(OutcomeFinding::from)
                    .collect();
                self.actions = verdict.actions;
            }
            Err(error) => {
                self.decision = on_error;
                self.error = Some(error);
            }
        }
    }
}

/// Reusable per-phase invocation: built once, lent to each policy with its settings.
pub struct Evaluation {
    inv: Invocation,
}

impl Evaluation {
    /// Prepare `input` for `phase`.
    pub fn new(input: InvocationInput, phase: Phase) -> Self {
        Self {
            inv: Invocation {
                request_id: input.request_id,
                function_name: input.function_name,
                function_arn: input.function_arn,
                phase,
                event: input.event,
                result: input.result,
                function_error: input.function_error,
                telemetry: input.telemetry,
                settings: String::new(),
            },
        }
    }

    /// The phase.
    pub fn phase(&self) -> Phase {
        self.inv.phase
    }
}

impl Engine {
    /// Evaluate `policy` on `evaluation`. Never panics and never fails: a faulting policy gives
    /// an outcome with `error` set and the decision `on_error`.
    pub fn evaluate(
        &self,
        policy: &LoadedPolicy,
        evaluation: &mut Evaluation,
        on_error: Decision,
    ) -> Outcome {
        let started = Instant::now();
        evaluation.inv.settings = policy.settings.clone();
        let result = self.call(policy, &evaluation.inv);
        let duration_us = started.elapsed().as_micros() as u64;
        let mut outcome = Outcome {
            name: policy.name.clone(),
            version: policy.version.clone(),
            sha256: policy.sha256.clone(),
            phase: evaluation.inv.phase,
            decision: Decision::Allow,
            duration_us,
            error: None,
            findings: Vec::new(),
            actions: Vec::new(),
        };
        outcome.settle(result, on_error);
        outcome
    }

    fn call(&self, policy: &LoadedPolicy, inv: &Invocation) -> Result<Verdict, String> {
        // The store lives only inside this function: after a trap it is dropped, never reused.
        let (mut store, instance) = self
            .instantiate(&policy.pre)
            .map_err(|e| self.describe_error(&e))?;
        match gavel_policy_call::evaluate(&mut store, &instance, &policy.pre, inv) {
            Ok(answer) => check_output(answer),
            Err(e) => Err(self.describe_error(&e)),
        }
    }

    /// A one-line cause for a failed call, naming the limit that was hit.
    pub(super) fn describe_error(&self, err: &wasmtime::Error) -> String {
        if let Some(cap) = err
            .chain()
            .find_map(|e| e.downcast_ref::<MemoryCapExceeded>())
        {
            return cap.to_string();
        }
        if let Some(bound) = err.chain().find_map(|e| e.downcast_ref::<OutputTooLarge>()) {
            return bound.to_string();
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => format!(
                "timeout: exceeded the {} ms deadline",
                self.inner.timeout_ms
            ),
            Some(Trap::StackOverflow) => "trap: stack overflow".to_string(),
            Some(trap) => format!("trap: {trap}"),
            // Not a trap: the canonical ABI refused what the guest returned (bad UTF-8, bad
            // discriminant, out-of-bounds list) or instantiation failed.
            None => format!("malformed output or instantiation failure: {err:#}"),
        }
    }
}

/// Judge what a policy's `evaluate` returned once the canonical ABI has lifted it: a verdict
/// within the bounds ([`MAX_FINDINGS`], [`MAX_ACTIONS`], [`MAX_FIELD_BYTES`], a rule id on every
/// finding), or the one-line error the outcome records (`policy error: …` for the policy's own
/// `err`, `malformed output: …` for a verdict out of bounds). Public for the `policy_output`
/// fuzz target (`fuzz/`); [`Engine::evaluate`] is the one caller in gavel.
pub fn check_output(answer: Result<Verdict, String>) -> Result<Verdict, String> {
    match answer {
        Ok(verdict) => check_bounds(verdict),
        Err(message) => Err(format!(
            "policy error: {}",
            truncate(&message, MAX_FIELD_BYTES)
        )),
    }
}

fn check_bounds(verdict: Verdict) -> Result<Verdict, String> {
    if verdict.findings.len() > MAX_FINDINGS {
        return Err(format!(
            "malformed output: {} findings (max {MAX_FINDINGS})",
            verdict.findings.len()
        ));
    }
    if verdict.actions.len() > MAX_ACTIONS {
        return Err(format!(
            "malformed output: {} actions (max {MAX_ACTIONS})",
            verdict.actions.len()
        ));
    }
    let too_long = verdict
        .findings
        .iter()
        .flat_map(|f| [&f.rule_id, &f.message, &f.location, &f.evidence])
        .chain(verdict.actions.iter())
        .any(|s| s.len() > MAX_FIELD_BYTES);
    if too_long {
        return Err(format!(
            "malformed output: a field longer than {MAX_FIELD_BYTES} bytes"
        ));
    }
    if verdict.findings.iter().any(|f| f.rule_id.is_empty()) {
        return Err("malformed output: a finding without a rule id".into());
    }
    Ok(verdict)
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl From<Finding> for OutcomeFinding {
    fn from(f: Finding) -> Self {
        Self {
            rule_id: f.rule_id,
            severity: f.severity,
            message: f.message,
            location: f.location,
            evidence: f.evidence,
        }
    }
}
