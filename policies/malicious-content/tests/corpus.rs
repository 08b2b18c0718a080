//! Native evaluation harness: runs the policy over the shared corpus (beside the repository,
//! `../shared/corpus`) and asserts the detection / false-positive goals reached so far.
//! `cargo test -p malicious-content --test corpus -- --nocapture` prints the table;
//! `MC_SHOW=sqli` lists that family's misses and false positives.

mod common;

use std::collections::BTreeMap;

use gavel_policy_sdk::Decision;

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

#[derive(Default, Debug)]
struct Tally {
    mal: usize,
    mal_hit: usize,
    ben: usize,
    ben_hit: usize,
}

fn evaluate(file: &str, skip: &[&str]) -> Option<BTreeMap<String, Tally>> {
    let path = corpus_dir().join(file);
    let text = std::fs::read_to_string(&path).ok()?;
    let show = std::env::var("MC_SHOW").unwrap_or_default();
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    for line in text.lines() {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        let cat = rec["category"].as_str().unwrap().to_string();
        if skip.contains(&cat.as_str()) {
            continue;
        }
        let malicious = rec["label"] == "malicious";
        let (decision, rules) = common::evaluate(&rec["event"]);
        let flagged = decision != Decision::Allow;
        let t = out.entry(cat.clone()).or_default();
        if malicious {
            t.mal += 1;
            t.mal_hit += usize::from(flagged);
        } else {
            t.ben += 1;
            t.ben_hit += usize::from(flagged);
        }
        if show == cat || show == "all" {
            if malicious && !flagged {
                println!("MISS {}", rec["id"]);
            } else if !malicious && flagged {
                println!("FP   {} {:?}", rec["id"], rules);
            }
        }
    }
    Some(out)
}

fn print(file: &str, t: &BTreeMap<String, Tally>) {
    println!("{file}");
    println!(
        "  {:<10} {:>14} {:>14}",
        "category", "detected", "benign flagged"
    );
    for (cat, t) in t {
        let pct = |a: usize, b: usize| {
            if b == 0 {
                0.0
            } else {
                100.0 * a as f64 / b as f64
            }
        };
        println!(
            "  {:<10} {:>5}/{:<5} {:>5.1}% {:>4}/{:<4} {:>5.1}%",
            cat,
            t.mal_hit,
            t.mal,
            pct(t.mal_hit, t.mal),
            t.ben_hit,
            t.ben,
            pct(t.ben_hit, t.ben)
        );
    }
}

#[test]
fn corpus_goals() {
    let Some(web) = evaluate("public-web.jsonl", &["response-leak"]) else {
        eprintln!("corpus not found at {}; skipping", corpus_dir().display());
        return;
    };
    print("public-web.jsonl", &web);
    let content = evaluate("public-content.jsonl", &["secret"]).unwrap();
    print("public-content.jsonl", &content);
    let env = evaluate("benign-envelopes.jsonl", &[]).unwrap();
    print("benign-envelopes.jsonl", &env);

    let m = &content["malware"];
    assert_eq!(m.mal_hit, m.mal, "malware detection");
    assert_eq!(m.ben_hit, 0, "malware false positives");
    assert_eq!(env["benign"].ben_hit, 0, "benign envelopes flagged");
    // Floors at the rates reached (percent detected, percent of benign flagged).
    // Not yet at the 95 % / 5 % targets for most families; these floors stop regressions.
    let goals: &[(&str, f64, f64)] = &[
        ("sqli", 86.5, 9.0),
        ("java", 99.0, 0.0),
        ("rce", 95.5, 14.0),
        ("php", 99.0, 9.0),
        ("xss", 93.0, 19.0),
        ("ssrf", 100.0, 30.0),
        ("lfi", 100.0, 0.0),
        ("rfi", 81.0, 0.0),
    ];
    for (cat, min_det, max_fp) in goals {
        let t = &web[*cat];
        let det = 100.0 * t.mal_hit as f64 / t.mal as f64;
        let fp = 100.0 * t.ben_hit as f64 / t.ben.max(1) as f64;
        assert!(det >= *min_det, "{cat}: detection {det:.1}% < {min_det}%");
        assert!(fp <= *max_fp, "{cat}: false positives {fp:.1}% > {max_fp}%");
    }
}
