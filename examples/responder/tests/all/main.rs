//! gavel-responder against a real `moto_server` (one per test, on a free loopback port): each
//! action changes what it should and nothing else, is idempotent, honours dry-run and the
//! allow-lists; and the whole loop with gavel attached.

#[path = "../../demo/moto.rs"]
#[allow(dead_code)]
mod moto;
#[path = "../../demo/scenario.rs"]
#[allow(dead_code)]
mod scenario;

mod handler;
mod iam;
mod notify;
mod response_loop;
mod s3;

use std::collections::HashMap;

use aws_config::SdkConfig;
use gavel_responder::{Config, Report, Responder};
use serde_json::{Value, json};

use moto::{Clients, Moto, arn};

pub const BREAK_GLASS: &str = "arn:aws:iam::123456789012:role/break-glass";

/// A moto server and clients on it.
pub struct Fixture {
    pub moto: Moto,
    pub aws: SdkConfig,
    pub c: Clients,
}

impl Fixture {
    pub async fn start() -> Self {
        let moto = Moto::start().unwrap_or_else(|e| panic!("{e}"));
        let aws = moto::sdk_config(&moto).await;
        let c = Clients::new(&aws);
        Self { moto, aws, c }
    }

    /// A responder with `vars` as its environment.
    pub fn responder(&self, vars: &[(&str, &str)]) -> Responder {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Responder::new(Config::from_map(&env).unwrap(), &self.aws)
    }
}

/// A gavel deny record with `actions`.
pub fn record(request_id: &str, decision: &str, actions: &[String]) -> Value {
    json!({
        "version": "1.0", "timestamp": "2026-11-29T20:00:00.000Z",
        "requestContext": {"requestId": request_id,
            "functionArn": arn("lambda", "function:orders"), "condition": "Blocked"},
        "requestPayload": {"detail-type": "AWS API Call via CloudTrail"},
        "requestPayloadSha256": "a".repeat(64),
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "verdict": {"decision": decision, "mode": "enforce", "enforced": decision == "deny", "policies": [
            {"name": "unauthorized-access", "version": "0.1.0", "phase": "request", "decision": decision,
             "findings": [{"ruleId": "ua.sensitive-bucket", "severity": "high",
                "message": "s3:GetObject on sensitive bucket by a principal not in allowedPrincipals"}],
             "actions": actions}]}
    })
}

/// Runs one record through the responder (no report delivery).
pub async fn respond(r: &Responder, record: &Value) -> Report {
    r.respond(&gavel_responder::record::Record::from_value(record.clone()).unwrap())
        .await
}

/// `(action, outcome)` of every action in a report.
pub fn outcomes(report: &Report) -> Vec<(String, &'static str)> {
    report
        .responder
        .actions
        .iter()
        .map(|a| (a.action.clone(), a.outcome.as_str()))
        .collect()
}

pub async fn create_role(c: &Clients, name: &str) {
    c.iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
}
