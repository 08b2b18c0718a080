//! Telemetry API batches: arbitrary POST bodies through `TelemetryStore::ingest` (lenient
//! parsing, stitching of batches split across POSTs, the carry bound, correlation by request
//! id), then `records`, `summary` and `forget` for every request id the bodies mention.
//!
//! Input: the POST bodies, separated by NUL bytes (JSON text never contains a raw NUL, so a
//! seed that is one batch is one POST, and the fuzzer splits it by inserting NULs).
#![no_main]

use gavel::telemetry::{TelemetryStore, summary};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let store = TelemetryStore::default();
    let mut ids = Vec::new();
    let mut batches = 0;
    for body in data.split(|&b| b == 0) {
        store.ingest(body);
        // Every request id a body (or the bodies so far, joined) could carry.
        if let Ok(Value::Array(records)) = serde_json::from_slice::<Value>(body) {
            for r in &records {
                for key in ["requestId", "AWSrequestId"] {
                    if let Some(id) = r["record"].get(key).and_then(Value::as_str) {
                        ids.push(id.to_string());
                    }
                }
            }
        }
        // A batch is counted at most once per POST.
        let now = store.batches();
        assert!(
            now <= batches + 1,
            "one POST counted as {} batches",
            now - batches
        );
        batches = now;
    }
    ids.push(String::new());
    for id in &ids {
        let records = store.records(id);
        if let Some(s) = summary(&records) {
            assert!(s.is_object());
        }
    }
    for id in &ids {
        store.forget(id);
        assert!(
            store.records(id).is_empty(),
            "forgotten id {id:?} still has records"
        );
    }
});
