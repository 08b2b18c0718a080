//! AWS destinations: SNS topics, SQS queues, Lambda functions (asynchronous invoke) and
//! EventBridge buses, through the AWS SDK for Rust. One shared SDK configuration (the standard
//! chain: `AWS_ENDPOINT_URL*`, region, credentials), one client per destination built on first
//! use, per-entry results so the caller retries only what failed. The SDK's own retries are off:
//! the caller retries inside its time budget and spools the rest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::{Arn, DestinationSpec, shrink};

/// Entries per batch call (SendMessageBatch, PublishBatch, PutEvents).
pub const MAX_BATCH_ENTRIES: usize = 10;
/// SNS message (body + attributes), and a PublishBatch in total.
pub const SNS_MAX_BYTES: usize = 256 * 1024;
/// SQS message (body + attributes), and a SendMessageBatch in total.
pub const SQS_MAX_BYTES: usize = 1024 * 1024;
/// EventBridge entry, and a PutEvents request in total.
pub const EVENTBRIDGE_MAX_BYTES: usize = 256 * 1024;
/// Payload of an asynchronous (`Event`) Invoke: "1 MB" in the Lambda quotas; kept under 10^6.
pub const LAMBDA_EVENT_MAX_BYTES: usize = 1_000_000;
/// Room kept for message attributes, entry ids and the EventBridge envelope fields, all of which
/// count towards the limits.
const ENVELOPE_RESERVE: usize = 2048;
/// A connection that does not open in this time is an outage, not a slow network.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// An AWS destination failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AwsError {
    /// The call (or the whole batch) failed.
    #[error("{destination}: {message}")]
    Call {
        /// The destination's ARN.
        destination: String,
        /// What the SDK said.
        message: String,
    },
    /// The service rejected one entry of a batch.
    #[error("{destination}: entry rejected: {code}: {message}")]
    Entry {
        /// The destination's ARN.
        destination: String,
        /// Error code.
        code: String,
        /// Message.
        message: String,
    },
}

/// The HTTP client every AWS destination uses: hyper 1 + rustls on ring, plain `http://`
/// endpoints (loopback emulators) included.
pub fn http_client() -> aws_sdk_sqs::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The standard configuration chain (environment, profile, container/instance credentials),
/// with gavel's HTTP client.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}

/// The SDK configuration all AWS destinations share: given (tests, the demo), or loaded from
/// the standard chain on first use (so `Delivery::open` stays synchronous and cheap).
#[derive(Debug, Default)]
pub struct AwsContext {
    preset: Option<SdkConfig>,
    loaded: OnceCell<SdkConfig>,
}

impl AwsContext {
    /// A context that loads the standard chain on first use.
    pub fn standard() -> Self {
        Self::default()
    }

    /// A context with a ready configuration (it must carry an HTTP client: see [`http_client`]).
    pub fn with_config(config: SdkConfig) -> Self {
        Self {
            preset: Some(config),
            loaded: OnceCell::new(),
        }
    }

    async fn config(&self) -> &SdkConfig {
        match &self.preset {
            Some(config) => config,
            None => self.loaded.get_or_init(load_config).await,
        }
    }
}

/// What a destination needs to know about a record, read from the record itself.
#[derive(Debug, Clone)]
pub struct RecordMeta {
    /// `requestContext.requestId`.
    pub request_id: String,
    /// `verdict.decision`.
    pub decision: String,
    /// Function name (from `requestContext.functionArn`).
    pub function: String,
    /// Highest finding severity, `none` without findings.
    pub severity: String,
    /// sha256 of the record text, hex.
    pub sha256: String,
}

impl RecordMeta {
    /// Read the routing fields; a record that is not JSON still gets placeholders (it is
    /// delivered anyway).
    pub fn of(record: &str) -> Self {
        let value: Value = serde_json::from_str(record).unwrap_or(Value::Null);
        let text = |p: &str| value.pointer(p).and_then(Value::as_str).map(str::to_string);
        let function_arn = text("/requestContext/functionArn").unwrap_or_default();
        // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
        let function = function_arn
            .split(':')
            .nth(6)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| "unknown".into());
        let severity = value
            .pointer("/verdict/policies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.get("findings").and_then(Value::as_array))
            .flatten()
            .filter_map(|f| f.get("severity").and_then(Value::as_str))
            .max_by_key(|s| severity_rank(s))
            .unwrap_or("none")
            .to_string();
        Self {
            request_id: text("/requestContext/requestId").unwrap_or_default(),
            decision: text("/verdict/decision").unwrap_or_else(|| "unknown".into()),
            function,
            severity,
            sha256: hex::encode(Sha256::digest(record.as_bytes())),
        }
    }

