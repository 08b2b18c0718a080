//! Per-invocation state between the proxy's hooks and the extension's event loop: what the
//! function saw and returned, the policies' outcomes, and the finished record.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use tokio::sync::{Notify, oneshot};

use crate::catalog::PolicySet;
use crate::config::{Mode, PayloadMode};
use crate::engine::{Decision, InvocationInput, Outcome, Phase};
use crate::proxy::{
    BoxFuture, EventAction, EventSeen, Interceptor, ResponseAction, ResultKind, ResultSeen,
};
use crate::record::{self, Condition, RecordInput};
use crate::telemetry::{self, TelemetryStore};
use crate::verdict::{Verdict, strongest};

/// Header carrying the function ARN on `/invocation/next`.
const FUNCTION_ARN_HEADER: &str = "lambda-runtime-invoked-function-arn";
/// Error type the caller sees when gavel blocks (enforce mode).
pub const BLOCKED_ERROR_TYPE: &str = "Gavel.Blocked";
/// How long a finished invocation waits for `platform.runtimeDone` when telemetry flows.
const TELEMETRY_WAIT: Duration = Duration::from_millis(60);
/// Threads for evaluations off the client's path: the request and response phases of an
/// invocation run side by side, and invocations do not overlap (the extension asks for the
/// next event only once a record is built). A fixed set, not tokio's blocking pool, so the
/// native stack a policy's wasm runs on (up to wasmtime's 512 KiB wasm stack, touched in full
/// by a deeply recursing policy) stays on the same two threads instead of on every thread the
/// pool grows to under load: with the pool, the extension's RSS rose by 0.5 MB per new thread
/// over the 1000-call hostile test.
const EVALUATION_THREADS: usize = 2;

/// Policy outcomes: deferred (monitor mode: judged after the caller has its answer, so policy
/// CPU never competes with the handler), computing, or done.
enum Evaluated {
    Deferred(Phase, Seen),
    Running(oneshot::Receiver<Vec<Outcome>>),
    Done(Vec<Outcome>),
}

impl Evaluated {
    /// Start a deferred evaluation.
    fn start(self, invocations: &Invocations) -> Self {
        match (self, invocations.policies.get()) {
            (Evaluated::Deferred(phase, seen), Some(policies)) => {
                Evaluated::Running(invocations.spawn(policies, phase, seen))
            }
            (Evaluated::Deferred(..), None) => Evaluated::Done(Vec::new()),
            (other, _) => other,
        }
    }

    async fn outcomes(self) -> Vec<Outcome> {
        match self {
            Evaluated::Done(o) => o,
            Evaluated::Deferred(..) => Vec::new(),
            Evaluated::Running(answer) => answer.await.unwrap_or_else(|_| {
                tracing::error!("policy evaluation failed (its thread panicked)");
                Vec::new()
            }),
        }
    }
}

/// The invocation as the proxy saw it: cheap to clone (`Bytes`), turned into the policies'
/// owned input only where they run (an evaluation thread, or the proxy's thread in enforce
/// mode).
struct Seen {
    request_id: String,
    function_name: String,
    function_arn: String,
    event: Bytes,
    result: Option<Bytes>,
    function_error: Option<String>,
    telemetry: Vec<String>,
}

impl Seen {
    fn into_input(self) -> InvocationInput {
        InvocationInput {
            request_id: self.request_id,
            function_name: self.function_name,
            function_arn: self.function_arn,
            event: self.event.to_vec(),
            result: self.result.map(|r| r.to_vec()),
            function_error: self.function_error,
            telemetry: self.telemetry,
        }
    }
}

#[derive(Default)]
struct Pending {
    event: Bytes,
    function_arn: String,
    result: Option<Bytes>,
    function_error: Option<String>,
    request: Vec<Evaluated>,
    blocked: bool,
    done: bool,
}

/// A finished invocation: the record and the decision that routes it.
pub struct Finished {
    /// The strongest decision.
    pub decision: Decision,
    /// The record, serialised.
    pub record: String,
}

/// Shared state; the proxy's [`Interceptor`].
pub struct Invocations {
    mode: Mode,
    payloads: PayloadMode,
    function_name: String,
    policies: OnceLock<Arc<PolicySet>>,
    table: Mutex<HashMap<String, Pending>>,
    changed: Notify,
    proxied: AtomicBool,
    telemetry: Arc<TelemetryStore>,
    telemetry_on: AtomicBool,
    /// Evaluations off the client's path (monitor mode, telemetry); `None` if the threads
    /// could not be started, and then those evaluations run on tokio's blocking pool.
    evaluators: Option<rayon::ThreadPool>,
}

