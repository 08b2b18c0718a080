//! The extension: init (configuration, proxy, registration, policies, telemetry), then one
//! loop turn per invocation (judge, record, deliver) until SHUTDOWN.

mod delivery;
mod invocations;
mod lifecycle;

pub use delivery::Delivery;
pub use invocations::Invocations;

/// Run as the Lambda extension; returns the process exit code.
pub fn main() -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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
