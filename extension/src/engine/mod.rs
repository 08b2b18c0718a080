//! The policy engine: compiles policy components once, then evaluates each invocation in a
//! fresh, capped sandbox.
//!
//! ```no_run
//! use gavel::engine::{Decision, EngineBuilder, Evaluation, InvocationInput, Phase, PolicySource};
//! # fn main() -> Result<(), gavel::engine::EngineError> {
//! let engine = EngineBuilder::new().timeout_ms(50).memory_mb(64).build()?;
//! let source = PolicySource::from_file("target/policies/malicious-content.wasm".as_ref(), None)?;
//! let policy = engine.load(source, "{}")?;
//! let input = InvocationInput { event: br#"{"body":"hi"}"#.to_vec(), ..InvocationInput::default() };
//! // One Evaluation per phase, lent to every policy; a faulting policy counts as `alert` here.
//! let mut evaluation = Evaluation::new(input, Phase::Request);
//! let outcome = engine.evaluate(&policy, &mut evaluation, Decision::Alert);
//! println!("{:?} {:?}", outcome.decision, outcome.error);
//! # Ok(()) }
//! ```
//!
//! # Sandboxing
//! * **No capabilities.** The linker is empty: a policy that imports anything (WASI filesystem,
//!   sockets, clocks, unknown functions) is refused at load with the import's name.
//! * **Deadline.** Epoch interruption: a ticker thread bumps the engine's epoch every
//!   [`TICK`] while any store is alive (it parks otherwise, see `ticker`); each store traps
//!   once its deadline in ticks has passed. Cheaper than fuel (no instrumentation of every
//!   loop) at the price of up to one tick of slack.
//! * **Memory cap.** A [`wasmtime::ResourceLimiter`] refuses growth past the cap and turns the
//!   refusal into an error naming the cap, instead of letting the guest see a failed `grow`.
//! * **Fresh store per evaluation.** Instantiation from an `InstancePre` with the pooling
//!   allocator costs microseconds, and after any trap the store is simply dropped.

mod eval;
mod load;
mod ticker;

use std::sync::Arc;
use std::time::Duration;

use ticker::Ticker;
use wasmtime::{Config, Enabled, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use eval::{
    Evaluation, InvocationInput, MAX_ACTIONS, MAX_FIELD_BYTES, MAX_FINDINGS, Outcome,
    OutcomeFinding, check_output,
};
pub use load::{LoadedPolicy, PolicySource, sha256_file, sha256_hex};

/// Bindings generated from `policies/wit/policy.wit`, the one policy contract (compiled in
/// `gavel-policy-call`, with the calls into a policy).
pub use gavel_policy_call::bindings;

pub use bindings::exports::gavel::policy::types::{Decision, Phase, Severity};

/// How often the epoch ticker advances; deadlines are rounded up to whole ticks.
pub const TICK: Duration = Duration::from_millis(1);

/// Default per-evaluation deadline (`GAVEL_POLICY_TIMEOUT_MS`).
pub const DEFAULT_TIMEOUT_MS: u64 = 50;
/// Default per-evaluation memory cap (`GAVEL_POLICY_MEMORY_MB`).
pub const DEFAULT_MEMORY_MB: u64 = 64;
/// Pool slots: concurrent evaluations the pooling allocator serves before falling back to
/// on-demand instantiation. Each slot reserves virtual address space, so keep it small.
pub const DEFAULT_POOL_SLOTS: u32 = 16;
/// Most bytes of a spent slot's written pages reset in place rather than released (when the
/// kernel has PAGEMAP_SCAN): covers a policy's working set on events up to about 64 KB.
const KEEP_RESIDENT: usize = 1 << 20;
/// Bytes of each spent table reset with `memset` rather than `madvise` (the shipped policies'
/// tables are 4 KiB): one syscall and about two page faults less per evaluation.
const TABLE_KEEP_RESIDENT: usize = 64 << 10;

/// Errors of loading and configuring policies. Messages name the policy and its sha256.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The wasmtime engine could not be created.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
    /// A knob was given a value the engine cannot honour.
    #[error("invalid engine setting: {0}")]
    Setting(String),
    /// The policy file could not be read.
    #[error("cannot read policy file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes do not match the pinned or manifest digest.
    #[error("policy {policy}: sha256 mismatch: expected {expected}, file has {actual}")]
    DigestMismatch {
        /// Policy name or path.
        policy: String,
        /// The pinned digest.
        expected: String,
        /// The digest of the bytes.
        actual: String,
    },
    /// The bytes are not a valid policy component.
    #[error("policy {policy} (sha256 {sha256}): not a valid gavel policy component: {reason}")]
    Invalid {
        /// Policy name or path.
        policy: String,
        /// Digest of the bytes.
        sha256: String,
        /// Why.
        reason: String,
    },
    /// The component imports something the host does not grant.
    #[error(
        "policy {policy} (sha256 {sha256}) imports `{import}`, which gavel does not grant \
         (policies get no WASI, filesystem, network, environment or clock)"
    )]
    ForbiddenImport {
        /// Policy name or path.
        policy: String,
        /// Digest of the bytes.
        sha256: String,
        /// The import's name.
        import: String,
    },
    /// The policy rejected its settings.
    #[error("policy {policy} (sha256 {sha256}) rejected its settings: {reason}")]
    Settings {
        /// Policy name.
        policy: String,
        /// Digest of the bytes.
        sha256: String,
        /// The policy's message.
        reason: String,
    },
}

