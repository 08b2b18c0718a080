//! The incident-response loop on loopback, shared by `make demo-response` and its test:
//! an account in moto; a function with gavel attached (enforce mode, `unauthorized-access`)
//! judging a CloudTrail event of an intruder reading a sensitive bucket; the deny record
//! delivered to SQS; gavel-responder run as a real Lambda function (the local Lambda
//! environment, `provided` runtime) on an SQS event made of the received messages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gavel_e2e::{InvokeResult, LambdaEnv, Options, Runtime, paths};
use serde_json::{Value, json};

use crate::moto::{self, ACCOUNT, Clients, Moto, REGION, arn, role_arn};

/// The sensitive bucket.
pub const BUCKET: &str = "payroll-exports";
/// Another bucket, which must not change.
pub const OTHER_BUCKET: &str = "marketing-assets";
/// The role the intruder's session belongs to.
pub const INTRUDER_ROLE: &str = "contractor";
/// The intruder's session name.
pub const INTRUDER_SESSION: &str = "mallory";
/// The role allowed to read the bucket (must not change).
pub const ETL_ROLE: &str = "payroll-etl";
/// The role exempt from the quarantine.
pub const BREAK_GLASS_ROLE: &str = "security-break-glass";
/// Where gavel delivers deny records.
pub const VERDICT_QUEUE: &str = "gavel-verdicts";
/// Where the responder publishes summaries.
pub const ALERT_TOPIC: &str = "security-alerts";
/// A queue subscribed to [`ALERT_TOPIC`], standing in for the humans.
pub const INBOX_QUEUE: &str = "security-inbox";
/// The object the intruder reads.
pub const OBJECT_KEY: &str = "2026-11/salaries.csv";

/// `GAVEL_SETTINGS_UNAUTHORIZED_ACCESS`: `payroll-*` is sensitive, only the ETL role may use it.
pub fn gavel_settings() -> String {
    json!({
        "homeAccounts": [ACCOUNT],
        "sensitiveBuckets": ["payroll-*"],
        "allowedPrincipals": [role_arn(ETL_ROLE)],
    })
    .to_string()
}

/// The bucket's policy before the incident: the ETL role may read.
pub fn initial_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "EtlReads", "Effect": "Allow",
            "Principal": {"AWS": role_arn(ETL_ROLE)},
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [format!("arn:aws:s3:::{BUCKET}"), format!("arn:aws:s3:::{BUCKET}/*")]}]
    })
}

/// The event the function receives: CloudTrail's record of the intruder's GetObject on the
/// sensitive bucket, delivered by EventBridge (`AWS API Call via CloudTrail`).
pub fn cloudtrail_event() -> Value {
    json!({
        "version": "0", "id": "5c1f0e44-demo-response", "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.s3", "account": ACCOUNT, "time": "2026-11-29T20:00:00Z", "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.09", "eventSource": "s3.amazonaws.com", "eventName": "GetObject",
            "eventCategory": "Data", "awsRegion": REGION, "sourceIPAddress": "198.51.100.23",
            "userAgent": "aws-cli/2.15.0", "recipientAccountId": ACCOUNT,
            "userIdentity": {"type": "AssumedRole", "principalId": format!("AROAEXAMPLEINTRUDER:{INTRUDER_SESSION}"),
                "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{INTRUDER_ROLE}/{INTRUDER_SESSION}"),
                "accountId": ACCOUNT,
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role_arn(INTRUDER_ROLE),
                    "accountId": ACCOUNT, "userName": INTRUDER_ROLE}}},
            "requestParameters": {"bucketName": BUCKET, "key": OBJECT_KEY},
            "resources": [
                {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{BUCKET}/{OBJECT_KEY}")},
                {"type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{BUCKET}")}]
        }
    })
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;

/// The loop's world: moto, clients, and where things are.
pub struct World {
    /// The server (dropped last).
    pub moto: Moto,
    /// Clients.
    pub c: Clients,
    /// [`VERDICT_QUEUE`]'s URL and ARN.
    pub verdicts: (String, String),
    /// [`ALERT_TOPIC`]'s ARN.
    pub topic: String,
    /// [`INBOX_QUEUE`]'s URL.
    pub inbox: String,
}

fn e<E: std::error::Error + 'static>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |err| format!("{what}: {}", gavel_responder::aws::describe(&err))
}

