//! malicious-content: flags attack payloads and test malware in the attacker-controlled parts
//! of an event (HTTP parameters, headers, cookies, bodies, queue messages, bus details).
//!
//! Each value is decoded into a few variants ([`text::variants`]) and handed to per-family
//! detectors: hand-written scanners and tokenizers, linear in the input, with no per-call
//! setup beyond allocation, because the policy runs in a fresh wasm instance per invocation.

pub mod cmd;
pub mod files;
pub mod grams;
pub mod lang;
pub mod malware;
pub mod php_syntax;
pub mod settings;
pub mod sqli;
pub mod text;
pub mod xss;

#[cfg(target_arch = "wasm32")]
use gavel_policy_sdk::export_policy;
use gavel_policy_sdk::views::{InputKind, ScanInput};
use gavel_policy_sdk::{Decision, Input, Phase, Policy, Report, Severity, redact};

pub use settings::Settings;

use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// A detector's conclusion about one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Rule id, `<family>.<rule>`.
    pub rule: &'static str,
    /// High confidence (deny by default) or a weaker signal (alert).
    pub strong: bool,
    /// Byte offset of the evidence in the scanned text.
    pub at: usize,
    /// Human-readable reason.
    pub msg: &'static str,
}

impl Hit {
    /// A high-confidence hit.
    pub fn deny(rule: &'static str, at: usize, msg: &'static str) -> Self {
        Hit {
            rule,
            strong: true,
            at,
            msg,
        }
    }
    /// A weaker hit.
    pub fn alert(rule: &'static str, at: usize, msg: &'static str) -> Self {
        Hit {
            rule,
            strong: false,
            at,
            msg,
        }
    }
}

/// What a detector knows about the value it scans.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Where the value came from.
    pub kind: &'a InputKind,
    /// The parameter / field / header name the value belongs to (last JSON-pointer token that
    /// is not an array index), lower-cased; empty when unknown.
    pub name: &'a str,
}

impl Ctx<'_> {
    /// Whether the value is a header.
    pub fn header(&self) -> Option<&str> {
        match self.kind {
            InputKind::Header(h) => Some(h),
            _ => None,
        }
    }
}

/// Attack families in evaluation order; also the `families` setting's keys.
pub const FAMILIES: &[&str] = &[
    "malware", "sqli", "java", "rce", "php", "xss", "ssrf", "lfi", "rfi",
];

type Detector = fn(&str, &str, Ctx) -> Option<Hit>;

/// (family, detector over (original text, lower-cased text)).
const DETECTORS: &[(&str, Detector)] = &[
    ("sqli", sqli::scan),
    ("java", lang::java),
    ("rce", cmd::scan),
    ("php", lang::php),
    ("xss", xss::scan),
    ("ssrf", files::ssrf),
    ("lfi", files::lfi),
    ("rfi", files::rfi),
];

/// Headers whose values are protocol plumbing set by clients, proxies or AWS, scanned only
/// when a user lists them in `scan_headers`.
const PLUMBING_HEADERS: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "accept-charset",
    "host",
    "connection",
    "content-length",
    "content-type",
    "cookie",
    "keep-alive",
    "proxy-connection",
    "cache-control",
    "pragma",
    "upgrade-insecure-requests",
    "x-forwarded-for",
    "x-forwarded-port",
    "x-forwarded-proto",
    "x-amzn-trace-id",
    "x-amz-cf-id",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "via",
    "te",
    "if-modified-since",
    "if-none-match",
    "sec-fetch-site",
    "sec-fetch-mode",
    "sec-fetch-dest",
    "sec-fetch-user",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "authorization",
    "postman-token",
    "content-encoding",
    "transfer-encoding",
];

/// Plumbing headers whose grammar is a list of addresses (and ports / schemes): scanned when
/// the value holds characters that grammar has no use for.
const ADDRESS_HEADERS: &[&str] = &["x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"];

/// The policy.
pub struct MaliciousContent;

impl Policy for MaliciousContent {
    const NAME: &'static str = "malicious-content";
    const VERSION: &'static str = "0.1.0";
    const PHASES: &'static [Phase] = &[Phase::Request];
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), String> {
        settings.validate()
    }

    /// Fill the needle-list filters' cache ([`text::find_any`]) at build time. Each
    /// evaluation runs in a fresh instance, which would otherwise build every filter again
    /// on first use. Benign values of a few shapes lead the detectors past their early exits
    /// to most lists. The values are short, so no n-gram index is built and the heap stays
    /// small.
    fn warm() {
        const VALUES: &[&str] = &[
            "hello world, see notes (page 2); 50% off!",
            "<b>bold</b> text & \"quoted\" it's a=1&b=2",
            "https://example.com/docs/start?ref=home#top",
            "path/to/file.txt | {\"a\": [1, 2]} $x @y `z` --flag",
        ];
        let kinds = [
            InputKind::QueryValue,
            InputKind::Path,
            InputKind::Header("user-agent".to_string()),
        ];
        for v in VALUES {
            let lower = v.to_ascii_lowercase();
            for kind in &kinds {
                let ctx = Ctx { kind, name: "q" };
                for (_, det) in DETECTORS {
                    std::hint::black_box(det(v, &lower, ctx));
                }
            }
        }
    }

    fn evaluate(input: &Input<Settings>) -> Result<Report, String> {
        let mut report = Report::default();
        let inputs = match input.event() {
            Some(ev) => gavel_policy_sdk::views::inputs(ev),
            None => gavel_policy_sdk::views::inputs_from_bytes(input.event_bytes()),
        };
        scan_inputs(&inputs, &input.settings, &mut report);
        Ok(report)
    }
}

