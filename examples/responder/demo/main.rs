//! `make demo-response`: the incident-response loop end to end on loopback — gavel blocks an
//! intruder's read of a sensitive bucket and delivers the verdict to SQS; gavel-responder,
//! run as a Lambda function on that SQS message, quarantines the bucket, revokes the intruder's
//! role and notifies. Prints the account's state before and after, and the responder's report.

mod moto;
// Shared with the loop's test, which uses more of it.
#[allow(dead_code)]
mod scenario;

use std::path::PathBuf;
use std::process::ExitCode;

use gavel_e2e::paths;
use scenario::{
    ALERT_TOPIC, BREAK_GLASS_ROLE, BUCKET, ETL_ROLE, INTRUDER_ROLE, INTRUDER_SESSION, OBJECT_KEY,
    OTHER_BUCKET, State, VERDICT_QUEUE, World,
};
use serde_json::Value;

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn show_state(title: &str, s: &State) {
    println!("── {title} ──────────────────────────────────────────────");
    println!("  s3://{BUCKET} bucket policy:");
    match &s.bucket_policy {
        Some(p) => println!("{}", indent(&pretty(p), 4)),
        None => println!("    (none)"),
    }
    println!("  s3://{BUCKET} public access block:");
    match &s.public_access_block {
        Some(b) => {
            let on: Vec<String> = b
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!("    {}", on.join(" "));
        }
        None => println!("    (none)"),
    }
    match &s.saved {
        Some(saved) => println!(
            "  s3://{BUCKET}/{}: saved by the quarantine, previous policy {}",
            gavel_responder::actions::s3::SAVED_KEY,
            if saved["policy"].is_string() {
                "kept"
            } else {
                "none"
            }
        ),
        None => println!(
            "  s3://{BUCKET}/{}: (none)",
            gavel_responder::actions::s3::SAVED_KEY
        ),
    }
    for (role, policies) in &s.roles {
        if policies.is_empty() {
            println!("  role {role}: no inline policies");
        }
        for (name, doc) in policies {
            println!("  role {role}: inline policy {name}:");
            println!("{}", indent(&pretty(doc), 4));
        }
    }
    println!(
        "  s3://{OTHER_BUCKET} (not involved): policy {}, public access block {}",
        if s.other_bucket.0.is_some() {
            "set"
        } else {
            "none"
        },
        if s.other_bucket.1.is_some() {
            "set"
        } else {
            "none"
        }
    );
    println!();
}

fn show_report(report: &Value) {
    let r = &report["responder"];
    println!(
        "  report for record {} (decision {}, dry run {}):",
        r["recordRequestId"].as_str().unwrap_or("?"),
        r["decision"].as_str().unwrap_or("?"),
        r["dryRun"]
    );
    println!(
        "    {:<18} {:<52} {:<16} detail",
        "action", "target", "outcome"
    );
    for a in r["actions"].as_array().into_iter().flatten() {
        println!(
            "    {:<18} {:<52} {:<16} {}",
            a["action"].as_str().unwrap_or(""),
            a["target"].as_str().unwrap_or(""),
            a["outcome"].as_str().unwrap_or(""),
            a["detail"].as_str().unwrap_or("")
        );
    }
}

async fn run() -> Result<(), String> {
    let gavel = paths::gavel_bin().ok_or_else(|| {
        format!(
            "no gavel binary at {} (run `make demo-response`)",
            paths::gavel_bin_path().display()
        )
    })?;
    let responder: PathBuf = moto::sibling_bin("gavel-responder").ok_or(
        "no gavel-responder binary next to this one (run `make demo-response`)".to_string(),
    )?;

    let world = World::setup().await?;
    println!(
        "gavel demo-response: verdict → record → responder, end to end on loopback (moto_server on 127.0.0.1:{})\n",
        world.moto.port()
    );
    println!(
        "The account: bucket {BUCKET} (sensitive; its policy lets role {ETL_ROLE} read) and {OTHER_BUCKET};"
    );
    println!(
        "roles {INTRUDER_ROLE}, {ETL_ROLE}, {BREAK_GLASS_ROLE}; SQS queue {VERDICT_QUEUE}; SNS topic {ALERT_TOPIC}.\n"
    );
    let before = world.state().await?;
    show_state("BEFORE", &before);

    println!(
        "1. The incident: role {INTRUDER_ROLE} (session {INTRUDER_SESSION}) reads s3://{BUCKET}/{OBJECT_KEY}."
    );
    println!(
        "   CloudTrail → EventBridge → a Python function with gavel attached (GAVEL_MODE=enforce,"
    );
    println!(
        "   GAVEL_POLICIES=unauthorized-access, GAVEL_DESTINATION_ON_DENY=<{VERDICT_QUEUE} ARN>)."
    );
    let (result, messages) = world.judge(gavel).await?;
    match &result.error {
        Some(e) => println!("   the caller got: error {}", e.error_type),
        None => println!("   the caller got: {}", result.text()),
    }
    for m in &messages {
        let record: Value =
            serde_json::from_str(m.body.as_deref().unwrap_or("")).unwrap_or_default();
        let v = &record["verdict"];
        for p in v["policies"].as_array().into_iter().flatten() {
            let rules: Vec<&str> = p["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["ruleId"].as_str())
                .collect();
            println!(
                "   verdict: {} by {} ({}), actions:",
                v["decision"].as_str().unwrap_or("?"),
                p["name"].as_str().unwrap_or("?"),
                rules.join(", ")
            );
            for a in p["actions"].as_array().into_iter().flatten() {
                println!("     {}", a.as_str().unwrap_or(""));
            }
        }
    }
    println!(
        "   {} record(s) received from {VERDICT_QUEUE}\n",
        messages.len()
    );

    println!(
        "2. gavel-responder as a Lambda function (provided runtime), invoked with the SQS event:"
    );
    let event = world.sqs_event(&messages);
    let (answer, reports) = world.respond(&responder, &event, false).await?;
    println!("   answer: {answer}");
    for r in &reports {
        show_report(r);
    }
    println!();
    let after = world.state().await?;
    show_state("AFTER", &after);

    println!("3. The notification on {ALERT_TOPIC} (read from a subscribed queue):");
    for (subject, message) in world.notifications().await? {
        println!("   Subject: {subject}");
        println!("{}", indent(&message, 3));
    }
    println!();

    println!("4. The same record delivered again (SQS is at-least-once):");
    let (answer, reports) = world.respond(&responder, &event, false).await?;
    println!("   answer: {answer}");
    for r in &reports {
        show_report(r);
    }
    let again = world.state().await?;
    println!(
        "   state after the redelivery {} the state after the first run",
        if again == after {
            "is identical to"
        } else {
            "DIFFERS from"
        }
    );
    let _ = world.notifications().await?;
    println!(
        "\nUndo the quarantine (as the break-glass role): target/debug/gavel-responder restore-bucket {BUCKET}"
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-response: {e}");
            ExitCode::FAILURE
        }
    }
}