impl World {
    /// Starts moto and creates the account's resources.
    pub async fn setup() -> Result<Self, String> {
        let moto = Moto::start()?;
        let aws = moto::sdk_config(&moto).await;
        let c = Clients::new(&aws);
        for b in [BUCKET, OTHER_BUCKET] {
            c.s3.create_bucket()
                .bucket(b)
                .send()
                .await
                .map_err(e("CreateBucket"))?;
        }
        c.s3.put_bucket_policy()
            .bucket(BUCKET)
            .policy(initial_policy().to_string())
            .send()
            .await
            .map_err(e("PutBucketPolicy"))?;
        c.s3.put_object()
            .bucket(BUCKET)
            .key(OBJECT_KEY)
            .body("employee,salary\nalice,1\n".as_bytes().to_vec().into())
            .send()
            .await
            .map_err(e("PutObject"))?;
        for r in [INTRUDER_ROLE, ETL_ROLE, BREAK_GLASS_ROLE] {
            c.iam
                .create_role()
                .role_name(r)
                .assume_role_policy_document(TRUST)
                .send()
                .await
                .map_err(e("CreateRole"))?;
        }
        let verdicts = c.queue(VERDICT_QUEUE).await?;
        let (topic, inbox) = c.topic_with_inbox(ALERT_TOPIC, INBOX_QUEUE).await?;
        Ok(Self {
            moto,
            c,
            verdicts,
            topic,
            inbox,
        })
    }