/// Builds an [`Engine`]; every knob has the default of the contract.
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    timeout_ms: u64,
    memory_mb: u64,
    pool_slots: u32,
    pooling: bool,
    portable: bool,
    perf_map: bool,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self {
            timeout_ms: DEFAULT_TIMEOUT_MS,
            memory_mb: DEFAULT_MEMORY_MB,
            pool_slots: DEFAULT_POOL_SLOTS,
            pooling: true,
            portable: false,
            perf_map: false,
        }
    }
}

/// CPU features every Lambda host of the architecture has (x86_64: Haswell or newer; arm64:
/// Graviton2 or newer). Precompiled policies assume these instead of the build machine's CPU,
/// so a `.cwasm` is the same wherever it is built; wasmtime re-checks them when loading.
const PORTABLE_CPU_FEATURES: &[&str] = if cfg!(target_arch = "x86_64") {
    &[
        "has_sse3",
        "has_ssse3",
        "has_sse41",
        "has_sse42",
        "has_popcnt",
        "has_avx",
        "has_avx2",
        "has_bmi1",
        "has_bmi2",
        "has_lzcnt",
        "has_fma",
    ]
} else if cfg!(target_arch = "aarch64") {
    &["has_lse"]
} else {
    &[]
};

/// This binary's own target triple, as wasmtime names the host.
fn host_triple() -> String {
    let env = if cfg!(target_env = "musl") {
        "musl"
    } else {
        "gnu"
    };
    format!(
        "{}-unknown-{}-{env}",
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

impl EngineBuilder {
    /// A builder with the contract's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Per-evaluation deadline. The evaluation traps at most one [`TICK`] after it.
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// Per-evaluation linear-memory cap, in MiB.
    pub fn memory_mb(mut self, mb: u64) -> Self {
        self.memory_mb = mb;
        self
    }

    /// Pooling allocator slots (0 disables pooling: on-demand instantiation only).
    pub fn pool_slots(mut self, slots: u32) -> Self {
        self.pool_slots = slots;
        self.pooling = slots > 0;
        self
    }

    /// Compile for a baseline CPU of this architecture instead of the machine's own
    /// ([`PORTABLE_CPU_FEATURES`]): for `.cwasm` files built on one machine and run on another.
    pub fn portable(mut self, portable: bool) -> Self {
        self.portable = portable;
        self
    }

    /// Write `/tmp/perf-<pid>.map` as policies are compiled, so that `perf record` names the
    /// policy's own functions (build the policy unstripped to get names rather than indices).
    pub fn perf_map(mut self, perf_map: bool) -> Self {
        self.perf_map = perf_map;
        self
    }

    /// Create the engine and start its epoch ticker.
    pub fn build(self) -> Result<Engine, EngineError> {
        if self.timeout_ms == 0 {
            return Err(EngineError::Setting("timeout must be at least 1 ms".into()));
        }
        if self.memory_mb == 0 || self.memory_mb > 4096 {
            return Err(EngineError::Setting(format!(
                "memory cap must be 1..=4096 MiB, got {}",
                self.memory_mb
            )));
        }
        let memory_bytes = self.memory_mb << 20;
        let engine = if self.pooling {
            // Pooling reserves address space per slot up front; where that fails (tight
            // ulimit -v) fall back to on-demand rather than refusing to start.
            match wasmtime::Engine::new(&self.config(Some(memory_bytes))?) {
                Ok(engine) => engine,
                Err(err) => {
                    tracing::warn!(error = %format!("{err:#}"), "pooling allocator unavailable; using on-demand instantiation");
                    wasmtime::Engine::new(&self.config(None)?)
                        .map_err(|e| EngineError::Engine(format!("{e:#}")))?
                }
            }
        } else {
            wasmtime::Engine::new(&self.config(None)?)
                .map_err(|e| EngineError::Engine(format!("{e:#}")))?
        };
        let ticker = Ticker::start(&engine);
        Ok(Engine {
            inner: Arc::new(EngineInner {
                wasmtime: engine,
                ticker,
                deadline_ticks: self.timeout_ms.div_ceil(TICK.as_millis() as u64),
                timeout_ms: self.timeout_ms,
                memory_bytes: memory_bytes as usize,
            }),
        })
    }

    fn config(&self, pool_memory: Option<u64>) -> Result<Config, EngineError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        if self.perf_map {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        if self.portable {
            // An explicit target turns off wasmtime's inference of the build machine's CPU.
            config
                .target(&host_triple())
                .map_err(|e| EngineError::Engine(format!("{e:#}")))?;
            for feature in PORTABLE_CPU_FEATURES {
                // SAFETY: only CPU-feature flags; wasmtime checks that the loading host has
                // every enabled feature before it runs code compiled with them.
                unsafe {
                    config.cranelift_flag_enable(feature);
                }
            }
        }
        if let Some(memory) = pool_memory {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(self.pool_slots)
                .total_core_instances(self.pool_slots * 2)
                .total_memories(self.pool_slots)
                .total_tables(self.pool_slots * 2)
                .max_memory_size(memory as usize)
                .table_keep_resident(TABLE_KEEP_RESIDENT);
            // Reset a spent slot by rewriting only the pages the policy wrote, found with
            // Linux's PAGEMAP_SCAN (6.7+), up to KEEP_RESIDENT of them: no `madvise`, no TLB
            // shootdown, and the next evaluation finds its pages mapped instead of faulting them
            // in again. Without PAGEMAP_SCAN, `keep_resident` would `memset` the slot's first
            // KEEP_RESIDENT bytes on every reset and keep them all resident (session 4 measured
            // +7.5 MB RSS at init with 2 MiB), so older kernels keep the plain `madvise` reset.
            if PoolingAllocationConfig::is_pagemap_scan_available() {
                pool.pagemap_scan(Enabled::Yes)
                    .linear_memory_keep_resident(KEEP_RESIDENT);
            }
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        Ok(config)
    }
}

/// A compiled, sandboxed policy runtime. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    wasmtime: wasmtime::Engine,
    ticker: Arc<Ticker>,
    deadline_ticks: u64,
    timeout_ms: u64,
    memory_bytes: usize,
}

impl Engine {
    /// The configured deadline, in milliseconds.
    pub fn timeout_ms(&self) -> u64 {
        self.inner.timeout_ms
    }

    /// Compile a policy component ahead of time for this engine (a `.cwasm`). Only this same
    /// gavel build may load the result: see [`build_id`].
    pub fn precompile(&self, component: &[u8]) -> Result<Vec<u8>, EngineError> {
        self.inner
            .wasmtime
            .precompile_component(component)
            .map_err(|e| EngineError::Engine(format!("precompiling failed: {e:#}")))
    }
}

/// Identifies this gavel build: version, the commit `make layer` built (`GAVEL_BUILD_COMMIT` at
/// compile time, else `local`) and the target. A `.cwasm` is machine code that wasmtime
/// deserialises without verifying it, so it is only loaded when it names this exact id.
pub fn build_id() -> String {
    format!(
        "gavel-{}+{}-{}-{}",
        env!("CARGO_PKG_VERSION"),
        option_env!("GAVEL_BUILD_COMMIT").unwrap_or("local"),
        std::env::consts::ARCH,
        std::env::consts::OS,
    )
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("timeout_ms", &self.inner.timeout_ms)
            .field("memory_bytes", &self.inner.memory_bytes)
            .finish()
    }
}
