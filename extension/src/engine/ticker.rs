//! The epoch clock behind policy deadlines, ticking only while a store is alive.
//!
//! A clock that ticked for ever would wake the sandbox every [`TICK`] even while no policy
//! runs, stealing CPU and context switches from the function it guards (on a small Lambda
//! that is a real share of the vCPU). So the ticker thread parks until some store holds a
//! [`Busy`] guard, ticks while any does, and parks again. Deadlines count ticks that happen
//! while evaluations run, which is all they need.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::TICK;

/// While parked, how often the thread checks whether its engine is gone.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Shared between the engine and its ticker thread.
#[derive(Default)]
pub(super) struct Ticker {
    /// Number of live [`Busy`] guards.
    active: Mutex<usize>,
    wake: Condvar,
    /// Ticks so far (what the tests observe).
    ticks: AtomicU64,
}

/// Keeps the clock ticking while alive; stores own one.
pub(super) struct Busy(Arc<Ticker>);

impl Ticker {
    fn active(&self) -> MutexGuard<'_, usize> {
        // A counter cannot be left half-updated by a panic.
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts the clock (if it was parked) until the guard drops.
    pub(super) fn busy(self: &Arc<Self>) -> Busy {
        let mut n = self.active();
        *n += 1;
        if *n == 1 {
            self.wake.notify_one();
        }
        Busy(self.clone())
    }

    /// Starts the ticker thread for `engine`; it ends once the engine is dropped.
    pub(super) fn start(engine: &wasmtime::Engine) -> Arc<Ticker> {
        let ticker = Arc::new(Ticker::default());
        let shared = ticker.clone();
        let weak = engine.weak();
        let spawned = std::thread::Builder::new()
            .name("gavel-epoch".into())
            .spawn(move || {
                loop {
                    let mut n = shared.active();
                    while *n == 0 {
                        if weak.upgrade().is_none() {
                            return;
                        }
                        n = shared
                            .wake
                            .wait_timeout(n, IDLE_CHECK)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0;
                    }
                    drop(n);
                    std::thread::sleep(TICK);
                    match weak.upgrade() {
                        Some(engine) => {
                            engine.increment_epoch();
                            shared.ticks.fetch_add(1, Ordering::Relaxed);
                        }
                        None => return,
                    }
                }
            });
        if let Err(err) = spawned {
            // Without a ticker no deadline fires; that is a broken sandbox, but not a reason
            // to crash a customer's function. Make it loud.
            tracing::error!(error = %err, "cannot start the epoch ticker: policy deadlines are not enforced");
        }
        ticker
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.active() -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticks(t: &Ticker) -> u64 {
        t.ticks.load(Ordering::Relaxed)
    }

    #[test]
    fn ticks_only_while_a_store_is_busy() {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let engine = wasmtime::Engine::new(&config).unwrap();
        let ticker = Ticker::start(&engine);

        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(ticks(&ticker), 0, "ticked with no store alive");

        let busy = ticker.busy();
        let second = ticker.busy();
        std::thread::sleep(Duration::from_millis(60));
        drop(busy);
        let while_one_left = ticks(&ticker);
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            ticks(&ticker) > while_one_left,
            "stopped while a store was still alive"
        );
        drop(second);

        // At most the tick already under way lands after the last guard is gone.
        std::thread::sleep(Duration::from_millis(100));
        let parked = ticks(&ticker);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(ticks(&ticker), parked, "kept ticking after the last store");
    }
}
