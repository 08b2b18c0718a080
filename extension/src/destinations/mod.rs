//! Destinations: where verdict records go. Parsing of destination strings, the local sinks
//! (`stdout`, `file:`) behind the [`Destination`] trait, the AWS destinations (SNS, SQS,
//! Lambda, EventBridge; [`aws`]), record shrinking and the spool. This module is the only one
//! that talks to the AWS SDK.

pub mod aws;
mod local;
pub mod shrink;
pub mod spool;

use std::path::PathBuf;
use std::time::Duration;

pub use aws::{AwsContext, AwsDestination, AwsError};
pub use aws_config::SdkConfig;
pub use local::{FileSink, StdoutSink};
pub use spool::{Spool, SpoolError, Spooled};

/// How delivery behaves (the extension's `Delivery::open` uses the defaults with the configured
/// budget; tests and the demo point the spool and the AWS SDK elsewhere).
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Time one `deliver` may take (`GAVEL_DELIVERY_BUDGET_MS`).
    pub budget: Duration,
    /// Spool directory.
    pub spool_dir: PathBuf,
    /// Spool bound in bytes.
    pub spool_max_bytes: u64,
    /// AWS SDK configuration; `None` loads the standard chain on first use.
    pub aws: Option<SdkConfig>,
}

impl DeliveryOptions {
    /// Defaults: `/tmp/gavel-spool`, 128 MiB, the standard AWS chain.
    pub fn new(budget: Duration) -> Self {
        Self {
            budget,
            spool_dir: spool::DEFAULT_DIR.into(),
            spool_max_bytes: spool::DEFAULT_MAX_BYTES,
            aws: None,
        }
    }
}

/// A parsed destination from `GAVEL_DESTINATION_ON_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationSpec {
    /// One JSON line per record on the extension's stdout (the function's log stream).
    Stdout,
    /// JSON lines appended to an absolute path.
    File(PathBuf),
    /// `arn:aws:sns:<region>:<account>:<topic>`.
    Sns(Arn),
    /// `arn:aws:sqs:<region>:<account>:<queue>`.
    Sqs(Arn),
    /// `arn:aws:lambda:<region>:<account>:function:<name>` (asynchronous invoke).
    Lambda(Arn),
    /// `arn:aws:events:<region>:<account>:event-bus/<name>`.
    EventBridge(Arn),
}

/// The parts of an ARN a destination needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// The full ARN as given.
    pub arn: String,
    /// Region.
    pub region: String,
    /// Account id.
    pub account: String,
    /// Topic, queue, function or bus name.
    pub name: String,
}

/// Why a destination string was refused.
#[derive(Debug, thiserror::Error)]
#[error("`{value}`: {problem}")]
pub struct DestinationError {
    value: String,
    problem: String,
}

impl DestinationSpec {
    /// Parse one destination; the error says what form was expected.
    pub fn parse(value: &str) -> Result<Self, DestinationError> {
        let fail = |problem: &str| DestinationError {
            value: value.to_string(),
            problem: problem.to_string(),
        };
        if value == "stdout" {
            return Ok(Self::Stdout);
        }
        if let Some(path) = value.strip_prefix("file:") {
            if !path.starts_with('/') {
                return Err(fail(
                    "file destinations need an absolute path: file:/tmp/verdicts.jsonl",
                ));
            }
            return Ok(Self::File(PathBuf::from(path)));
        }
        if !value.starts_with("arn:") {
            return Err(fail(
                "expected stdout, file:<absolute path>, or an SNS/SQS/Lambda/EventBridge ARN",
            ));
        }
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        let [_, partition, service, region, account, resource] = parts.as_slice() else {
            return Err(fail("an ARN has six `:`-separated parts"));
        };
        if partition.is_empty()
            || region.is_empty()
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(fail(
                "ARN needs a partition, a region and a 12-digit account",
            ));
        }
        let arn = |name: &str| Arn {
            arn: value.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            name: name.to_string(),
        };
        let valid_name = |n: &str| !n.is_empty() && !n.contains([':', '/']);
        match *service {
            "sns" if valid_name(resource) => Ok(Self::Sns(arn(resource))),
            "sqs" if valid_name(resource) => Ok(Self::Sqs(arn(resource))),
            "lambda" => match resource.strip_prefix("function:") {
                Some(name) if !name.is_empty() && !name.contains('/') => {
                    Ok(Self::Lambda(arn(name)))
                }
                _ => Err(fail(
                    "Lambda destinations look like arn:aws:lambda:<region>:<account>:function:<name>",
                )),
            },
            "events" => match resource.strip_prefix("event-bus/") {
                Some(name) if valid_name(name) => Ok(Self::EventBridge(arn(name))),
                _ => Err(fail(
                    "EventBridge destinations look like arn:aws:events:<region>:<account>:event-bus/<name>",
                )),
            },
            "sns" | "sqs" => Err(fail("the topic or queue name is missing or malformed")),
            other => Err(fail(&format!(
                "service `{other}` is not a destination (sns, sqs, lambda, events)"
            ))),
        }
    }

    /// A short label for logs and the demo table.
    pub fn label(&self) -> String {
        match self {
            Self::Stdout => "stdout".into(),
            Self::File(p) => format!("file:{}", p.display()),
            Self::Sns(a) | Self::Sqs(a) | Self::Lambda(a) | Self::EventBridge(a) => a.arn.clone(),
        }
    }
}

