//! The extension: init (configuration, proxy, registration, policies, telemetry), then one
//! loop turn per invocation (judge, record, deliver) until SHUTDOWN.

mod delivery;
mod invocations;
mod lifecycle;

pub use delivery::Delivery;
pub use invocations::Invocations;

/// Run as the Lambda extension; returns the process exit code.
pub fn main() -> i32 {
    // One async worker: the async side only moves bytes (telemetry, delivery I/O); policy
    // evaluation off the client's path runs on two threads of its own (`invocations.rs`), SDK
    // calls on the blocking pool, and the Runtime API proxy has a thread and runtime of its own
    // (`Proxy::bind`), where enforce mode judges. A second worker made the proxy slower, not faster: on 2 vCPUs the hand-offs
    // between workers cost more than they save (a one-off A/B with `gavel-bench --quick
    // --n 600` on a debug build, two runs each: proxy alone p50 added 394-414 µs with one
    // worker, 468-484 µs with two).
    // A current-thread runtime cut gavel's wake-ups from 26 to 19 per invocation
    // (`gavel-bench --overhead-only`), but no latency change showed through the noise
    // (n = 1000, two runs each), and the full suite once saw the extension's RSS step by 6 MB
    // with it; not kept without a measured gain.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gavel: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(lifecycle::run()) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("gavel: {e:#}");
            1
        }
    }
}
