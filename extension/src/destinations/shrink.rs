//! Shrinking: fit a record into a destination's size limit by the payload rule — payloads cut
//! to `truncated`, then `digest` only — so a record is never rejected for its size. The
//! `…Sha256` fields are never touched: they still name the exact bytes that passed through.

use std::borrow::Cow;

use serde_json::{Value, json};

use crate::record::TRUNCATE_AT;

const PAYLOADS: [&str; 2] = ["requestPayload", "responsePayload"];

/// Why a record could not be shrunk (it is then sent as a minimal stub, see [`shrink`]).
#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    /// The record is not a JSON object.
    #[error("record is not a JSON object: {0}")]
    NotJson(#[from] serde_json::Error),
}

/// `record` if it fits in `limit` bytes; otherwise the record with its payloads truncated to
/// [`TRUNCATE_AT`], then digest-only, then (a record whose verdict alone is too big) a stub
/// that keeps the request context, the decision and the digests.
pub fn shrink(record: &str, limit: usize) -> Cow<'_, str> {
    if record.len() <= limit {
        return Cow::Borrowed(record);
    }
    match try_shrink(record, limit) {
        Ok(small) => Cow::Owned(small),
        Err(e) => {
            tracing::error!("shrinking a record: {e}");
            Cow::Owned(
                json!({"gavelShrunk": "unparsable", "originalBytes": record.len()}).to_string(),
            )
        }
    }
}

fn try_shrink(record: &str, limit: usize) -> Result<String, ShrinkError> {
    let mut value: Value = serde_json::from_str(record)?;
    let Some(map) = value.as_object_mut() else {
        return Ok(
            json!({"gavelShrunk": "not an object", "originalBytes": record.len()}).to_string(),
        );
    };
    // Step 1: what `GAVEL_PAYLOADS=truncated` would have kept.
    for key in PAYLOADS {
        truncate_payload(map, key, TRUNCATE_AT);
    }
    let text = serde_json::to_string(&value)?;
    if text.len() <= limit {
        return Ok(text);
    }
    // Step 2: digest only.
    if let Some(map) = value.as_object_mut() {
        for key in PAYLOADS {
            if map.get(key).is_some_and(|v| !v.is_null()) {
                map.insert(key.into(), Value::Null);
                map.remove(&format!("{key}Encoding"));
                map.insert(format!("{key}Truncated"), json!(true));
            }
        }
        map.remove("telemetry");
    }
    let text = serde_json::to_string(&value)?;
    if text.len() <= limit {
        return Ok(text);
    }
    // Step 3: the verdict itself is too big (thousands of findings): keep what routes and
    // identifies it; the full record is still in the function's log stream via stdout routes.
    let pick = |k: &str| value.get(k).cloned().unwrap_or(Value::Null);
    let stub = json!({
        "version": pick("version"),
        "timestamp": pick("timestamp"),
        "requestContext": pick("requestContext"),
        "requestPayload": null,
        "requestPayloadSha256": pick("requestPayloadSha256"),
        "requestPayloadTruncated": true,
        "responseContext": pick("responseContext"),
        "responsePayload": null,
        "responsePayloadSha256": pick("responsePayloadSha256"),
        "responsePayloadTruncated": true,
        "verdict": {
            "decision": value.pointer("/verdict/decision").cloned().unwrap_or(Value::Null),
            "mode": value.pointer("/verdict/mode").cloned().unwrap_or(Value::Null),
            "enforced": value.pointer("/verdict/enforced").cloned().unwrap_or(Value::Null),
            "policies": [],
            "gavelShrunk": format!("verdict of {} bytes dropped to fit {limit}", text.len()),
        },
    });
    Ok(stub.to_string())
}

