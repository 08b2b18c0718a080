//! Corpus evaluation of secrets-leak: runs the policy natively over the shared corpus, prints
//! per-category detection and false positives, and fails when a goal regresses.

use std::collections::BTreeMap;

use gavel_policy_sdk::{Decision, Input, Invocation, Phase, Policy};
use secrets_leak::{SecretsLeak, Settings};
use serde_json::Value;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");

fn load(file: &str) -> Vec<Value> {
    let path = format!("{CORPUS}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The verdict on `result` (the event is passed through as the request).
fn judge(event: &Value, result: Option<Vec<u8>>) -> (Decision, Vec<String>) {
    let invocation = Invocation {
        request_id: "corpus".into(),
        function_name: "corpus".into(),
        function_arn: "arn:aws:lambda:us-east-1:111122223333:function:corpus".into(),
        phase: Phase::Response,
        event: serde_json::to_vec(event).unwrap(),
        result,
        function_error: None,
        telemetry: Vec::new(),
        settings: "{}".into(),
    };
    let input = Input::new(invocation, Settings::default());
    let report = <SecretsLeak as Policy>::evaluate(&input).expect("evaluate");
    let rules = report
        .findings()
        .iter()
        .map(|f| format!("{}@{}", f.rule_id, f.location))
        .collect();
    (report.decision(), rules)
}

/// The record's response as result bytes; records without one are judged with the event as
/// the result (a function that echoes its input must not trip the policy either).
fn result_of(rec: &Value) -> Vec<u8> {
    match &rec["response"] {
        Value::Null => serde_json::to_vec(&rec["event"]).unwrap(),
        r => serde_json::to_vec(r).unwrap(),
    }
}

#[derive(Default)]
struct Tally {
    detected: usize,
    malicious: usize,
    flagged_benign: usize,
    benign: usize,
    misses: Vec<String>,
    false_positives: Vec<String>,
}

fn run(file: &str, category: &str) -> Tally {
    let mut t = Tally::default();
    for rec in load(file).iter().filter(|r| r["category"] == category) {
        let (decision, rules) = judge(&rec["event"], Some(result_of(rec)));
        let flagged = decision != Decision::Allow;
        let id = rec["id"].as_str().unwrap_or("?").to_string();
        if rec["label"] == "malicious" {
            t.malicious += 1;
            if flagged {
                t.detected += 1;
            } else {
                t.misses.push(id);
            }
        } else {
            t.benign += 1;
            if flagged {
                t.flagged_benign += 1;
                t.false_positives.push(format!("{id} {rules:?}"));
            }
        }
    }
    t
}

fn report(name: &str, t: &Tally) {
    let pct = |a: usize, b: usize| {
        if b == 0 {
            100.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "{name:<28} detected {:>3}/{:<3} ({:5.1} %)   benign flagged {:>2}/{:<3}",
        t.detected,
        t.malicious,
        pct(t.detected, t.malicious),
        t.flagged_benign,
        t.benign
    );
    for m in &t.misses {
        println!("    miss {m}");
    }
    for f in &t.false_positives {
        println!("    false positive {f}");
    }
}

#[test]
fn corpus_goals() {
    let secret = run("public-content.jsonl", "secret");
    report("public-content/secret", &secret);
    let leak = run("public-web.jsonl", "response-leak");
    report("public-web/response-leak", &leak);

    // Envelopes have no response: judged without a result and with the event as the result.
    let mut env = Tally::default();
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for rec in load("benign-envelopes.jsonl") {
        for result in [None, Some(serde_json::to_vec(&rec["event"]).unwrap())] {
            env.benign += 1;
            let (decision, rules) = judge(&rec["event"], result);
            if decision != Decision::Allow {
                env.flagged_benign += 1;
                for r in &rules {
                    *by_rule.entry(r.clone()).or_default() += 1;
                }
                env.false_positives.push(format!("{} {rules:?}", rec["id"]));
            }
        }
    }
    report("benign-envelopes (x2)", &env);

    assert_eq!(
        secret.detected, secret.malicious,
        "every synthetic key pair must be caught"
    );
    assert_eq!(
        secret.flagged_benign, 0,
        "placeholders, lone key ids and digests are not secrets"
    );
    assert!(
        leak.detected * 100 >= leak.malicious * 90,
        "response-leak detection below 90 %"
    );
    assert_eq!(
        env.flagged_benign, 0,
        "benign envelopes flagged: {by_rule:?}"
    );
}