impl Invocations {
    /// Empty state; policies are attached once loaded.
    pub fn new(mode: Mode, payloads: PayloadMode, telemetry: Arc<TelemetryStore>) -> Self {
        Self {
            mode,
            payloads,
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
            policies: OnceLock::new(),
            table: Mutex::new(HashMap::new()),
            changed: Notify::new(),
            proxied: AtomicBool::new(false),
            telemetry,
            telemetry_on: AtomicBool::new(false),
            evaluators: rayon::ThreadPoolBuilder::new()
                .num_threads(EVALUATION_THREADS)
                .thread_name(|i| format!("gavel-eval-{i}"))
                // The default would abort the process; the caller logs the lost answer.
                .panic_handler(|_| ())
                .build()
                .inspect_err(|e| tracing::warn!(error = %e, "no evaluation threads"))
                .ok(),
        }
    }

    /// Attach the loaded policies (end of init).
    pub fn set_policies(&self, policies: Arc<PolicySet>) {
        let _ = self.policies.set(policies);
    }

    /// Telemetry subscription succeeded: wait briefly for `runtimeDone` before each record.
    pub fn set_telemetry_on(&self) {
        self.telemetry_on.store(true, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn input(&self, request_id: &str, arn: &str, event: &Bytes, result: Option<&Bytes>) -> Seen {
        Seen {
            request_id: request_id.to_string(),
            function_name: self.function_name.clone(),
            function_arn: arn.to_string(),
            event: event.clone(),
            result: result.cloned(),
            function_error: None,
            telemetry: Vec::new(),
        }
    }

    /// Evaluate `phase` on an evaluation thread; the payload copies into the policies' input
    /// happen there too, never on the runtime's request path.
    fn spawn(
        &self,
        policies: &Arc<PolicySet>,
        phase: Phase,
        seen: Seen,
    ) -> oneshot::Receiver<Vec<Outcome>> {
        let (tx, rx) = oneshot::channel();
        let policies = policies.clone();
        let job = move || {
            let _ = tx.send(policies.evaluate(phase, seen.into_input()));
        };
        match &self.evaluators {
            Some(pool) => pool.spawn(job),
            None => drop(tokio::task::spawn_blocking(job)),
        }
        rx
    }

    /// Wait until the invocation `request_id` is answered (or `deadline` passes), then build
    /// its record. `None` when the runtime does not go through the proxy (telemetry only).
    pub async fn finish(
        &self,
        request_id: &str,
        deadline: tokio::time::Instant,
    ) -> Option<Finished> {
        // The INVOKE event and the runtime's /next race; before the first proxied event we
        // cannot tell "not yet" from "no wrapper", so give the proxy a moment.
        let first_wait = tokio::time::Instant::now() + Duration::from_millis(200);
        loop {
            let notified = self.changed.notified();
            let (known, done) = match self.lock().get(request_id) {
                Some(p) => (true, p.done),
                None => (false, false),
            };
            if done {
                break;
            }
            let until = if known || self.proxied.load(Ordering::Relaxed) {
                deadline
            } else {
                first_wait.min(deadline)
            };
            if tokio::time::timeout_at(until, notified).await.is_err() {
                if !known && !self.proxied.load(Ordering::Relaxed) {
                    return None;
                }
                break;
            }
        }
        let pending = self.lock().remove(request_id)?;
        Some(self.record(request_id, pending).await)
    }

    /// Records for every invocation still open (SHUTDOWN: the function timed out or crashed).
    pub async fn drain(&self) -> Vec<Finished> {
        let open: Vec<(String, Pending)> = self.lock().drain().collect();
        let mut out = Vec::new();
        for (id, pending) in open {
            out.push(self.record(&id, pending).await);
        }
        out
    }

    async fn record(&self, request_id: &str, pending: Pending) -> Finished {
        // Start every deferred phase first so they run side by side, then collect in order.
        let started: Vec<Evaluated> = pending.request.into_iter().map(|e| e.start(self)).collect();
        let mut outcomes = Vec::new();
        for evaluated in started {
            outcomes.extend(evaluated.outcomes().await);
        }
        let mut telemetry_summary = None;
        if self.telemetry_on.load(Ordering::Relaxed) {
            self.telemetry
                .wait_runtime_done(request_id, TELEMETRY_WAIT)
                .await;
            let records = self.telemetry.records(request_id);
            telemetry_summary = telemetry::summary(&records);
            if let Some(policies) = self.policies.get()
                && policies.wants(Phase::Telemetry)
            {
                let mut input = self.input(
                    request_id,
                    &pending.function_arn,
                    &pending.event,
                    pending.result.as_ref(),
                );
                input.telemetry = records.iter().map(|r| r.to_string()).collect();
                outcomes.extend(
                    self.spawn(policies, Phase::Telemetry, input)
                        .await
                        .unwrap_or_default(),
                );
            }
            self.telemetry.forget(request_id);
        }
        let condition = if pending.blocked {
            Condition::Blocked
        } else if pending.function_error.is_some() || pending.result.is_none() {
            Condition::Failure
        } else {
            Condition::Success
        };
        let verdict = Verdict::new(self.mode, outcomes, pending.blocked);
        let value = record::build(&RecordInput {
            request_id,
            function_arn: &pending.function_arn,
            condition,
            event: &pending.event,
            result: pending.result.as_deref(),
            function_error: pending.function_error.as_deref(),
            telemetry: telemetry_summary,
            verdict: &verdict,
            payloads: self.payloads,
        });
        Finished {
            decision: verdict.decision,
            record: value.to_string(),
        }
    }

    /// Enforce mode: judge on the calling thread, which is the proxy's own. The runtime is
    /// blocked on this answer and the proxy serves nothing else meanwhile, so handing the work
    /// to the blocking pool would only add two thread wake-ups to the client's path. Each
    /// evaluation is bounded by the policy deadline; a panic is contained by the proxy's hook
    /// guard, which forwards.
    fn judge_now(&self, policies: &PolicySet, phase: Phase, input: Seen) -> Vec<Outcome> {
        policies.evaluate(phase, input.into_input())
    }

    fn blocked_body(outcomes: &[Outcome], what: &str) -> Bytes {
        let rules: Vec<&str> = outcomes
            .iter()
            .filter(|o| o.decision == Decision::Deny)
            .flat_map(|o| o.findings.iter().map(|f| f.rule_id.as_str()))
            .collect();
        let message = format!(
            "gavel blocked this {what}: {}",
            if rules.is_empty() {
                "policy decision".into()
            } else {
                rules.join(", ")
            }
        );
        Bytes::from(json!({"errorMessage": message, "errorType": BLOCKED_ERROR_TYPE}).to_string())
    }
}

impl Interceptor for Invocations {
    fn on_event(&self, event: EventSeen) -> BoxFuture<'_, EventAction> {
        Box::pin(async move {
            let first_proxied = !self.proxied.swap(true, Ordering::Relaxed);
            let arn = event
                .headers
                .get(FUNCTION_ARN_HEADER)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            let mut pending = Pending {
                event: event.body.clone(),
                function_arn: arn.clone(),
                ..Default::default()
            };
            let mut action = EventAction::Forward;
            if let Some(policies) = self.policies.get()
                && policies.wants(Phase::Request)
            {
                let input = self.input(&event.request_id, &arn, &event.body, None);
                if self.mode == Mode::Enforce {
                    let outcomes = self.judge_now(policies, Phase::Request, input);
                    if strongest(outcomes.iter().map(|o| o.decision)) == Decision::Deny {
                        pending.blocked = true;
                        action = EventAction::Block {
                            error_type: BLOCKED_ERROR_TYPE.into(),
                            body: Self::blocked_body(&outcomes, "event"),
                        };
                    }
                    pending.request.push(Evaluated::Done(outcomes));
                } else {
                    // Monitor: the event goes to the runtime now; policies run once the caller
                    // has the result.
                    pending
                        .request
                        .push(Evaluated::Deferred(Phase::Request, input));
                }
            }
            self.lock().insert(event.request_id.clone(), pending);
            // `finish` only needs waking for the first event (it then knows the runtime goes
            // through the proxy) and when a result is upstream; skipping the other wake-ups
            // keeps gavel's main thread off the CPU while the handler runs.
            if first_proxied {
                self.changed.notify_waiters();
            }
            action
        })
    }

    fn on_result(&self, result: ResultSeen) -> BoxFuture<'_, ResponseAction> {
        Box::pin(async move {
            let (event, arn) = {
                let mut table = self.lock();
                let pending = table.entry(result.request_id.clone()).or_default();
                pending.result = Some(result.body.clone());
                if let ResultKind::Error { error_type } = &result.kind {
                    pending.function_error =
                        Some(error_type.clone().unwrap_or_else(|| "Unhandled".into()));
                }
                (pending.event.clone(), pending.function_arn.clone())
            };
            let Some(policies) = self.policies.get().filter(|p| p.wants(Phase::Response)) else {
                return ResponseAction::Forward;
            };
            let mut input = self.input(&result.request_id, &arn, &event, Some(&result.body));
            input.function_error = match &result.kind {
                ResultKind::Error { error_type } => Some(error_type.clone().unwrap_or_default()),
                ResultKind::Response => None,
            };
            // Streamed and over-limit results are already upstream: judge them, never replace.
            let can_replace = self.mode == Mode::Enforce && !result.streamed && !result.truncated;
            let (evaluated, action) = if can_replace {
                let outcomes = self.judge_now(policies, Phase::Response, input);
                let action = if strongest(outcomes.iter().map(|o| o.decision)) == Decision::Deny {
                    ResponseAction::Replace {
                        error_type: BLOCKED_ERROR_TYPE.into(),
                        body: Self::blocked_body(&outcomes, "result"),
                    }
                } else {
                    ResponseAction::Forward
                };
                (Evaluated::Done(outcomes), action)
            } else {
                (
                    Evaluated::Deferred(Phase::Response, input),
                    ResponseAction::Forward,
                )
            };
            if let Some(p) = self.lock().get_mut(&result.request_id) {
                p.request.push(evaluated);
                if matches!(action, ResponseAction::Replace { .. }) {
                    p.blocked = true;
                }
            }
            action
        })
    }

    fn on_result_forwarded(&self, request_id: &str) {
        if let Some(p) = self.lock().get_mut(request_id) {
            p.done = true;
        }
        self.changed.notify_waiters();
    }
}