/// Cut one payload to `limit` bytes of its text, as the `truncated` rule does; a JSON payload
/// becomes its compact text cut to the limit, as it would have been had it arrived that long.
fn truncate_payload(map: &mut serde_json::Map<String, Value>, key: &str, limit: usize) {
    let text = match map.get(key) {
        None | Some(Value::Null) => return,
        Some(Value::String(s)) if s.len() <= limit => return,
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            let text = other.to_string();
            if text.len() <= limit {
                return;
            }
            text
        }
    };
    let base64 = map.get(&format!("{key}Encoding")).and_then(Value::as_str) == Some("base64");
    let mut cut = limit;
    if base64 {
        // Whole base64 quanta only, so the kept prefix still decodes.
        cut -= cut % 4;
    }
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    map.insert(key.into(), json!(&text[..cut]));
    map.insert(format!("{key}Truncated"), json!(true));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(payload: Value) -> String {
        json!({
            "version": "1.0",
            "requestContext": {"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"},
            "requestPayload": payload,
            "requestPayloadSha256": "ab".repeat(32),
            "responsePayload": "ok",
            "responsePayloadSha256": "cd".repeat(32),
            "verdict": {"decision": "deny", "policies": [{"name": "p", "findings": [{"severity": "high"}]}]},
        })
        .to_string()
    }

    #[test]
    fn small_records_pass_untouched() {
        let r = record(json!({"a": 1}));
        assert!(matches!(shrink(&r, 1024), Cow::Borrowed(_)));
    }

    #[test]
    fn big_payload_is_truncated_first() {
        let r = record(json!({"blob": "x".repeat(500_000)}));
        let small = shrink(&r, 256 * 1024);
        assert!(small.len() <= 256 * 1024);
        let v: Value = serde_json::from_str(&small).unwrap();
        assert_eq!(v["requestPayloadTruncated"], json!(true));
        assert_eq!(v["requestPayload"].as_str().unwrap().len(), TRUNCATE_AT);
        assert_eq!(v["requestPayloadSha256"], json!("ab".repeat(32)));
        assert_eq!(v["responsePayload"], json!("ok"));
        assert_eq!(v["verdict"]["decision"], json!("deny"));
    }

    #[test]
    fn then_digest_only() {
        let r = record(json!("y".repeat(200_000)));
        let small = shrink(&r, 40 * 1024);
        let v: Value = serde_json::from_str(&small).unwrap();
        assert!(small.len() <= 40 * 1024);
        assert_eq!(v["requestPayload"], Value::Null);
        assert_eq!(v["requestPayloadTruncated"], json!(true));
        assert_eq!(v["requestPayloadSha256"], json!("ab".repeat(32)));
        assert_eq!(
            v["verdict"]["policies"][0]["findings"][0]["severity"],
            json!("high")
        );
    }

    #[test]
    fn base64_cut_on_a_quantum_and_utf8_on_a_boundary() {
        let mut m = serde_json::Map::new();
        m.insert("requestPayload".into(), json!("QUJD".repeat(10)));
        m.insert("requestPayloadEncoding".into(), json!("base64"));
        truncate_payload(&mut m, "requestPayload", 10);
        assert_eq!(m["requestPayload"], json!("QUJDQUJD"));
        let mut m = serde_json::Map::new();
        m.insert("responsePayload".into(), json!("é".repeat(10)));
        truncate_payload(&mut m, "responsePayload", 5);
        assert_eq!(m["responsePayload"], json!("éé"));
    }

    #[test]
    fn a_huge_verdict_becomes_a_stub_that_still_routes() {
        let findings: Vec<Value> = (0..5000)
            .map(|i| json!({"ruleId": format!("r{i}"), "severity": "low", "message": "m".repeat(50)}))
            .collect();
        let r = json!({"requestContext": {"requestId": "r-2"}, "requestPayloadSha256": "ee",
            "verdict": {"decision": "alert", "policies": [{"findings": findings}]}})
        .to_string();
        let small = shrink(&r, 8 * 1024);
        assert!(small.len() <= 8 * 1024);
        let v: Value = serde_json::from_str(&small).unwrap();
        assert_eq!(v["requestContext"]["requestId"], json!("r-2"));
        assert_eq!(v["verdict"]["decision"], json!("alert"));
        assert_eq!(v["requestPayloadSha256"], json!("ee"));
    }
}