/// Whether some other input lies inside this one (a body split into fields, a message whose
/// JSON was expanded): then the whole is only checked for file signatures.
fn has_children(inputs: &[ScanInput], i: &ScanInput) -> bool {
    let loc = i.location.as_str();
    inputs.iter().any(|o| {
        o.location
            .strip_prefix(loc)
            .is_some_and(|r| r.starts_with('/'))
            || (o.location == i.location
                && matches!(o.kind, InputKind::BodyField | InputKind::MultipartPart))
    })
}

/// The name a value is filed under: the last JSON-pointer token that is not an array index.
fn param_name(location: &str) -> String {
    let token = location
        .rsplit('/')
        .find(|t| !t.is_empty() && !t.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("");
    // Unescaping allocates twice: only for the rare name that has an escape.
    let mut name = if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~")
    } else {
        token.to_string()
    };
    name.make_ascii_lowercase();
    name
}

/// Longest value [`scan_inputs`] remembers the findings of, to reuse for a repeat.
const MEMO_MAX_LEN: usize = 4096;

/// Run every enabled detector over every scannable input.
pub fn scan_inputs(inputs: &[ScanInput], settings: &Settings, report: &mut Report) {
    let mut seen: Vec<(&'static str, String)> = Vec::new();
    let mut memo: HashMap<(String, String, String), Vec<(Hit, String)>> = HashMap::new();
    for inp in inputs {
        if !inp.is_content() {
            continue; // S3 keys are names, not payloads.
        }
        let header_skip = match &inp.kind {
            InputKind::Header(h) => settings.skip_header_value(h, &inp.data),
            _ => false,
        };
        if header_skip {
            continue;
        }
        let whole = matches!(inp.kind, InputKind::Body | InputKind::MessageBody)
            && has_children(inputs, inp);
        let data = &inp.data[..inp.data.len().min(settings.max_scan_bytes)];
        let mut found: Vec<Hit> = Vec::new();
        if settings.family_enabled("malware")
            && !matches!(inp.kind, InputKind::Header(_))
            && let Some(h) = malware::scan(&inp.data)
        {
            found.push(h);
        }
        // `from_utf8` first: it validates text far faster than the lossy decoder, which is
        // only needed for the rare invalid value.
        let text = match std::str::from_utf8(data) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(data),
        };
        let name = param_name(&inp.location);
        let ctx = Ctx {
            kind: &inp.kind,
            name: &name,
        };
        let mut evidence_text: Vec<(Hit, String)> = Vec::new();
        // Detectors are pure functions of (text, kind, name): a value repeated across an
        // array or a batch is scanned once. Long values are left out: keying on them costs a
        // copy and a hash of the whole text, and they are seldom repeated.
        // One lookup (the key is hashed once) serves the read and the write.
        let memo_slot = (!whole && text.len() <= MEMO_MAX_LEN)
            .then(|| memo.entry((text.to_string(), format!("{:?}", inp.kind), name.clone())));
        if let Some(Entry::Occupied(prev)) = &memo_slot {
            evidence_text.extend(prev.get().iter().cloned());
        } else if !whole {
            let mut vars = if matches!(inp.kind, InputKind::Path) {
                text::variants_no_plus(&text)
            } else {
                text::variants(&text)
            };
            // A parameter name that decodes to `k=v` smuggles a pair: scan its value part.
            if matches!(
                inp.kind,
                InputKind::QueryName | InputKind::BodyFieldName | InputKind::CookieName
            ) {
                let tails: Vec<String> = vars
                    .iter()
                    .filter_map(|v| v.split_once('=').map(|(_, t)| t.to_string()))
                    .filter(|t| !t.is_empty())
                    .collect();
                for t in tails {
                    if !vars.contains(&t) {
                        vars.push(t);
                    }
                }
            }
            let lowers: Vec<String> = vars.iter().map(|v| v.to_ascii_lowercase()).collect();
            let texts: Vec<&str> = vars.iter().chain(&lowers).map(String::as_str).collect();
            grams::with_index(&texts, || {
                for (family, det) in DETECTORS {
                    if !settings.family_enabled(family) {
                        continue;
                    }
                    for (v, lower) in vars.iter().zip(&lowers) {
                        if let Some(h) = det(v, lower, ctx) {
                            evidence_text.push((h, v.clone()));
                            break;
                        }
                    }
                }
            });
        }
        if let Some(Entry::Vacant(slot)) = memo_slot {
            slot.insert(evidence_text.clone());
        }
        for h in found {
            evidence_text.push((h, text.to_string()));
        }
        for (hit, ev_text) in evidence_text {
            let decision = match settings.decision_for(hit.rule, hit.strong) {
                Some(d) => d,
                None => continue,
            };
            let key = (hit.rule, inp.location.clone());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            let severity = if hit.strong {
                Severity::High
            } else {
                Severity::Medium
            };
            let severity = if hit.rule.starts_with("malware.") {
                Severity::Critical
            } else {
                severity
            };
            let evidence = redact::snippet(&ev_text, hit.at, hit.at + 1);
            report.add(
                decision,
                hit.rule,
                severity,
                hit.msg,
                inp.location.clone(),
                evidence,
            );
        }
    }
}

