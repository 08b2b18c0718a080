//! A `moto_server` on a free loopback port (from the repo's `.venv`, made by
//! `tests/setup-venv.sh`), killed on drop, and AWS clients pointed at it. Shared by the
//! responder's tests and `make demo-response`.

use std::path::PathBuf;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;

pub use gavel_e2e::moto::{ACCOUNT, Moto, REGION};

/// An SDK configuration for `moto`: explicit endpoint, dummy credentials, us-east-1.
pub async fn sdk_config(moto: &Moto) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
        .http_client(gavel_responder::aws::http_client())
        .load()
        .await
}

/// Clients for setting up and reading back state.
pub struct Clients {
    /// S3 (path-style, as the responder's).
    pub s3: aws_sdk_s3::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
}

impl Clients {
    /// From a configuration.
    pub fn new(aws: &SdkConfig) -> Self {
        Self {
            s3: gavel_responder::aws::s3(aws),
            iam: aws_sdk_iam::Client::new(aws),
            sqs: aws_sdk_sqs::Client::new(aws),
            sns: aws_sdk_sns::Client::new(aws),
        }
    }

    /// Creates a queue; returns (url, arn).
    pub async fn queue(&self, name: &str) -> Result<(String, String), String> {
        let url = self
            .sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| format!("CreateQueue {name}: {}", gavel_responder::aws::describe(&e)))?
            .queue_url
            .unwrap_or_default();
        Ok((url, arn("sqs", name)))
    }

    /// Creates a topic with a queue subscribed to it; returns (topic arn, queue url).
    pub async fn topic_with_inbox(
        &self,
        topic: &str,
        inbox: &str,
    ) -> Result<(String, String), String> {
        let topic_arn = self
            .sns
            .create_topic()
            .name(topic)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "CreateTopic {topic}: {}",
                    gavel_responder::aws::describe(&e)
                )
            })?
            .topic_arn
            .unwrap_or_default();
        let (url, queue_arn) = self.queue(inbox).await?;
        self.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .map_err(|e| format!("Subscribe {inbox}: {}", gavel_responder::aws::describe(&e)))?;
        Ok((topic_arn, url))
    }

    /// Receives (and deletes) every message now in a queue.
    pub async fn drain(&self, url: &str) -> Result<Vec<aws_sdk_sqs::types::Message>, String> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|e| format!("ReceiveMessage: {}", gavel_responder::aws::describe(&e)))?;
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return Ok(out);
            }
            for m in &messages {
                if let Some(h) = m.receipt_handle.as_deref() {
                    let _ = self
                        .sqs
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(h)
                        .send()
                        .await;
                }
            }
            out.extend(messages);
        }
    }
}

/// Reads an object the way the account root could on a quarantined bucket. moto evaluates a
/// bucket policy on object requests without the caller's identity (no `aws:PrincipalArn`), so
/// under a quarantine every object request is denied, the break-glass role's included. The
/// root can always replace a bucket policy: lift it, read, put the same text back.
pub async fn get_object_as_root(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, String> {
    use gavel_responder::aws::{code, describe};
    let policy = gavel_responder::actions::s3::read_state(s3, bucket)
        .await?
        .policy;
    if policy.is_some() {
        s3.delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| format!("DeleteBucketPolicy: {}", describe(&e)))?;
    }
    let got = s3.get_object().bucket(bucket).key(key).send().await;
    if let Some(p) = policy {
        s3.put_bucket_policy()
            .bucket(bucket)
            .policy(p)
            .send()
            .await
            .map_err(|e| format!("PutBucketPolicy: {}", describe(&e)))?;
    }
    match got {
        Ok(o) => Ok(Some(
            o.body
                .collect()
                .await
                .map_err(|e| format!("GetObject body: {e}"))?
                .into_bytes()
                .to_vec(),
        )),
        Err(e) if code(&e) == Some("NoSuchKey") => Ok(None),
        Err(e) => Err(format!("GetObject s3://{bucket}/{key}: {}", describe(&e))),
    }
}

/// `arn:aws:<service>:us-east-1:123456789012:<resource>`.
pub fn arn(service: &str, resource: &str) -> String {
    format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}")
}

/// `arn:aws:iam::123456789012:role/<name>`.
pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

/// Where a built binary sits next to the running one's target directory
/// (`target/debug/examples/x` → `target/debug/<name>`).
#[allow(dead_code)]
pub fn sibling_bin(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .take(3)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
