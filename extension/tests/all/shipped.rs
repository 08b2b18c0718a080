//! The shipped policies, compiled to wasm and run by the engine, on the public corpus: they
//! detect their cases and stay silent on real AWS event envelopes.

use std::io::BufRead;

use gavel::catalog::{PolicySet, resolve};
use gavel::engine::{Decision, EngineBuilder, InvocationInput, Phase};
use serde_json::Value;

use crate::support::{corpus_dir, gavel, shipped_policy, succeed};

fn policies() -> PolicySet {
    let dir = shipped_policy("malicious-content")
        .parent()
        .unwrap()
        .to_path_buf();
    let sources = resolve(None, &dir).expect("manifest resolves");
    let engine = EngineBuilder::new().timeout_ms(2000).build().unwrap();
    PolicySet::load(engine, sources, |_| "{}".into(), Decision::Alert)
        .expect("shipped policies load")
}

fn records(file: &str) -> Vec<Value> {
    let path = corpus_dir().join(file);
    let f = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::io::BufReader::new(f)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect()
}

/// (strongest decision, rule ids) of every policy over the record's phases.
fn judge(set: &PolicySet, record: &Value) -> (Decision, Vec<String>, Vec<String>) {
    let mut input = InvocationInput {
        event: serde_json::to_vec(&record["event"]).unwrap(),
        ..Default::default()
    };
    let mut outcomes = set.evaluate(Phase::Request, input.clone());
    if !record["response"].is_null() {
        input.result = Some(serde_json::to_vec(&record["response"]).unwrap());
        outcomes.extend(set.evaluate(Phase::Response, input));
    }
    let errors = outcomes.iter().filter_map(|o| o.error.clone()).collect();
    let rules = outcomes
        .iter()
        .flat_map(|o| o.findings.iter().map(|f| f.rule_id.clone()))
        .collect();
    (
        gavel::verdict::strongest(outcomes.iter().map(|o| o.decision)),
        rules,
        errors,
    )
}

#[test]
fn silent_on_benign_envelopes() {
    let set = policies();
    assert_eq!(set.policies.len(), 3);
    for record in records("benign-envelopes.jsonl") {
        let (decision, rules, errors) = judge(&set, &record);
        assert!(
            errors.is_empty(),
            "{}: policy errors {errors:?}",
            record["id"]
        );
        assert_eq!(
            decision,
            Decision::Allow,
            "{} flagged by {rules:?}",
            record["id"]
        );
    }
}

#[test]
fn malware_and_secrets_detected_and_near_misses_not() {
    let set = policies();
    for record in records("public-content.jsonl") {
        let (decision, rules, errors) = judge(&set, &record);
        assert!(errors.is_empty(), "{}: {errors:?}", record["id"]);
        let malicious = record["label"] == "malicious";
        assert_eq!(
            decision != Decision::Allow,
            malicious,
            "{} ({}): {rules:?}",
            record["id"],
            record["category"]
        );
        if malicious {
            let family = if record["category"] == "malware" {
                "malware."
            } else {
                "secret"
            };
            assert!(
                rules.iter().any(|r| r.starts_with(family)),
                "{}: {rules:?}",
                record["id"]
            );
        }
    }
}

#[test]
fn cloudtrail_attacks_flagged_and_fixtures_not() {
    let set = policies();
    let (mut flagged, mut total) = (0, 0);
    for record in records("public-cloudtrail.jsonl") {
        let (decision, rules, _) = judge(&set, &record);
        if record["label"] == "malicious" {
            total += 1;
            flagged += usize::from(decision != Decision::Allow);
        } else {
            assert_eq!(decision, Decision::Allow, "{}: {rules:?}", record["id"]);
        }
    }
    // Reconnaissance calls are part of attacks but not high-risk alone (docs/DETECTION.md).
    assert!(
        flagged * 100 >= total * 35,
        "{flagged}/{total} CloudTrail attack records flagged"
    );
}

#[test]
fn cli_policy_test_names_the_eicar_rule() {
    let eicar = records("public-content.jsonl")
        .into_iter()
        .find(|r| r["category"] == "malware" && r["label"] == "malicious")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, serde_json::to_vec(&eicar["event"]).unwrap()).unwrap();
    let out = succeed(
        gavel()
            .args(["policy", "test", "malicious-content", "--event"])
            .arg(&event)
            .env(
                "GAVEL_POLICY_DIR",
                shipped_policy("malicious-content").parent().unwrap(),
            ),
    );
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["decision"], "deny");
    assert_eq!(
        verdict["policies"][0]["findings"][0]["ruleId"],
        "malware.eicar"
    );
}
