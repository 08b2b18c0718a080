//! gavel-responder: an incident-response Lambda function that acts on gavel verdict records.
//!
//! gavel delivers a record per judged invocation (the Lambda Destinations record plus
//! `verdict`); policies suggest responses in `verdict.policies[].actions`. This function
//! consumes those records from SQS or SNS and carries out the ones its allow-lists permit:
//!
//! | action | does |
//! |---|---|
//! | `quarantine-bucket:<bucket>` | saves the bucket policy and public access block to `gavel-quarantine/previous-policy.json` in the bucket, puts a policy denying `s3:*` to everyone but the break-glass role, blocks all public access |
//! | `revoke-principal:<arn>` | inline policy `gavel-revoke` (deny all + revoke sessions issued before now) on the role (sessions resolve to their role) or user; a user's active access keys become `Inactive` |
//! | `notify:<topic-arn>` | publishes a human-readable summary to the topic |
//!
//! ```no_run
//! # async fn run() {
//! use gavel_responder::{Config, Responder};
//! let config = Config::from_env().expect("GAVEL_RESPONDER_* variables");
//! let aws = gavel_responder::aws::load_config().await;
//! let responder = Responder::new(config, &aws);
//! let event = serde_json::json!({"Records": []});
//! let answer = responder.handle(event).await.unwrap();
//! assert_eq!(answer, serde_json::json!({"batchItemFailures": []}));
//! # }
//! ```
//!
//! Modules: [`config`] (variables), [`record`] (reading records), [`actions`] (S3, IAM),
//! [`notify`] (summaries), [`report`] (what was done), [`handler`] (one invocation).

#![warn(missing_docs)]

pub mod actions;
pub mod arn;
pub mod aws;
pub mod config;
pub mod glob;
pub mod handler;
pub mod notify;
pub mod record;
pub mod report;

pub use config::Config;
pub use handler::{HandlerError, Responder};
pub use report::{Outcome, Report};
