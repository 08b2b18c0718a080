//! Delivery: route a finished record to the destinations of its decision, within a budget,
//! after the function's result is forwarded and before the extension asks for the next event.

use std::sync::Arc;
use std::time::Duration;

use crate::config::Routes;
use crate::destinations::{self, Destination, DestinationSpec};
use crate::engine::Decision;

/// Open destinations per decision.
pub struct Delivery {
    deny: Vec<Arc<dyn Destination>>,
    alert: Vec<Arc<dyn Destination>>,
    allow: Vec<Arc<dyn Destination>>,
    budget: Duration,
}

/// One delivery attempt's result, for logs and the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Destinations that accepted the record.
    pub ok: Vec<String>,
    /// Destinations that failed, with why.
    pub failed: Vec<String>,
}

impl Delivery {
    /// Open every configured destination; an unusable one is a configuration error naming it.
    pub fn open(routes: &Routes, budget: Duration) -> Result<Self, String> {
        let open_all =
            |var: &str, specs: &[DestinationSpec]| -> Result<Vec<Arc<dyn Destination>>, String> {
                specs
                    .iter()
                    .map(|s| {
                        destinations::open(s)
                            .map(Arc::from)
                            .map_err(|e| format!("{var}: {e}"))
                    })
                    .collect()
            };
        Ok(Self {
            deny: open_all("GAVEL_DESTINATION_ON_DENY", &routes.deny)?,
            alert: open_all("GAVEL_DESTINATION_ON_ALERT", &routes.alert)?,
            allow: open_all("GAVEL_DESTINATION_ON_ALLOW", &routes.allow)?,
            budget,
        })
    }

    fn route(&self, decision: Decision) -> &[Arc<dyn Destination>] {
        match decision {
            Decision::Deny => &self.deny,
            Decision::Alert => &self.alert,
            Decision::Allow => &self.allow,
        }
    }

    /// Deliver `record` (one JSON object) to the destinations of `decision`. A destination that
    /// fails or runs past the budget gets the record written to stdout instead, so a record is
    /// never silently dropped.
    pub async fn deliver(&self, decision: Decision, record: String) -> Delivered {
        let mut delivered = Delivered {
            ok: vec![],
            failed: vec![],
        };
        for dest in self.route(decision) {
            let dest = dest.clone();
            let batch = vec![record.clone()];
            let label = dest.label();
            let attempt = tokio::task::spawn_blocking(move || dest.deliver(&batch));
            match tokio::time::timeout(self.budget, attempt).await {
                Ok(Ok(Ok(()))) => delivered.ok.push(label),
                Ok(Ok(Err(e))) => delivered.failed.push(e.to_string()),
                Ok(Err(join)) => delivered.failed.push(format!("{label}: {join}")),
                Err(_) => delivered.failed.push(format!(
                    "{label}: over the {:?} delivery budget",
                    self.budget
                )),
            }
        }
        if !delivered.failed.is_empty() {
            tracing::error!(failed = ?delivered.failed, "delivery failed; writing the record to the log stream");
            println!("{{\"gavelUndelivered\":{record}}}");
        }
        delivered
    }
}
