//! Telemetry API: a listener that always answers 2xx at once, parses batches leniently,
//! stitches records split across POSTs, and keeps each invocation's records by request id.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// Schema gavel subscribes with.
pub const SCHEMA_VERSION: &str = "2025-01-29";
/// Telemetry API path.
pub const TELEMETRY_PATH: &str = "/2022-07-01/telemetry";
/// Most bytes kept waiting for the rest of a split batch.
const MAX_CARRY: usize = 2 << 20;
/// Most invocations remembered (older ones are dropped first).
const MAX_INVOCATIONS: usize = 256;

/// Records per request id, filled by the listener.
#[derive(Default)]
pub struct TelemetryStore {
    inner: Mutex<StoreInner>,
    arrived: Notify,
}

#[derive(Default)]
struct StoreInner {
    by_request: HashMap<String, Vec<Value>>,
    order: std::collections::VecDeque<String>,
    carry: Vec<u8>,
    batches: u64,
}

impl TelemetryStore {
    /// Take one POST body: a JSON array of records, possibly the first or a later part of a
    /// batch split across POSTs. Unknown record types are kept as they are.
    pub fn ingest(&self, body: &[u8]) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let parsed = if inner.carry.is_empty() {
            serde_json::from_slice::<Vec<Value>>(body).ok()
        } else {
            let mut joined = std::mem::take(&mut inner.carry);
            joined.extend_from_slice(body);
            match serde_json::from_slice::<Vec<Value>>(&joined) {
                Ok(records) => Some(records),
                // A complete batch on its own means the carry was garbage, not a first part.
                Err(_) => match serde_json::from_slice::<Vec<Value>>(body) {
                    Ok(records) => Some(records),
                    Err(_) => {
                        inner.carry = joined;
                        None
                    }
                },
            }
        };
        let Some(records) = parsed else {
            if inner.carry.is_empty() {
                inner.carry = body.to_vec();
            }
            if inner.carry.len() > MAX_CARRY {
                tracing::warn!(bytes = inner.carry.len(), "dropping unparsable telemetry");
                inner.carry.clear();
            }
            return;
        };
        inner.batches += 1;
        for record in records {
            let Some(id) = request_id(&record) else {
                continue;
            };
            if !inner.by_request.contains_key(&id) {
                inner.order.push_back(id.clone());
                if inner.order.len() > MAX_INVOCATIONS
                    && let Some(old) = inner.order.pop_front()
                {
                    inner.by_request.remove(&old);
                }
            }
            inner.by_request.entry(id).or_default().push(record);
        }
        drop(inner);
        self.arrived.notify_waiters();
    }

    /// Records seen so far for `request_id`.
    pub fn records(&self, request_id: &str) -> Vec<Value> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .by_request
            .get(request_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Number of batches parsed (diagnostics, tests).
    pub fn batches(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).batches
    }

    /// Wait up to `timeout` for `platform.runtimeDone` of `request_id`.
    pub async fn wait_runtime_done(&self, request_id: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            if self
                .records(request_id)
                .iter()
                .any(|r| r["type"] == "platform.runtimeDone")
            {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// Forget an invocation once its record is out.
    pub fn forget(&self, request_id: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.by_request.remove(request_id);
        inner.order.retain(|id| id != request_id);
    }
}

/// `record.requestId`: platform records carry it in `record`; function logs in JSON format
/// carry it at top level of `record` too; plain-text logs carry none.
fn request_id(record: &Value) -> Option<String> {
    let inner = &record["record"];
    inner
        .get("requestId")
        .or_else(|| inner.get("AWSrequestId"))
        .and_then(Value::as_str)
        .map(String::from)
}

/// The record's `telemetry` object: status and error of `platform.runtimeDone`, metrics of
/// `platform.report`.
pub fn summary(records: &[Value]) -> Option<Value> {
    let mut out = serde_json::Map::new();
    for r in records {
        match r["type"].as_str() {
            Some("platform.runtimeDone") => {
                out.insert("status".into(), r["record"]["status"].clone());
                if let Some(e) = r["record"].get("errorType") {
                    out.insert("errorType".into(), e.clone());
                }
                if let Some(d) = r["record"]["metrics"].get("durationMs") {
                    out.insert("runtimeDurationMs".into(), d.clone());
                }
            }
            Some("platform.report") => {
                out.insert("report".into(), r["record"]["metrics"].clone());
            }
            _ => {}
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

/// Serve the Telemetry API destination on `addr`; returns the bound address.
pub async fn listen(addr: SocketAddr, store: Arc<TelemetryStore>) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let store = store.clone();
                    async move {
                        // Answer whatever happens: a slow or failing listener makes Lambda
                        // drop and retry batches.
                        if let Ok(body) = req.into_body().collect().await {
                            store.ingest(&body.to_bytes());
                        }
                        Ok::<_, std::convert::Infallible>(
                            Response::builder()
                                .status(StatusCode::OK)
                                .body(Full::new(Bytes::new()))
                                .unwrap_or_default(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    Ok(local)
}

/// The subscription request body.
pub fn subscription(host: &str, port: u16) -> Value {
    json!({
        "schemaVersion": SCHEMA_VERSION,
        "types": ["platform", "function"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
        "destination": {"protocol": "HTTP", "URI": format!("http://{host}:{port}")},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: &str) -> String {
        json!([
            {"time": "2026-11-29T20:00:00Z", "type": "platform.start", "record": {"requestId": id}},
            {"time": "2026-11-29T20:00:00Z", "type": "platform.runtimeDone",
             "record": {"requestId": id, "status": "success", "metrics": {"durationMs": 3.2}}},
            {"time": "2026-11-29T20:00:00Z", "type": "function", "record": "plain text log"},
            {"time": "2026-11-29T20:00:00Z", "type": "platform.somethingNew", "record": {"requestId": id}},
        ])
        .to_string()
    }

    #[test]
    fn parses_and_correlates_by_request_id() {
        let store = TelemetryStore::default();
        store.ingest(batch("r1").as_bytes());
        assert_eq!(
            store.records("r1").len(),
            3,
            "the plain-text log has no request id"
        );
        let s = summary(&store.records("r1")).unwrap();
        assert_eq!(s["status"], "success");
        assert_eq!(s["runtimeDurationMs"], 3.2);
    }

    #[test]
    fn stitches_split_batches_and_survives_garbage() {
        let store = TelemetryStore::default();
        let text = batch("r2");
        let (a, b) = text.split_at(text.len() / 2);
        store.ingest(a.as_bytes());
        assert!(store.records("r2").is_empty());
        store.ingest(b.as_bytes());
        assert_eq!(store.records("r2").len(), 3);
        store.ingest(b"\xff\xfe not json");
        store.ingest(batch("r3").as_bytes());
        assert_eq!(
            store.records("r3").len(),
            3,
            "a whole batch after garbage is kept"
        );
        store.ingest(&vec![b'['; MAX_CARRY + 1]);
        store.ingest(batch("r4").as_bytes());
        assert_eq!(store.records("r4").len(), 3);
        store.ingest(batch("r4").as_bytes());
        assert_eq!(
            store.records("r4").len(),
            6,
            "duplicates are kept as delivered"
        );
    }
}
