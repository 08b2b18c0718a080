//! Delivery: route a finished record to the destinations of its decision, after the function's
//! result is forwarded and before the extension asks for the next event. Batched per
//! destination, retried with backoff and jitter inside a time budget, the rest spooled to `/tmp`
//! and retried at the next invocation; on SHUTDOWN a bounded final flush, and whatever is still
//! owed goes to the log stream as `{"gavelUndelivered": …, "destination": …}` — never dropped.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::Routes;
use crate::destinations::{
    self, AwsContext, AwsDestination, DeliveryOptions, Destination, DestinationSpec, Spool, Spooled,
};
use crate::engine::Decision;

/// First retry delay; doubles per round up to [`MAX_BACKOFF`], with full jitter.
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_millis(400);
/// Spooled records sent per flush at most (bounds memory and time of one flush).
const FLUSH_BATCH: usize = 1000;
/// Of the SHUTDOWN deadline, kept for writing what is still owed to the log stream.
const DUMP_RESERVE: Duration = Duration::from_millis(250);

enum Sink {
    Local(Arc<dyn Destination>),
    Aws(Box<AwsDestination>),
}

/// A destination and whether its last round failed entirely (then the next call probes it
/// once instead of retrying for the whole budget: an outage must not cost every invocation
/// its full budget).
struct Target {
    label: String,
    sink: Sink,
    down: AtomicBool,
}

/// One record owed to one destination.
#[derive(Clone)]
struct Item {
    target: usize,
    record: Arc<str>,
    spooled: Option<PathBuf>,
}

/// Open destinations per decision, and the spool.
pub struct Delivery {
    targets: Vec<Arc<Target>>,
    deny: Vec<usize>,
    alert: Vec<usize>,
    allow: Vec<usize>,
    budget: Duration,
    spool: Spool,
    flushing: tokio::sync::Mutex<()>,
    seed: AtomicU64,
}

/// One delivery's result, for logs, tests and the demo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Destinations that accepted the record.
    pub ok: Vec<String>,
    /// Destinations that did not, within the budget: the record is spooled for them.
    pub spooled: Vec<String>,
    /// Destinations that did not and the spool could not keep it: the record went to the log
    /// stream as `gavelUndelivered`, with why.
    pub failed: Vec<String>,
}

impl Delivery {
    /// Open every configured destination; an unusable one is a configuration error naming it.
    pub fn open(routes: &Routes, budget: Duration) -> Result<Self, String> {
        Self::open_with(routes, DeliveryOptions::new(budget))
    }

    /// [`Self::open`] with explicit options (spool place, AWS configuration).
    pub fn open_with(routes: &Routes, options: DeliveryOptions) -> Result<Self, String> {
        let context = Arc::new(match options.aws {
            Some(config) => AwsContext::with_config(config),
            None => AwsContext::standard(),
        });
        let mut targets: Vec<Arc<Target>> = vec![];
        let mut index = |var: &str, specs: &[DestinationSpec]| -> Result<Vec<usize>, String> {
            let mut out = vec![];
            for spec in specs {
                let label = spec.label();
                // A destination named under several decisions is one target (one client, one
                // queue URL, one outage state).
                if let Some(i) = targets.iter().position(|t| t.label == label) {
                    out.push(i);
                    continue;
                }
                let sink = match AwsDestination::new(spec, context.clone()) {
                    Some(aws) => Sink::Aws(Box::new(aws)),
                    None => Sink::Local(
                        destinations::open(spec)
                            .map(Arc::from)
                            .map_err(|e| format!("{var}: {e}"))?,
                    ),
                };
                targets.push(Arc::new(Target {
                    label,
                    sink,
                    down: AtomicBool::new(false),
                }));
                out.push(targets.len() - 1);
            }
            Ok(out)
        };
        let deny = index("GAVEL_DESTINATION_ON_DENY", &routes.deny)?;
        let alert = index("GAVEL_DESTINATION_ON_ALERT", &routes.alert)?;
        let allow = index("GAVEL_DESTINATION_ON_ALLOW", &routes.allow)?;
        Ok(Self {
            targets,
            deny,
            alert,
            allow,
            budget: options.budget,
            spool: Spool::new(options.spool_dir, options.spool_max_bytes),
            flushing: tokio::sync::Mutex::new(()),
            seed: AtomicU64::new(u64::from(std::process::id()) | 1),
        })
    }

    fn route(&self, decision: Decision) -> &[usize] {
        match decision {
            Decision::Deny => &self.deny,
            Decision::Alert => &self.alert,
            Decision::Allow => &self.allow,
        }
    }