/// Decision for a strong/weak hit before settings.
pub fn default_decision(strong: bool) -> Decision {
    if strong {
        Decision::Deny
    } else {
        Decision::Alert
    }
}

// Native builds (tests, the corpus harness) link a cdylib too; the component exports'
// `name:pkg/iface@ver` symbols only make sense to the wasm component linker.
#[cfg(target_arch = "wasm32")]
export_policy!(MaliciousContent);

/// Test helper shared by the family modules: run a detector on `s` as a query value.
#[cfg(test)]
pub(crate) fn scan_query_value(scan: fn(&str, &str, Ctx) -> Option<Hit>, s: &str) -> Option<Hit> {
    let lower = s.to_ascii_lowercase();
    scan(
        s,
        &lower,
        Ctx {
            kind: &gavel_policy_sdk::views::InputKind::QueryValue,
            name: "",
        },
    )
}

/// The n-gram index, the short values' filter and the shared derived forms ([`grams`]) only
/// skip work: with them on or off, every corpus value gives the same findings. Values are
/// embedded in long text (the index serves values of `grams::MIN_LEN` bytes or more): alone
/// after filler prose, and repeated, as a text body, a form body and a JSON field; and as
/// they are, in JSON fields (the filter serves shorter ones).
#[cfg(test)]
mod index_changes_no_finding {
    use super::*;
    use gavel_policy_sdk::{Input, Invocation};

    fn findings(event: &serde_json::Value, indexed: bool) -> Vec<String> {
        grams::ENABLED.with(|e| e.set(indexed));
        let input = Input::new(
            Invocation::request(serde_json::to_vec(event).unwrap()),
            Settings::default(),
        );
        let report = MaliciousContent::evaluate(&input).unwrap();
        grams::ENABLED.with(|e| e.set(true));
        report
            .findings()
            .iter()
            .map(|f| format!("{} {} {}", f.rule_id, f.location, f.evidence))
            .collect()
    }

    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if s.len() >= 3 => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }

    #[test]
    fn on_corpus_values_in_long_text() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
        let Ok(text) = std::fs::read_to_string(dir.join("public-web.jsonl")) else {
            eprintln!("corpus not found beside the repository: skipped");
            return;
        };
        let filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(24);
        let mut values = Vec::new();
        for line in text.lines().step_by(3) {
            let rec: serde_json::Value = serde_json::from_str(line).unwrap();
            strings(&rec["event"], &mut values);
        }
        values.sort();
        values.dedup();
        let (mut checked, mut flagged) = (0, 0);
        for v in &values {
            let bodies = [
                (format!("{filler}\n{v}"), "text/plain"),
                (format!("{v} {v} {filler}"), "text/plain"),
                (
                    format!("a={}&b={v}", filler.replace(' ', "+")),
                    "application/x-www-form-urlencoded",
                ),
                (
                    serde_json::json!({"note": filler, "v": format!("{v}{filler}")}).to_string(),
                    "application/json",
                ),
                (
                    serde_json::json!({"v": v, "list": [v, "x"]}).to_string(),
                    "application/json",
                ),
            ];
            for (body, ct) in bodies {
                let event = serde_json::json!({
                    "version": "2.0", "rawPath": "/items", "rawQueryString": "",
                    "headers": {"content-type": ct},
                    "requestContext": {"http": {"method": "POST", "path": "/items"}},
                    "body": body, "isBase64Encoded": false
                });
                let with = findings(&event, true);
                assert_eq!(with, findings(&event, false), "value {v:?} as {ct}");
                checked += 1;
                flagged += usize::from(!with.is_empty());
            }
        }
        // The check means something only if many of these bodies are flagged.
        assert!(
            checked > 1000 && flagged > checked / 4,
            "{flagged} of {checked} flagged"
        );
    }
}