    /// FIFO deduplication id: sha256(request id + record sha256). A retried or re-spooled
    /// record carries the same id, so FIFO destinations drop the duplicate.
    pub fn dedup_id(&self) -> String {
        hex::encode(Sha256::digest(
            format!("{}{}", self.request_id, self.sha256).as_bytes(),
        ))
    }

    fn attributes(&self) -> [(&'static str, &str); 3] {
        [
            ("decision", self.decision.as_str()),
            ("function", self.function.as_str()),
            ("severity", self.severity.as_str()),
        ]
    }
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sns,
    Sqs,
    Lambda,
    EventBridge,
}

#[derive(Debug, Clone)]
enum Client {
    Sns(aws_sdk_sns::Client),
    Sqs(aws_sdk_sqs::Client),
    Lambda(aws_sdk_lambda::Client),
    EventBridge(aws_sdk_eventbridge::Client),
}

/// One AWS destination.
#[derive(Debug)]
pub struct AwsDestination {
    kind: Kind,
    arn: Arn,
    fifo: bool,
    context: Arc<AwsContext>,
    client: OnceCell<Client>,
    queue_url: OnceCell<String>,
}

impl AwsDestination {
    /// The AWS destination for `spec`, or `None` for local ones.
    pub fn new(spec: &DestinationSpec, context: Arc<AwsContext>) -> Option<Self> {
        let (kind, arn) = match spec {
            DestinationSpec::Sns(a) => (Kind::Sns, a),
            DestinationSpec::Sqs(a) => (Kind::Sqs, a),
            DestinationSpec::Lambda(a) => (Kind::Lambda, a),
            DestinationSpec::EventBridge(a) => (Kind::EventBridge, a),
            DestinationSpec::Stdout | DestinationSpec::File(_) => return None,
        };
        Some(Self {
            kind,
            fifo: arn.name.ends_with(".fifo"),
            arn: arn.clone(),
            context,
            client: OnceCell::new(),
            queue_url: OnceCell::new(),
        })
    }

    /// The ARN.
    pub fn label(&self) -> &str {
        &self.arn.arn
    }

    /// Largest message body this destination takes (records above it are shrunk).
    pub fn max_record_bytes(&self) -> usize {
        let limit = match self.kind {
            Kind::Sns => SNS_MAX_BYTES,
            Kind::Sqs => SQS_MAX_BYTES,
            Kind::Lambda => LAMBDA_EVENT_MAX_BYTES,
            Kind::EventBridge => EVENTBRIDGE_MAX_BYTES,
        };
        limit - ENVELOPE_RESERVE
    }

    /// Entries per call: 10 for the batch APIs, 1 for Invoke.
    pub fn max_batch(&self) -> usize {
        match self.kind {
            Kind::Lambda => 1,
            _ => MAX_BATCH_ENTRIES,
        }
    }

    /// Bytes per batch call in total.
    fn max_batch_bytes(&self) -> usize {
        match self.kind {
            Kind::Sns => SNS_MAX_BYTES,
            Kind::Sqs => SQS_MAX_BYTES,
            Kind::Lambda => LAMBDA_EVENT_MAX_BYTES,
            Kind::EventBridge => EVENTBRIDGE_MAX_BYTES,
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let config = self.context.config().await;
                // The ARN's region wins: a destination may live elsewhere than the function.
                let region = aws_config::Region::new(self.arn.region.clone());
                let timeouts = aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .build();
                let retry = aws_config::retry::RetryConfig::disabled();
                match self.kind {
                    Kind::Sns => Client::Sns(aws_sdk_sns::Client::from_conf(
                        aws_sdk_sns::config::Builder::from(config)
                            .region(region)
                            .retry_config(retry)
                            .timeout_config(timeouts)
                            .build(),
                    )),
                    Kind::Sqs => Client::Sqs(aws_sdk_sqs::Client::from_conf(
                        aws_sdk_sqs::config::Builder::from(config)
                            .region(region)
                            .retry_config(retry)
                            .timeout_config(timeouts)
                            .build(),
                    )),
                    Kind::Lambda => Client::Lambda(aws_sdk_lambda::Client::from_conf(
                        aws_sdk_lambda::config::Builder::from(config)
                            .region(region)
                            .retry_config(retry)
                            .timeout_config(timeouts)
                            .build(),
                    )),
                    Kind::EventBridge => {
                        Client::EventBridge(aws_sdk_eventbridge::Client::from_conf(
                            aws_sdk_eventbridge::config::Builder::from(config)
                                .region(region)
                                .retry_config(retry)
                                .timeout_config(timeouts)
                                .build(),
                        ))
                    }
                }
            })
            .await
    }