    /// Time one `deliver` may take.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// Records waiting in the spool.
    pub fn spooled(&self) -> usize {
        self.spool.len()
    }

    /// Deliver `record` (one JSON object) to the destinations of `decision` within the budget;
    /// what is not accepted in time is spooled (or, if the spool cannot keep it, written to the
    /// log stream).
    pub async fn deliver(&self, decision: Decision, record: String) -> Delivered {
        self.deliver_until(decision, record, Instant::now() + self.budget)
            .await
    }

    /// [`Self::deliver`] with an explicit deadline (the SHUTDOWN drain uses its own).
    pub async fn deliver_until(
        &self,
        decision: Decision,
        record: String,
        deadline: Instant,
    ) -> Delivered {
        let record: Arc<str> = Arc::from(record);
        let items: Vec<Item> = self
            .route(decision)
            .iter()
            .map(|&target| Item {
                target,
                record: record.clone(),
                spooled: None,
            })
            .collect();
        let (sent, failed) = self.send(items, deadline).await;
        let mut delivered = Delivered {
            ok: sent
                .iter()
                .map(|i| self.targets[i.target].label.clone())
                .collect(),
            ..Delivered::default()
        };
        for (item, why) in failed {
            let label = self.targets[item.target].label.clone();
            let spooled = Spooled {
                destination: label.clone(),
                record: item.record.to_string(),
            };
            match self.spool.put(&spooled) {
                Ok(_) => {
                    tracing::warn!(destination = %label, "not delivered within the budget ({why}); spooled");
                    delivered.spooled.push(label);
                }
                Err(e) => {
                    tracing::error!(destination = %label, "not delivered ({why}) and not spooled ({e}); writing the record to the log stream");
                    undelivered(&item.record, &label);
                    delivered.failed.push(format!("{label}: {why}; {e}"));
                }
            }
        }
        delivered
    }

    /// Retry spooled records until `deadline`; returns how many were delivered. Delivered
    /// records leave the spool; the rest stay for the next flush.
    pub async fn flush(&self, deadline: Instant) -> usize {
        let _one_at_a_time = self.flushing.lock().await;
        let mut items = vec![];
        for (path, spooled) in self.spool.list_oldest(FLUSH_BATCH) {
            match self
                .targets
                .iter()
                .position(|t| t.label == spooled.destination)
            {
                Some(target) => items.push(Item {
                    target,
                    record: Arc::from(spooled.record),
                    spooled: Some(path),
                }),
                // Spooled under another configuration of this sandbox: nobody to send it to.
                None => {
                    undelivered(&spooled.record, &spooled.destination);
                    self.spool.remove(&path);
                }
            }
        }
        if items.is_empty() {
            return 0;
        }
        let (sent, failed) = self.send(items, deadline).await;
        for item in &sent {
            if let Some(path) = &item.spooled {
                self.spool.remove(path);
            }
        }
        if !failed.is_empty() {
            tracing::warn!(
                delivered = sent.len(),
                waiting = failed.len(),
                "spool flush incomplete"
            );
        }
        sent.len()
    }

    /// SHUTDOWN: flush the spool until shortly before `deadline`, then write every record still
    /// owed to the log stream (and clear the spool: the sandbox is going away).
    pub async fn final_flush(&self, deadline: Instant) {
        let send_until = deadline.checked_sub(DUMP_RESERVE).unwrap_or(deadline);
        while Instant::now() < send_until && !self.spool.is_empty() {
            if self.flush(send_until).await == 0 {
                break;
            }
        }
        for (path, spooled) in self.spool.list_oldest(usize::MAX) {
            undelivered(&spooled.record, &spooled.destination);
            self.spool.remove(&path);
        }
    }

