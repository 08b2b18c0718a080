//! Payload embedding in verdict records (`record::build` under `GAVEL_PAYLOADS=full`,
//! `truncated`, `digest`: JSON kept as JSON, text cut on a UTF-8 boundary, binary as base64,
//! digests over the exact bytes) and the destinations' `shrink` of the result.
//!
//! Input: `arbitrary` payloads; `pad` inserts up to 255 KiB of one byte at a chosen offset so
//! the 64 KiB cut is crossed without huge inputs.
#![no_main]

use arbitrary::Arbitrary;
use base64::Engine as _;
use gavel::config::{Mode, PayloadMode};
use gavel::destinations::shrink::shrink;
use gavel::engine::sha256_hex;
use gavel::record::{Condition, RecordInput, TRUNCATE_AT, build};
use gavel::verdict::Verdict;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

#[derive(Arbitrary, Debug)]
struct Pad {
    at: u16,
    byte: u8,
    kib: u8,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    mode: u8,
    event: &'a [u8],
    event_pad: Option<Pad>,
    result: Option<&'a [u8]>,
    result_pad: Option<Pad>,
    function_error: Option<&'a str>,
    limit: u32,
}

fn padded(bytes: &[u8], pad: &Option<Pad>) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(p) = pad {
        let at = usize::from(p.at) % (out.len() + 1);
        let fill = std::iter::repeat_n(p.byte, usize::from(p.kib) << 10);
        out.splice(at..at, fill);
    }
    out
}

fuzz_target!(|input: Input<'_>| {
    let event = padded(input.event, &input.event_pad);
    let result = input.result.map(|r| padded(r, &input.result_pad));
    let mode = match input.mode % 3 {
        0 => PayloadMode::Full,
        1 => PayloadMode::Truncated,
        _ => PayloadMode::Digest,
    };
    let verdict = Verdict::new(Mode::Monitor, vec![], false);
    let record = build(&RecordInput {
        request_id: "r",
        function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f",
        condition: Condition::Success,
        event: &event,
        result: result.as_deref(),
        function_error: input.function_error,
        telemetry: None,
        verdict: &verdict,
        payloads: mode,
    });
    check_payload(&record, "request", Some(&event), mode);
    check_payload(&record, "response", result.as_deref(), mode);

    let text = record.to_string();
    let limit = input.limit as usize % (text.len() + 1024);
    let small = shrink(&text, limit);
    let small: Value = serde_json::from_str(&small).expect("a shrunk record is JSON");
    for prefix in ["request", "response"] {
        let key = format!("{prefix}PayloadSha256");
        assert_eq!(small[&key], record[&key], "shrink changed {key}");
    }
});

/// The embedded payload says truthfully what it kept of `bytes`.
fn check_payload(record: &Value, prefix: &str, bytes: Option<&[u8]>, mode: PayloadMode) {
    let key = format!("{prefix}Payload");
    let Some(bytes) = bytes else {
        assert_eq!(record[&key], Value::Null);
        return;
    };
    assert_eq!(
        record[format!("{key}Sha256")],
        Value::String(sha256_hex(bytes))
    );
    let truncated = record.get(format!("{key}Truncated")) == Some(&Value::Bool(true));
    let limit = match mode {
        PayloadMode::Full => usize::MAX,
        PayloadMode::Truncated => TRUNCATE_AT,
        PayloadMode::Digest => 0,
    };
    assert_eq!(truncated, bytes.len() > limit, "{key}Truncated");
    let value = &record[&key];
    let encoding = record
        .get(format!("{key}Encoding"))
        .map(|e| e.as_str().expect("encoding is a string"));
    if limit == 0 {
        assert_eq!(
            (value, encoding),
            (&Value::Null, None),
            "digest mode embeds nothing"
        );
        return;
    }
    match encoding {
        Some("base64") => {
            let s = value.as_str().expect("base64 payload is a string");
            let kept = base64::engine::general_purpose::STANDARD
                .decode(s)
                .expect("base64 payload decodes");
            assert!(bytes.starts_with(&kept));
            assert_eq!(
                kept.len(),
                bytes.len().min(limit),
                "base64 keeps the whole cut"
            );
        }
        Some(other) => panic!("unknown encoding {other}"),
        None if bytes.len() <= limit && serde_json::from_slice::<Value>(bytes).is_ok() => {
            let parsed: Value = serde_json::from_slice(bytes).expect("JSON");
            assert_eq!(&parsed, value, "JSON payload embedded as JSON");
        }
        None => {
            let s = value.as_str().expect("text payload is a string");
            assert!(bytes.starts_with(s.as_bytes()), "text payload is a prefix");
            assert!(s.len() <= limit && s.len() + 4 > bytes.len().min(limit));
        }
    }
}