    /// Split `records` into the calls this destination takes (entry count and total bytes),
    /// after shrinking each. Returns index ranges into `records`.
    pub fn plan(&self, records: &[Arc<str>]) -> Vec<std::ops::Range<usize>> {
        let cap = self.max_record_bytes();
        let mut plan = vec![];
        let (mut start, mut bytes) = (0, 0);
        for (i, r) in records.iter().enumerate() {
            let size = r.len().min(cap) + ENVELOPE_RESERVE / 4;
            if i > start && (i - start == self.max_batch() || bytes + size > self.max_batch_bytes())
            {
                plan.push(start..i);
                (start, bytes) = (i, 0);
            }
            bytes += size;
        }
        if start < records.len() {
            plan.push(start..records.len());
        }
        plan
    }

    /// Send one call's worth of records (at most [`Self::max_batch`]); one result per record.
    pub async fn send(&self, records: &[Arc<str>]) -> Vec<Result<(), AwsError>> {
        let cap = self.max_record_bytes();
        let prepared: Vec<(RecordMeta, String)> = records
            .iter()
            .map(|r| (RecordMeta::of(r), shrink::shrink(r, cap).into_owned()))
            .collect();
        let outcome = match self.client().await {
            Client::Sns(c) => self.send_sns(c, &prepared).await,
            Client::Sqs(c) => self.send_sqs(c, &prepared).await,
            Client::Lambda(c) => self.send_lambda(c, &prepared).await,
            Client::EventBridge(c) => self.send_events(c, &prepared).await,
        };
        match outcome {
            Ok(per_entry) => per_entry,
            Err(message) => {
                let e = self.call_error(message);
                records.iter().map(|_| Err(e.clone())).collect()
            }
        }
    }

    fn call_error(&self, message: String) -> AwsError {
        AwsError::Call {
            destination: self.arn.arn.clone(),
            message,
        }
    }

    fn entry_results<'a>(
        &self,
        n: usize,
        failed: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Vec<Result<(), AwsError>> {
        let mut out: Vec<Result<(), AwsError>> = (0..n).map(|_| Ok(())).collect();
        for (id, code, message) in failed {
            if let Some(i) = id.strip_prefix('e').and_then(|i| i.parse::<usize>().ok())
                && i < n
            {
                out[i] = Err(AwsError::Entry {
                    destination: self.arn.arn.clone(),
                    code: code.into(),
                    message: message.into(),
                });
            }
        }
        out
    }

    async fn send_sns(
        &self,
        client: &aws_sdk_sns::Client,
        prepared: &[(RecordMeta, String)],
    ) -> Result<Vec<Result<(), AwsError>>, String> {
        use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
        let mut request = client.publish_batch().topic_arn(&self.arn.arn);
        for (i, (meta, body)) in prepared.iter().enumerate() {
            let mut attributes = HashMap::new();
            for (k, v) in meta.attributes() {
                let value = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(v)
                    .build()
                    .map_err(|e| e.to_string())?;
                attributes.insert(k.to_string(), value);
            }
            let mut entry = PublishBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message(body)
                .set_message_attributes(Some(attributes));
            if self.fifo {
                entry = entry
                    .message_group_id(&meta.function)
                    .message_deduplication_id(meta.dedup_id());
            }
            request =
                request.publish_batch_request_entries(entry.build().map_err(|e| e.to_string())?);
        }
        let out = request.send().await.map_err(sdk_message)?;
        Ok(self.entry_results(
            prepared.len(),
            out.failed()
                .iter()
                .map(|f| (f.id(), f.code(), f.message().unwrap_or_default())),
        ))
    }

    async fn queue_url(&self, client: &aws_sdk_sqs::Client) -> Result<&str, String> {
        self.queue_url
            .get_or_try_init(|| async {
                let out = client
                    .get_queue_url()
                    .queue_name(&self.arn.name)
                    .queue_owner_aws_account_id(&self.arn.account)
                    .send()
                    .await
                    .map_err(sdk_message)?;
                out.queue_url()
                    .map(str::to_string)
                    .ok_or_else(|| "GetQueueUrl returned no URL".to_string())
            })
            .await
            .map(String::as_str)
    }

