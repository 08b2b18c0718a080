//! The verdict record: the Lambda Destinations envelope plus `verdict`, with payloads embedded
//! per `GAVEL_PAYLOADS` and always their sha256 over the exact bytes.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::config::PayloadMode;
use crate::engine::sha256_hex;
use crate::verdict::Verdict;

/// Payload bytes kept by `truncated`.
pub const TRUNCATE_AT: usize = 64 * 1024;

/// `requestContext.condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The function returned a result.
    Success,
    /// The function failed (error, timeout, crash).
    Failure,
    /// gavel blocked the event or the result (enforce mode).
    Blocked,
}

impl Condition {
    fn as_str(self) -> &'static str {
        match self {
            Condition::Success => "Success",
            Condition::Failure => "Failure",
            Condition::Blocked => "Blocked",
        }
    }
}

/// Everything a record is made of.
#[derive(Debug)]
pub struct RecordInput<'a> {
    /// Lambda request id.
    pub request_id: &'a str,
    /// Function ARN (from the invocation headers).
    pub function_arn: &'a str,
    /// Outcome of the invocation.
    pub condition: Condition,
    /// Event bytes.
    pub event: &'a [u8],
    /// Result bytes (`None` when the function never answered).
    pub result: Option<&'a [u8]>,
    /// Function error type, when it failed.
    pub function_error: Option<&'a str>,
    /// Telemetry summary (`platform.runtimeDone` / `platform.report`), when delivered.
    pub telemetry: Option<Value>,
    /// The verdict.
    pub verdict: &'a Verdict,
    /// Payload policy.
    pub payloads: PayloadMode,
}

/// Build the record as JSON.
pub fn build(input: &RecordInput<'_>) -> Value {
    let mut record = Map::new();
    record.insert("version".into(), json!("1.0"));
    record.insert(
        "timestamp".into(),
        json!(humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()),
    );
    record.insert(
        "requestContext".into(),
        json!({
            "requestId": input.request_id,
            "functionArn": input.function_arn,
            "condition": input.condition.as_str(),
            "approximateInvokeCount": 1,
        }),
    );
    put_payload(&mut record, "request", Some(input.event), input.payloads);
    record.insert(
        "responseContext".into(),
        json!({
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": input.function_error.map(|_| "Unhandled"),
        }),
    );
    put_payload(&mut record, "response", input.result, input.payloads);
    if let Some(t) = &input.telemetry {
        record.insert("telemetry".into(), t.clone());
    }
    record.insert("verdict".into(), input.verdict.to_json());
    Value::Object(record)
}

/// `<prefix>Payload`, `<prefix>PayloadSha256`, and when needed `…Encoding` / `…Truncated`.
fn put_payload(
    record: &mut Map<String, Value>,
    prefix: &str,
    bytes: Option<&[u8]>,
    mode: PayloadMode,
) {
    let key = format!("{prefix}Payload");
    let Some(bytes) = bytes else {
        record.insert(key, Value::Null);
        return;
    };
    let limit = match mode {
        PayloadMode::Full => usize::MAX,
        PayloadMode::Truncated => TRUNCATE_AT,
        PayloadMode::Digest => 0,
    };
    let (value, encoding, truncated) = embed(bytes, limit);
    record.insert(key.clone(), value);
    record.insert(format!("{key}Sha256"), json!(sha256_hex(bytes)));
    if let Some(encoding) = encoding {
        record.insert(format!("{key}Encoding"), json!(encoding));
    }
    if truncated {
        record.insert(format!("{key}Truncated"), json!(true));
    }
}

/// Payload as JSON when it is JSON within the limit; otherwise a string cut to the limit
/// (UTF-8 text, or base64 of binary).
fn embed(bytes: &[u8], limit: usize) -> (Value, Option<&'static str>, bool) {
    if limit == 0 {
        return (Value::Null, None, !bytes.is_empty());
    }
    if bytes.len() <= limit
        && let Ok(value) = serde_json::from_slice::<Value>(bytes)
    {
        return (value, None, false);
    }
    let truncated = bytes.len() > limit;
    let cut = &bytes[..bytes.len().min(limit)];
    match std::str::from_utf8(cut) {
        Ok(text) => (json!(text), None, truncated),
        // A cut in the middle of a UTF-8 sequence is still text: back up to the boundary.
        Err(e) if e.error_len().is_none() && e.valid_up_to() + 4 > cut.len() => (
            json!(std::str::from_utf8(&cut[..e.valid_up_to()]).unwrap_or_default()),
            None,
            truncated,
        ),
        Err(_) => (
            json!(base64::engine::general_purpose::STANDARD.encode(cut)),
            Some("base64"),
            truncated,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;

    fn record(event: &[u8], result: Option<&[u8]>, payloads: PayloadMode) -> Value {
        let verdict = Verdict::new(Mode::Monitor, vec![], false);
        build(&RecordInput {
            request_id: "r1",
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f",
            condition: Condition::Success,
            event,
            result,
            function_error: None,
            telemetry: None,
            verdict: &verdict,
            payloads,
        })
    }

    #[test]
    fn json_payloads_are_embedded_with_digests() {
        let r = record(br#"{"a":1}"#, Some(b"\"ok\""), PayloadMode::Truncated);
        assert_eq!(r["requestPayload"], json!({"a": 1}));
        assert_eq!(r["responsePayload"], json!("ok"));
        assert_eq!(r["requestPayloadSha256"], json!(sha256_hex(br#"{"a":1}"#)));
        assert_eq!(r["requestContext"]["condition"], "Success");
        assert_eq!(r["verdict"]["decision"], "allow");
        assert_eq!(r["version"], "1.0");
        assert!(r["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn large_and_binary_payloads_are_cut_and_marked() {
        let big = format!("\"{}\"", "x".repeat(100_000));
        let r = record(
            big.as_bytes(),
            Some(&[0xff, 0x00, 0x01]),
            PayloadMode::Truncated,
        );
        assert_eq!(r["requestPayload"].as_str().unwrap().len(), TRUNCATE_AT);
        assert_eq!(r["requestPayloadTruncated"], json!(true));
        assert_eq!(r["requestPayloadSha256"], json!(sha256_hex(big.as_bytes())));
        assert_eq!(r["responsePayloadEncoding"], "base64");
        assert_eq!(r["responsePayload"], "/wAB");
    }

    #[test]
    fn digest_mode_keeps_only_digests() {
        let r = record(br#"{"a":1}"#, None, PayloadMode::Digest);
        assert_eq!(r["requestPayload"], Value::Null);
        assert!(r["requestPayloadSha256"].is_string());
        assert_eq!(r["responsePayload"], Value::Null);
    }

    #[test]
    fn full_mode_keeps_everything() {
        let big = format!("{{\"k\":\"{}\"}}", "y".repeat(100_000));
        let r = record(big.as_bytes(), None, PayloadMode::Full);
        assert_eq!(r["requestPayload"]["k"].as_str().unwrap().len(), 100_000);
        assert!(r.get("requestPayloadTruncated").is_none());
    }
}