    /// Runs the function with gavel attached on the CloudTrail event; returns what the caller
    /// got and the records gavel delivered to [`VERDICT_QUEUE`] (received, not yet deleted).
    pub async fn judge(
        &self,
        gavel: PathBuf,
    ) -> Result<(InvokeResult, Vec<aws_sdk_sqs::types::Message>), String> {
        let mut opts = Options::with_gavel(Runtime::python("demo"), gavel)
            .env("GAVEL_MODE", "enforce")
            .env("GAVEL_POLICIES", "unauthorized-access")
            .env(
                "GAVEL_POLICY_DIR",
                paths::policy_dir().display().to_string(),
            )
            .env("GAVEL_SETTINGS_UNAUTHORIZED_ACCESS", gavel_settings())
            .env("GAVEL_DESTINATION_ON_DENY", self.verdicts.1.clone())
            // The first SDK call of a cold extension on a busy machine can take a while.
            .env("GAVEL_DELIVERY_BUDGET_MS", "5000");
        opts.env.extend(self.moto.env());
        opts.function.name = "payroll-audit".into();
        opts.shutdown_timeout = Duration::from_secs(5);
        let mut env = LambdaEnv::start(opts)
            .await
            .map_err(|e| format!("the gavel sandbox did not start: {e}"))?;
        let result = env
            .invoke(&serde_json::to_vec(&cloudtrail_event()).unwrap_or_default())
            .await;
        let diagnostics = env.diagnostics();
        env.shutdown().await;
        let mut messages = Vec::new();
        // Delivered before gavel asked for the next event; a short wait covers a spooled retry.
        for _ in 0..20 {
            let got = self
                .c
                .sqs
                .receive_message()
                .queue_url(&self.verdicts.0)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .visibility_timeout(30)
                .send()
                .await
                .map_err(e("ReceiveMessage"))?;
            messages.extend(got.messages.unwrap_or_default());
            if !messages.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if messages.is_empty() {
            return Err(format!(
                "no record arrived on {VERDICT_QUEUE}\n{diagnostics}"
            ));
        }
        Ok((result, messages))
    }

    /// The SQS event Lambda's event source mapping would build from `messages`.
    pub fn sqs_event(&self, messages: &[aws_sdk_sqs::types::Message]) -> Value {
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, Value> = m
                    .message_attributes
                    .iter()
                    .flatten()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            json!({"stringValue": v.string_value, "dataType": v.data_type,
                            "stringListValues": [], "binaryListValues": []}),
                        )
                    })
                    .collect();
                let system: serde_json::Map<String, Value> = m
                    .attributes
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_string(), json!(v)))
                    .collect();
                json!({
                    "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                    "attributes": system, "messageAttributes": attributes,
                    "md5OfBody": m.md5_of_body, "eventSource": "aws:sqs",
                    "eventSourceARN": self.verdicts.1, "awsRegion": REGION,
                })
            })
            .collect();
        json!({"Records": records})
    }

    /// The responder's configuration for the loop.
    pub fn responder_env(&self, dry_run: bool) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("GAVEL_RESPONDER_DRY_RUN", dry_run.to_string()),
            ("GAVEL_RESPONDER_ALLOW_BUCKETS", "payroll-*".to_string()),
            (
                "GAVEL_RESPONDER_ALLOW_PRINCIPALS",
                format!("arn:aws:iam::{ACCOUNT}:role/*"),
            ),
            ("GAVEL_RESPONDER_ALLOW_TOPICS", arn("sns", "security-*")),
            (
                "GAVEL_RESPONDER_BREAK_GLASS_ROLE",
                role_arn(BREAK_GLASS_ROLE),
            ),
            ("GAVEL_RESPONDER_NOTIFY_TOPIC", self.topic.clone()),
            ("GAVEL_RESPONDER_REPORT_TO", "stdout".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        env.extend(self.moto.env());
        env
    }

    /// Runs `responder` (the gavel-responder binary) as a `provided` Lambda function on
    /// `event`; returns its answer and the reports it wrote to stdout. Messages it did not
    /// report as failed are deleted, as the event source mapping would.
    pub async fn respond(
        &self,
        responder: &Path,
        event: &Value,
        dry_run: bool,
    ) -> Result<(Value, Vec<Value>), String> {
        let mut opts = Options::new(Runtime::Provided {
            bootstrap: responder.to_path_buf(),
        });
        opts.env = self.responder_env(dry_run);
        opts.function.name = "gavel-responder".into();
        let mut env = LambdaEnv::start(opts)
            .await
            .map_err(|e| format!("the responder did not start: {e}"))?;
        let result = env
            .invoke(&serde_json::to_vec(event).unwrap_or_default())
            .await;
        let stdout = env.runtime_stdout();
        let diagnostics = env.diagnostics();
        env.shutdown().await;
        if let Some(err) = &result.error {
            return Err(format!(
                "the responder failed ({}): {}\n{diagnostics}",
                err.error_type,
                result.text()
            ));
        }
        let answer: Value = serde_json::from_slice(&result.body)
            .map_err(|e| format!("responder answer is not JSON ({e}): {}", result.text()))?;
        let failed: Vec<&str> = answer["batchItemFailures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        for r in event["Records"].as_array().into_iter().flatten() {
            if !failed.contains(&r["messageId"].as_str().unwrap_or(""))
                && let Some(h) = r["receiptHandle"].as_str()
            {
                let _ = self
                    .c
                    .sqs
                    .delete_message()
                    .queue_url(&self.verdicts.0)
                    .receipt_handle(h)
                    .send()
                    .await;
            }
        }
        let reports = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["source"] == "gavel-responder")
            .collect();
        Ok((answer, reports))
    }

    /// What the responder changes, read back from moto.
    pub async fn state(&self) -> Result<State, String> {
        let s = gavel_responder::actions::s3::read_state(&self.c.s3, BUCKET).await?;
        let other = gavel_responder::actions::s3::read_state(&self.c.s3, OTHER_BUCKET).await?;
        let saved =
            moto::get_object_as_root(&self.c.s3, BUCKET, gavel_responder::actions::s3::SAVED_KEY)
                .await?
                .map(|b| serde_json::from_slice(&b).map_err(|e| format!("saved copy: {e}")))
                .transpose()?;
        let mut roles = Vec::new();
        for r in [INTRUDER_ROLE, ETL_ROLE, BREAK_GLASS_ROLE] {
            roles.push((r.to_string(), role_policies(&self.c.iam, r).await?));
        }
        Ok(State {
            bucket_policy: s
                .policy
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok()),
            public_access_block: s.public_access_block,
            saved,
            other_bucket: (other.policy, other.public_access_block),
            roles,
        })
    }

    /// Summaries published to [`ALERT_TOPIC`] since the last call: (subject, message).
    pub async fn notifications(&self) -> Result<Vec<(String, String)>, String> {
        Ok(self
            .c
            .drain(&self.inbox)
            .await?
            .into_iter()
            .filter_map(|m| serde_json::from_str::<Value>(m.body.as_deref()?).ok())
            .map(|v| {
                (
                    v["Subject"].as_str().unwrap_or("").to_string(),
                    v["Message"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect())
    }
}

/// A role's inline policies: (name, document).
pub async fn role_policies(
    iam: &aws_sdk_iam::Client,
    role: &str,
) -> Result<Vec<(String, Value)>, String> {
    let names = iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(e("ListRolePolicies"))?
        .policy_names;
    let mut out = Vec::new();
    for n in names {
        let doc = iam
            .get_role_policy()
            .role_name(role)
            .policy_name(&n)
            .send()
            .await
            .map_err(e("GetRolePolicy"))?
            .policy_document;
        let decoded = percent_decode(&doc);
        out.push((
            n,
            serde_json::from_str(&decoded).unwrap_or(Value::String(doc)),
        ));
    }
    Ok(out)
}

/// IAM documents arrive URL-encoded from AWS (moto: as stored).
fn percent_decode(s: &str) -> String {
    if s.trim_start().starts_with('{') {
        return s.to_string();
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// What the loop changes.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// [`BUCKET`]'s policy.
    pub bucket_policy: Option<Value>,
    /// [`BUCKET`]'s public access block.
    pub public_access_block: Option<Value>,
    /// The quarantine's saved copy of what it replaced.
    pub saved: Option<Value>,
    /// [`OTHER_BUCKET`]'s policy and public access block.
    pub other_bucket: (Option<String>, Option<Value>),
    /// Inline policies per role.
    pub roles: Vec<(String, Vec<(String, Value)>)>,
}

impl State {
    /// Inline policies of `role`.
    pub fn role(&self, role: &str) -> &[(String, Value)] {
        self.roles
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, p)| p.as_slice())
            .unwrap_or(&[])
    }
}
