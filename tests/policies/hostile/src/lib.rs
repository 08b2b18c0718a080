//! A deliberately hostile policy for the engine's containment tests. Its `settings` pick the
//! misbehaviour; it implements the raw WIT contract to be able to return what the SDK would
//! never produce.
#![allow(missing_docs)]
// Natively (cargo test, clippy) nothing exports the guest, so it looks unused.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use gavel_policy_sdk::bindings::exports::gavel::policy::policy::Guest;
use gavel_policy_sdk::{Decision, Finding, Invocation, Metadata, Phase, Severity, Verdict};

struct Hostile;

/// Calls of `evaluate` this instance has seen: a fresh sandbox per evaluation keeps it at 1.
static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn finding(message: String) -> Finding {
    Finding {
        rule_id: "hostile.rule".into(),
        severity: Severity::Low,
        message,
        location: String::new(),
        evidence: String::new(),
    }
}

/// `<mode>` of the first `"hostile":"<mode>"` in the event bytes.
fn mode_in_event(event: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"hostile\":\"";
    let start = event.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = event[start..].iter().position(|&b| b == b'"')?;
    String::from_utf8(event[start..start + len].to_vec()).ok()
}

#[inline(never)]
fn recurse(n: u64, sink: &mut [u64; 64]) -> u64 {
    sink[(n % 64) as usize] = n;
    if n == u64::MAX {
        0
    } else {
        recurse(n + 1, sink) + sink[3]
    }
}

impl Guest for Hostile {
    fn describe() -> Metadata {
        Metadata {
            name: "hostile".into(),
            version: "0.0.1".into(),
            phases: vec![Phase::Request, Phase::Response, Phase::Telemetry],
        }
    }

    fn validate_settings(settings: String) -> Result<(), String> {
        if settings.contains("reject") {
            Err("hostile refuses these settings".into())
        } else {
            Ok(())
        }
    }

    fn evaluate(inv: Invocation) -> Result<Verdict, String> {
        let mut mode = inv
            .settings
            .trim_matches(|c| c == '"' || c == ' ')
            .to_string();
        // Settings `"event"`: the event picks, as `"hostile":"<mode>"`, so one sandbox can
        // cycle through every misbehaviour (the 1000-call memory test).
        if mode == "event" {
            mode = mode_in_event(&inv.event).unwrap_or_default();
        }
        match mode.as_str() {
            "loop" => loop {
                std::hint::black_box(&inv);
            },
            "recurse" => {
                let mut sink = [0u64; 64];
                let n = recurse(0, &mut sink);
                Ok(Verdict {
                    decision: Decision::Allow,
                    findings: vec![finding(n.to_string())],
                    actions: vec![],
                })
            }
            "memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => std::process::abort(),
            "panic" => panic!("hostile policy panics on every call"),
            "error" => Err("hostile policy reports an error".into()),
            "huge-output" => Ok(Verdict {
                decision: Decision::Deny,
                findings: (0..100_000).map(|i| finding(i.to_string())).collect(),
                actions: vec![],
            }),
            // What a previous evaluation left behind: the call count in a static, and non-zero
            // bytes in a zeroed allocation (the allocator trusts fresh memory to be zero, so a
            // slot reset that missed a page shows up here). Then dirty both for the next one.
            "remember" => {
                let calls = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                let mut buf = vec![0u8; 256 * 1024];
                let stale = buf.iter().filter(|&&b| b != 0).count();
                buf.fill(0xa5);
                std::hint::black_box(&buf);
                Ok(Verdict {
                    decision: Decision::Allow,
                    findings: vec![finding(format!("calls={calls} stale={stale}"))],
                    actions: vec![],
                })
            }
            // Just over the host's bounds (4 KiB a string, 64 KiB an error message).
            "long-field" => Ok(Verdict {
                decision: Decision::Deny,
                findings: vec![finding("x".repeat(4097))],
                actions: vec![],
            }),
            "long-error" => Err("e".repeat((64 << 10) + 1)),
            "long-but-allowed-error" => Err("e".repeat(64 << 10)),
            "bad-utf8" => {
                // SAFETY: deliberately not UTF-8; the host must refuse to lift it.
                let bad = unsafe { String::from_utf8_unchecked(vec![0xff, 0xfe, 0xfd]) };
                Ok(Verdict {
                    decision: Decision::Alert,
                    findings: vec![finding(bad)],
                    actions: vec![],
                })
            }
            // The default: echo sizes so tests can check what the policy saw.
            _ => Ok(Verdict {
                decision: if inv.event.windows(4).any(|w| w == b"DENY") {
                    Decision::Deny
                } else {
                    Decision::Allow
                },
                findings: vec![finding(format!(
                    "event={} result={} telemetry={} id={}",
                    inv.event.len(),
                    inv.result.as_ref().map_or(0, |r| r.len()),
                    inv.telemetry.len(),
                    inv.request_id
                ))],
                actions: vec![],
            }),
        }
    }
}

#[cfg(target_arch = "wasm32")]
gavel_policy_sdk::bindings::__export_gavel_policy!(Hostile with_types_in gavel_policy_sdk::bindings);
