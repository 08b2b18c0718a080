//! A real `moto_server` (from the repo's `.venv`, made by `tests/setup-venv.sh`) on a free
//! loopback port, killed on drop, plus the few SQS calls the fault tests read state with. SQS
//! speaks AWS JSON 1.0, so plain HTTP is enough here; gavel itself uses the AWS SDK.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::paths;

/// moto's default account.
pub const ACCOUNT: &str = "123456789012";
/// The region everything lives in.
pub const REGION: &str = "us-east-1";

/// A running moto server.
pub struct Moto {
    port: u16,
    child: Child,
}

impl Moto {
    /// Starts one on a free port and waits until it accepts connections.
    pub fn start() -> Result<Self, String> {
        let bin = paths::repo_root().join(".venv/bin/moto_server");
        if !bin.exists() {
            return Err(format!(
                "{} missing: run `bash tests/setup-venv.sh` (make test does)",
                bin.display()
            ));
        }
        let port = paths::free_port();
        let mut child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(st)) = child.try_wait() {
                return Err(format!("moto_server exited at start ({st})"));
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                return Err("moto_server did not listen within 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self { port, child })
    }

    /// The port it listens on (loopback).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Environment for a process using the AWS SDK against this server: endpoint, dummy
    /// credentials, region, and no developer `~/.aws` files.
    pub fn env(&self) -> Vec<(String, String)> {
        aws_env(&self.endpoint())
    }

    /// One SQS JSON-protocol call (`target` e.g. `CreateQueue`).
    pub async fn sqs(&self, target: &str, body: Value) -> Result<Value, String> {
        let request = hyper::Request::post(self.endpoint())
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{target}"))
            // moto does not verify signatures, but wants to know who is asking.
            .header(
                "authorization",
                format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/sqs/aws4_request, SignedHeaders=host, Signature=0"),
            )
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| e.to_string())?;
        let client = Client::builder(TokioExecutor::new()).build_http();
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("SQS {target}: {e}"))?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!(
                "SQS {target}: {status}: {}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("SQS {target}: {e}"))
    }

    /// Creates a queue; returns its URL and ARN.
    pub async fn create_queue(&self, name: &str) -> Result<(String, String), String> {
        let answer = self
            .sqs("CreateQueue", json!({ "QueueName": name }))
            .await?;
        let url = answer["QueueUrl"].as_str().unwrap_or_default().to_string();
        Ok((url, format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")))
    }

    /// How many messages a queue holds (SQS's approximate count, exact in moto): one call,
    /// where receiving thousands of messages from moto takes minutes.
    pub async fn queue_depth(&self, url: &str) -> Result<usize, String> {
        let answer = self
            .sqs(
                "GetQueueAttributes",
                json!({ "QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"] }),
            )
            .await?;
        answer["Attributes"]["ApproximateNumberOfMessages"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("GetQueueAttributes answered {answer}"))
    }

    /// Receives every message now in a queue (message bodies), deleting nothing: visibility
    /// hides received ones until the test is over.
    pub async fn receive_all(&self, url: &str) -> Result<Vec<String>, String> {
        let mut bodies = Vec::new();
        loop {
            let answer = self
                .sqs(
                    "ReceiveMessage",
                    json!({ "QueueUrl": url, "MaxNumberOfMessages": 10, "VisibilityTimeout": 600 }),
                )
                .await?;
            let messages = answer["Messages"].as_array().cloned().unwrap_or_default();
            if messages.is_empty() {
                return Ok(bodies);
            }
            bodies.extend(
                messages
                    .iter()
                    .filter_map(|m| m["Body"].as_str().map(String::from)),
            );
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The AWS SDK environment for an endpoint (also a dead one, for outage tests).
pub fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", REGION),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
