//! The extension: init (configuration, proxy, registration, policies, telemetry), then one
//! loop turn per invocation (judge, record, deliver) until SHUTDOWN.

mod delivery;
mod invocations;
mod lifecycle;

pub use delivery::Delivery;
pub use invocations::Invocations;

/// Run as the Lambda extension; returns the process exit code.
pub fn main() -> i32 {
    // One thread for the async side: it only moves bytes (the Extensions API, telemetry,
    // delivery I/O); policy evaluation and local sinks run on the blocking pool, and the Runtime
    // API proxy has a thread and runtime of its own (`Proxy::bind`). A current-thread runtime
    // wakes one thread per INVOKE; a multi-thread runtime with one worker woke two (the worker
    // driving I/O, then the `block_on` thread running the loop), on 2 vCPUs shared with the
    // function at the moment its event arrives.
    let runtime = match tokio::runtime::Builder::new_current_thread()
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