    /// Send `items` until they are all accepted or `deadline`: one round per destination in
    /// parallel, failed entries retried after a jittered backoff. Returns (accepted, failed
    /// with the last error).
    async fn send(&self, items: Vec<Item>, deadline: Instant) -> (Vec<Item>, Vec<(Item, String)>) {
        // Destinations already down when this call started get one probe, no retries.
        let probe_only: Vec<bool> = self
            .targets
            .iter()
            .map(|t| t.down.load(Ordering::Relaxed))
            .collect();
        let (mut sent, mut given_up) = (vec![], vec![]);
        let mut pending = items;
        let mut backoff = FIRST_BACKOFF;
        loop {
            let (ok, failed) = self.round(std::mem::take(&mut pending), deadline).await;
            sent.extend(ok);
            let (retry, stop): (Vec<_>, Vec<_>) =
                failed.into_iter().partition(|(i, _)| !probe_only[i.target]);
            given_up.extend(stop);
            if retry.is_empty() {
                break;
            }
            let pause = self.jitter(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
            if Instant::now() + pause >= deadline {
                given_up.extend(retry);
                break;
            }
            tokio::time::sleep(pause).await;
            pending = retry.into_iter().map(|(i, _)| i).collect();
        }
        (sent, given_up)
    }

    /// One attempt per item, destinations in parallel, each destination's items in order.
    async fn round(&self, items: Vec<Item>, deadline: Instant) -> (Vec<Item>, Vec<(Item, String)>) {
        let mut groups: Vec<(usize, Vec<Item>)> = vec![];
        for item in items {
            match groups.iter_mut().find(|(t, _)| *t == item.target) {
                Some((_, group)) => group.push(item),
                None => groups.push((item.target, vec![item])),
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (target, group) in groups {
            let target = self.targets[target].clone();
            tasks.spawn(async move {
                let results = send_to(&target, &group, deadline).await;
                let any_ok = results.iter().any(Option::is_none);
                let any_failed = results.iter().any(Option::is_some);
                target.down.store(any_failed && !any_ok, Ordering::Relaxed);
                group.into_iter().zip(results).collect::<Vec<_>>()
            });
        }
        let (mut ok, mut failed) = (vec![], vec![]);
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(results) => {
                    for (item, error) in results {
                        match error {
                            None => ok.push(item),
                            Some(why) => failed.push((item, why)),
                        }
                    }
                }
                // A panicking destination loses nothing: its items are not marked sent, but
                // they are gone with the task, so this is logged loudly.
                Err(e) => tracing::error!("delivery task failed: {e}"),
            }
        }
        (ok, failed)
    }

    /// Full jitter: uniform in [0, ceiling).
    fn jitter(&self, ceiling: Duration) -> Duration {
        // xorshift64: no need for a cryptographic generator to spread retries.
        let mut x = self.seed.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed.store(x, Ordering::Relaxed);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX).max(1);
        Duration::from_nanos(x % nanos)
    }
}

/// Send one destination's items in order; `None` per accepted item, `Some(why)` per failed.
async fn send_to(target: &Target, items: &[Item], deadline: Instant) -> Vec<Option<String>> {
    match &target.sink {
        Sink::Local(dest) => {
            let dest = dest.clone();
            let records: Vec<String> = items.iter().map(|i| i.record.to_string()).collect();
            let call = tokio::task::spawn_blocking(move || dest.deliver(&records));
            let outcome = match tokio::time::timeout_at(deadline, call).await {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(e))) => Some(e.to_string()),
                Ok(Err(join)) => Some(join.to_string()),
                Err(_) => Some("over the delivery budget".to_string()),
            };
            vec![outcome; items.len()]
        }
        Sink::Aws(aws) => {
            let records: Vec<Arc<str>> = items.iter().map(|i| i.record.clone()).collect();
            let mut results =
                vec![Some("not attempted: an earlier call failed".to_string()); items.len()];
            for range in aws.plan(&records) {
                match tokio::time::timeout_at(deadline, aws.send(&records[range.clone()])).await {
                    Ok(per_entry) => {
                        // A whole-call failure (connection refused, throttled, no such queue)
                        // will fail the next calls too: stop here, keep the order.
                        let call_failed = per_entry
                            .iter()
                            .all(|r| matches!(r, Err(destinations::AwsError::Call { .. })));
                        for (slot, r) in results[range].iter_mut().zip(per_entry) {
                            *slot = r.err().map(|e| e.to_string());
                        }
                        if call_failed {
                            break;
                        }
                    }
                    Err(_) => {
                        for slot in &mut results[range] {
                            *slot = Some(format!("{}: over the delivery budget", aws.label()));
                        }
                        break;
                    }
                }
            }
            results
        }
    }
}

/// The last resort: the record on the function's log stream, with the destination it was for.
fn undelivered(record: &str, destination: &str) {
    let destination = serde_json::Value::from(destination);
    // A record is a JSON object; anything else is quoted so the line stays one JSON object.
    let line = if serde_json::from_str::<serde::de::IgnoredAny>(record).is_ok() {
        format!("{{\"gavelUndelivered\":{record},\"destination\":{destination}}}")
    } else {
        let quoted = serde_json::Value::from(record);
        format!("{{\"gavelUndelivered\":{quoted},\"destination\":{destination}}}")
    };
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
        tracing::error!("writing an undelivered record to stdout: {e}");
    }
}