/// Delivery failure of one destination; the caller retries or spools.
#[derive(Debug, thiserror::Error)]
#[error("{destination}: {message}")]
pub struct DeliveryError {
    /// The destination's label.
    pub destination: String,
    /// What went wrong.
    pub message: String,
}

/// A place verdict records are delivered to. `records` are complete JSON objects, one per
/// invocation, already serialised.
pub trait Destination: Send + Sync {
    /// The label (`stdout`, `file:/...`, an ARN).
    fn label(&self) -> String;
    /// Deliver a batch; all or nothing from the caller's view.
    fn deliver(&self, records: &[String]) -> Result<(), DeliveryError>;
}

/// Build the sink for a local spec (`stdout`, `file:`). AWS destinations are asynchronous and
/// built with [`AwsDestination::new`].
pub fn open(spec: &DestinationSpec) -> Result<Box<dyn Destination>, DeliveryError> {
    match spec {
        DestinationSpec::Stdout => Ok(Box::new(StdoutSink)),
        DestinationSpec::File(path) => Ok(Box::new(FileSink::new(path.clone()))),
        other => Err(DeliveryError {
            destination: other.label(),
            message: "AWS destinations are opened with AwsDestination::new".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            DestinationSpec::parse("stdout").unwrap(),
            DestinationSpec::Stdout
        );
        assert_eq!(
            DestinationSpec::parse("file:/tmp/v.jsonl").unwrap(),
            DestinationSpec::File("/tmp/v.jsonl".into())
        );
        let DestinationSpec::Sqs(a) =
            DestinationSpec::parse("arn:aws:sqs:eu-west-1:123456789012:verdicts").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (a.region.as_str(), a.account.as_str(), a.name.as_str()),
            ("eu-west-1", "123456789012", "verdicts")
        );
        assert!(matches!(
            DestinationSpec::parse("arn:aws:sns:us-east-1:123456789012:t.fifo"),
            Ok(DestinationSpec::Sns(_))
        ));
        assert!(matches!(
            DestinationSpec::parse("arn:aws:lambda:us-east-1:123456789012:function:responder"),
            Ok(DestinationSpec::Lambda(a)) if a.name == "responder"
        ));
        assert!(matches!(
            DestinationSpec::parse("arn:aws:events:us-east-1:123456789012:event-bus/default"),
            Ok(DestinationSpec::EventBridge(a)) if a.name == "default"
        ));
    }

    #[test]
    fn refuses_with_the_expected_form() {
        for bad in [
            "file:relative.jsonl",
            "arn:aws:s3:::bucket",
            "arn:aws:sqs:us-east-1:123:q",
            "arn:aws:lambda:us-east-1:123456789012:responder",
            "arn:aws:events:us-east-1:123456789012:rule/x",
            "http://example.com",
        ] {
            let e = DestinationSpec::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