    async fn send_sqs(
        &self,
        client: &aws_sdk_sqs::Client,
        prepared: &[(RecordMeta, String)],
    ) -> Result<Vec<Result<(), AwsError>>, String> {
        use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
        let url = self.queue_url(client).await?;
        let mut request = client.send_message_batch().queue_url(url);
        for (i, (meta, body)) in prepared.iter().enumerate() {
            let mut attributes = HashMap::new();
            for (k, v) in meta.attributes() {
                let value = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(v)
                    .build()
                    .map_err(|e| e.to_string())?;
                attributes.insert(k.to_string(), value);
            }
            let mut entry = SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body(body)
                .set_message_attributes(Some(attributes));
            if self.fifo {
                entry = entry
                    .message_group_id(&meta.function)
                    .message_deduplication_id(meta.dedup_id());
            }
            request = request.entries(entry.build().map_err(|e| e.to_string())?);
        }
        let out = request.send().await.map_err(sdk_message)?;
        Ok(self.entry_results(
            prepared.len(),
            out.failed()
                .iter()
                .map(|f| (f.id(), f.code(), f.message().unwrap_or_default())),
        ))
    }

    async fn send_lambda(
        &self,
        client: &aws_sdk_lambda::Client,
        prepared: &[(RecordMeta, String)],
    ) -> Result<Vec<Result<(), AwsError>>, String> {
        let mut results = vec![];
        for (_, body) in prepared {
            let out = client
                .invoke()
                .function_name(&self.arn.arn)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(body.as_bytes()))
                .send()
                .await;
            results.push(match out {
                Ok(out) if out.status_code() == 202 => Ok(()),
                Ok(out) => Err(self.call_error(format!(
                    "Invoke answered {} instead of 202",
                    out.status_code()
                ))),
                Err(e) => Err(self.call_error(sdk_message(e))),
            });
        }
        Ok(results)
    }

    async fn send_events(
        &self,
        client: &aws_sdk_eventbridge::Client,
        prepared: &[(RecordMeta, String)],
    ) -> Result<Vec<Result<(), AwsError>>, String> {
        use aws_sdk_eventbridge::types::PutEventsRequestEntry;
        let mut request = client.put_events();
        for (_, body) in prepared {
            request = request.entries(
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.arn.arn)
                    .source("gavel")
                    .detail_type("Gavel Verdict")
                    .detail(body)
                    .build(),
            );
        }
        let out = request.send().await.map_err(sdk_message)?;
        // PutEvents answers one entry per request entry, in order.
        let failed = out.entries().iter().enumerate().filter_map(|(i, e)| {
            e.error_code().map(|code| {
                (
                    i,
                    code.to_string(),
                    e.error_message().unwrap_or_default().to_string(),
                )
            })
        });
        let failed: Vec<(String, String, String)> = failed
            .map(|(i, code, message)| (format!("e{i}"), code, message))
            .collect();
        Ok(self.entry_results(
            prepared.len(),
            failed
                .iter()
                .map(|(i, c, m)| (i.as_str(), c.as_str(), m.as_str())),
        ))
    }
}

/// The SDK's error with its source chain, which carries the useful part ("connection refused",
/// the service's error code).
fn sdk_message<E: std::error::Error>(e: E) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_reads_routing_fields() {
        let record = serde_json::json!({
            "requestContext": {"requestId": "r-9", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders:live"},
            "verdict": {"decision": "deny", "policies": [
                {"findings": [{"severity": "medium"}]},
                {"findings": [{"severity": "critical"}, {"severity": "low"}]}]}
        })
        .to_string();
        let meta = RecordMeta::of(&record);
        assert_eq!(
            (
                meta.request_id.as_str(),
                meta.decision.as_str(),
                meta.function.as_str(),
                meta.severity.as_str()
            ),
            ("r-9", "deny", "orders", "critical")
        );
        assert_eq!(meta.dedup_id(), RecordMeta::of(&record).dedup_id());
        assert_eq!(meta.dedup_id().len(), 64);
        let bare = RecordMeta::of("{}");
        assert_eq!(
            (bare.function.as_str(), bare.severity.as_str()),
            ("unknown", "none")
        );
    }

    #[test]
    fn plans_batches_by_count_and_bytes() {
        let spec = DestinationSpec::parse("arn:aws:sns:us-east-1:123456789012:t").unwrap();
        let sns = AwsDestination::new(&spec, Arc::new(AwsContext::standard())).unwrap();
        let small: Vec<Arc<str>> = (0..25).map(|_| Arc::from("{}")).collect();
        assert_eq!(sns.plan(&small), vec![0..10, 10..20, 20..25]);
        let big: Vec<Arc<str>> = (0..3).map(|_| Arc::from("x".repeat(200_000))).collect();
        assert_eq!(sns.plan(&big), vec![0..1, 1..2, 2..3]);
        let spec =
            DestinationSpec::parse("arn:aws:lambda:us-east-1:123456789012:function:f").unwrap();
        let lambda = AwsDestination::new(&spec, Arc::new(AwsContext::standard())).unwrap();
        assert_eq!(lambda.plan(&small[..3]), vec![0..1, 1..2, 2..3]);
    }
}
