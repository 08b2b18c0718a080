//! Corpus evaluation of unauthorized-access over the Stratus Red Team detonations: record-
//! and technique-level recall, benign fixtures and envelopes; fails when a goal regresses.
//! The technique name is read from the corpus `note` here only, never by the policy.

use std::collections::BTreeMap;

use gavel_policy_sdk::{Decision, Input, Invocation, Phase, Policy};
use serde_json::Value;
use unauthorized_access::{Settings, UnauthorizedAccess};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus");
const SETTINGS: &str = include_str!("../corpus-settings.json");

fn load(file: &str) -> Vec<Value> {
    let path = format!("{CORPUS}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn judge(event: &Value, settings: &str) -> (Decision, Vec<String>) {
    let invocation = Invocation {
        request_id: "corpus".into(),
        function_name: "corpus".into(),
        function_arn: "arn:aws:lambda:us-east-1:111122223333:function:corpus".into(),
        phase: Phase::Request,
        event: serde_json::to_vec(event).unwrap(),
        result: None,
        function_error: None,
        telemetry: Vec::new(),
        settings: settings.into(),
    };
    let parsed: Settings = serde_json::from_str(settings).expect("settings");
    UnauthorizedAccess::validate(&parsed).expect("valid settings");
    let input = Input::new(invocation, parsed);
    let report = <UnauthorizedAccess as Policy>::evaluate(&input).expect("evaluate");
    (
        report.decision(),
        report
            .findings()
            .iter()
            .map(|f| f.rule_id.clone())
            .collect(),
    )
}

fn technique(rec: &Value) -> String {
    let note = rec["note"].as_str().unwrap_or("");
    note.strip_prefix("Stratus technique ")
        .and_then(|n| n.split(';').next())
        .unwrap_or("fixture")
        .to_string()
}

#[derive(Default)]
struct Row {
    records: usize,
    flagged: usize,
    deny: usize,
    rules: BTreeMap<String, usize>,
}

fn evaluate(settings: &str, verbose: bool) -> (usize, usize, usize, usize, usize, usize) {
    let mut by_tech: BTreeMap<String, Row> = BTreeMap::new();
    let (mut benign, mut benign_flagged) = (0, 0);
    for rec in load("public-cloudtrail.jsonl") {
        let (decision, rules) = judge(&rec["event"], settings);
        let flagged = decision != Decision::Allow;
        if rec["label"] == "benign" {
            benign += 1;
            if flagged {
                benign_flagged += 1;
                println!("    false positive {} {rules:?}", rec["id"]);
            }
            continue;
        }
        let row = by_tech.entry(technique(&rec)).or_default();
        row.records += 1;
        row.flagged += usize::from(flagged);
        row.deny += usize::from(decision == Decision::Deny);
        for r in rules {
            *row.rules.entry(r).or_default() += 1;
        }
    }
    let records: usize = by_tech.values().map(|r| r.records).sum();
    let flagged: usize = by_tech.values().map(|r| r.flagged).sum();
    let techniques = by_tech.len();
    let hit = by_tech.values().filter(|r| r.flagged > 0).count();
    if verbose {
        println!("{:<58} {:>7} {:>5}  rules", "technique", "flagged", "deny");
        for (t, r) in &by_tech {
            let mark = if r.flagged == 0 { "MISS" } else { "" };
            println!(
                "{t:<58} {:>3}/{:<3} {:>5}  {:?} {mark}",
                r.flagged, r.records, r.deny, r.rules
            );
        }
    }
    (techniques, hit, records, flagged, benign, benign_flagged)
}

fn envelopes(settings: &str) -> usize {
    let mut flagged = 0;
    for rec in load("benign-envelopes.jsonl") {
        let (decision, rules) = judge(&rec["event"], settings);
        if decision != Decision::Allow {
            flagged += 1;
            println!("    envelope false positive {} {rules:?}", rec["id"]);
        }
    }
    flagged
}

#[test]
fn corpus_goals() {
    for (name, settings) in [("{} (defaults)", "{}"), ("corpus-settings.json", SETTINGS)] {
        println!("== settings: {name}");
        let (t, t_hit, r, r_hit, b, b_flagged) = evaluate(settings, true);
        let env = envelopes(settings);
        println!(
            "techniques {t_hit}/{t} ({:.1} %)   records {r_hit}/{r} ({:.1} %)   benign fixtures flagged {b_flagged}/{b}   envelopes flagged {env}/126",
            100.0 * t_hit as f64 / t as f64,
            100.0 * r_hit as f64 / r as f64
        );
        assert_eq!(b_flagged, 0, "benign CloudTrail fixtures flagged");
        assert_eq!(env, 0, "benign envelopes flagged");
        // Every technique's high-risk call is caught; the unflagged records are reconnaissance
        // (Describe*/List*/Get*, AssumeRole) that is routine on its own.
        assert_eq!(t_hit, t, "technique recall regressed");
        assert!(
            r_hit * 100 >= r * 37,
            "record recall regressed: {r_hit}/{r}"
        );
    }
}
