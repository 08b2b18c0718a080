//! `make demo`: a Python function (the real `awslambdaric` runtime client) with the gavel layer
//! attached, in a local Lambda environment, judging benign and malicious events — first in
//! monitor mode, then in enforce mode — with a table of decisions and where records went.

use std::path::PathBuf;

use gavel_e2e::{LambdaEnv, Options, Runtime, paths};
use serde_json::{Value, json};

const EICAR: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn http(method: &str, path: &str, query: &str, body: Option<&str>) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": {"host": "api.example.com", "user-agent": "curl/8.5.0", "content-type": "text/plain"},
        "queryStringParameters": if query.is_empty() { Value::Null } else {
            let (k, v) = query.split_once('=').unwrap_or((query, ""));
            json!({k: v})
        },
        "requestContext": {"accountId": "111122223333", "apiId": "demo", "domainName": "api.example.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "curl/8.5.0"},
            "requestId": "demo", "routeKey": "$default", "stage": "$default", "time": "29/Nov/2026:20:00:00 +0000", "timeEpoch": 1796068800000u64},
        "body": body, "isBase64Encoded": false,
    })
}

fn s3_policy_change() -> Value {
    json!({
        "version": "0", "id": "7f1c0c1e-demo", "detail-type": "AWS API Call via CloudTrail", "source": "aws.s3",
        "account": "111122223333", "time": "2026-11-29T20:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {
            "eventVersion": "1.09", "eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy",
            "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.23", "userAgent": "aws-cli/2.15.0",
            "recipientAccountId": "111122223333",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLEINTRUDER:mallory",
                "arn": "arn:aws:sts::111122223333:assumed-role/contractor/mallory", "accountId": "111122223333",
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/contractor",
                    "accountId": "111122223333", "userName": "contractor"}}},
            "requestParameters": {"bucketName": "payroll-exports", "policy": {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                    "Action": "s3:GetObject", "Resource": "arn:aws:s3:::payroll-exports/*"}]}},
        }
    })
}

struct Case {
    name: &'static str,
    event: Value,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "benign API call",
            event: http("GET", "/orders", "id=42", None),
        },
        Case {
            name: "EICAR upload",
            event: http("POST", "/upload", "", Some(EICAR)),
        },
        Case {
            name: "SQL injection",
            event: http("GET", "/orders", "id=1' OR '1'='1", None),
        },
        Case {
            name: "unauthorized S3 policy change",
            event: s3_policy_change(),
        },
        Case {
            name: "response leaking a key",
            event: http("GET", "/debug", "", None),
        },
    ]
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

#[tokio::main]
async fn main() {
    let Some(gavel) = paths::gavel_bin() else {
        eprintln!(
            "demo: no gavel binary at {} (run `make demo`)",
            paths::gavel_bin_path().display()
        );
        std::process::exit(1);
    };
    let out = PathBuf::from("target/demo");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("target/demo");
    let out = std::fs::canonicalize(&out).expect("target/demo");
    println!(
        "gavel demo: a Python function (awslambdaric) with the gavel layer attached, in a local Lambda environment\n"
    );

    for mode in ["monitor", "enforce"] {
        let file = |d: &str| format!("file:{}/{mode}-{d}.jsonl", out.display());
        let opts = Options::with_gavel(Runtime::python("demo"), gavel.clone())
            .env("GAVEL_MODE", mode)
            .env("GAVEL_POLICY_DIR", paths::policy_dir().display().to_string())
            .env("GAVEL_DESTINATION_ON_DENY", file("deny"))
            .env("GAVEL_DESTINATION_ON_ALERT", file("alert"))
            .env("GAVEL_DESTINATION_ON_ALLOW", file("allow"))
            .env(
                "GAVEL_SETTINGS_UNAUTHORIZED_ACCESS",
                r#"{"homeAccounts":["111122223333"],"sensitiveBuckets":["payroll-*"],"allowedPrincipals":["arn:aws:iam::111122223333:role/payroll-etl"]}"#,
            );
        let mut env = match LambdaEnv::start(opts).await {
            Ok(env) => env,
            Err(e) => {
                eprintln!("demo: the Lambda environment did not start: {e}");
                std::process::exit(1);
            }
        };
        println!("GAVEL_MODE={mode}");
        println!(
            "  {:<30} {:<8} {:<44} {:<34} delivered to",
            "event", "decision", "rules", "caller got"
        );
        let mut ids = Vec::new();
        for case in cases() {
            let r = env.invoke(&serde_json::to_vec(&case.event).unwrap()).await;
            let got = match &r.error {
                Some(e) => format!("error {}", e.error_type),
                None => short(&r.text(), 34),
            };
            ids.push((case.name, r.request_id.clone(), got));
        }
        let report = env.shutdown().await;
        for (name, id, got) in ids {
            let mut found = None;
            for d in ["deny", "alert", "allow"] {
                let path = out.join(format!("{mode}-{d}.jsonl"));
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if let Some(line) = text.lines().find(|l| l.contains(&id)) {
                    found = Some((serde_json::from_str::<Value>(line).unwrap(), path));
                }
            }
            let Some((record, path)) = found else {
                println!("  {name:<30} (no record: check the extension log)");
                continue;
            };
            let verdict = &record["verdict"];
            let rules: Vec<String> = verdict["policies"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| p["findings"].as_array().into_iter().flatten())
                .filter_map(|f| f["ruleId"].as_str().map(String::from))
                .collect();
            let rules = if rules.is_empty() {
                "-".to_string()
            } else {
                rules.join(",")
            };
            println!(
                "  {name:<30} {:<8} {:<44} {:<34} {}",
                verdict["decision"].as_str().unwrap_or("?"),
                short(&rules, 44),
                got,
                path.file_name().unwrap().to_string_lossy()
            );
        }
        println!(
            "  extension exited after SHUTDOWN: {}\n",
            report.exited_in_time
        );
    }
    let sample = std::fs::read_to_string(out.join("enforce-deny.jsonl")).unwrap_or_default();
    if let Some(line) = sample.lines().last() {
        let record: Value = serde_json::from_str(line).unwrap();
        let mut shown = record.clone();
        shown["requestPayload"] = json!("…");
        shown["responsePayload"] = json!("…");
        println!(
            "One delivered record (payloads elided), from {}:",
            out.join("enforce-deny.jsonl").display()
        );
        println!("{}", serde_json::to_string_pretty(&shown).unwrap());
    }
    println!("\nAll records: {}/*.jsonl", out.display());
}
