//! AWS destinations against a real `moto_server` on loopback: one server per test (tests run in
//! parallel), the SDK pointed at it with an explicit endpoint, read back through SQS.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;
use gavel::config::Routes;
use gavel::destinations::DeliveryOptions;
use gavel::destinations::DestinationSpec;
use gavel::engine::Decision;
use gavel::extension::Delivery;
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";

/// A moto server on a free loopback port, killed on drop.
struct Moto {
    port: u16,
    child: Child,
}

impl Moto {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port)
    }

    fn start_on(port: u16) -> Self {
        let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
        assert!(
            bin.exists(),
            "{} missing: run `bash tests/setup-venv.sh` (make test does)",
            bin.display()
        );
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { port, child }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }

    /// A raw POST (moto's own API, and IAM, which gavel has no SDK crate for).
    fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.port,
            body.len()
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .http_client(gavel::destinations::aws::http_client())
        .load()
        .await
}

fn arn(service: &str, resource: &str) -> String {
    format!("arn:aws:{service}:us-east-1:{ACCOUNT}:{resource}")
}

fn spec(arn: &str) -> DestinationSpec {
    DestinationSpec::parse(arn).unwrap()
}

fn delivery(config: &SdkConfig, routes: Routes, budget: Duration) -> (Delivery, tempfile::TempDir) {
    let spool = tempfile::tempdir().unwrap();
    let mut options = DeliveryOptions::new(budget);
    options.spool_dir = spool.path().join("spool");
    options.aws = Some(config.clone());
    (Delivery::open_with(&routes, options).unwrap(), spool)
}

fn everywhere(specs: Vec<DestinationSpec>) -> Routes {
    Routes {
        deny: specs.clone(),
        alert: specs.clone(),
        allow: specs,
    }
}

fn record(request_id: &str, decision: Decision, function: &str) -> String {
    let decision = match decision {
        Decision::Deny => "deny",
        Decision::Alert => "alert",
        Decision::Allow => "allow",
    };
    json!({
        "version": "1.0", "timestamp": "2026-11-29T20:00:00.000Z",
        "requestContext": {"requestId": request_id,
            "functionArn": arn("lambda", &format!("function:{function}")),
            "condition": "Success", "approximateInvokeCount": 1},
        "requestPayload": {"body": "hello"}, "requestPayloadSha256": "a".repeat(64),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": null},
        "responsePayload": "ok", "responsePayloadSha256": "b".repeat(64),
        "verdict": {"decision": decision, "mode": "monitor", "enforced": false, "policies": [
            {"name": "malicious-content", "decision": decision, "findings": [
                {"ruleId": "x", "severity": "medium"}, {"ruleId": "y", "severity": "high"}]}]}
    })
    .to_string()
}

async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let mut req = sqs.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        req = req.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let url = req.send().await.unwrap().queue_url.unwrap();
    (url, arn("sqs", name))
}

/// Every message in the queue, in receive order (bodies and attributes).
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<(Value, HashMap<String, String>)> {
    let mut out = vec![];
    let mut empty = 0;
    while empty < 2 {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .visibility_timeout(600)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        // FIFO queues hold back a group's later messages until the earlier ones are deleted.
        for m in &messages {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle.as_deref().unwrap())
                .send()
                .await
                .unwrap();
        }
        for m in messages {
            let attributes = m
                .message_attributes
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, v)| v.string_value.map(|s| (k, s)))
                .collect();
            out.push((
                serde_json::from_str(m.body.as_deref().unwrap()).unwrap(),
                attributes,
            ));
        }
    }
    out
}

async fn subscribe(sns: &aws_sdk_sns::Client, topic: &str, queue_arn: &str) {
    sns.subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
}

fn request_id(v: &Value) -> String {
    v["requestContext"]["requestId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn sqs_standard_receives_a_well_formed_record_with_attributes() {
    let moto = Moto::start();
    let config = sdk_config(&moto.endpoint()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (url, queue) = create_queue(&sqs, "verdicts").await;
    let (delivery, _spool) = delivery(
        &config,
        everywhere(vec![spec(&queue)]),
        Duration::from_secs(2),
    );
    let done = delivery
        .deliver(Decision::Deny, record("req-1", Decision::Deny, "orders"))
        .await;
    assert_eq!(done.ok, vec![queue.clone()], "{done:?}");
    let got = drain(&sqs, &url).await;
    assert_eq!(got.len(), 1);
    let (body, attributes) = &got[0];
    assert_eq!(request_id(body), "req-1");
    assert_eq!(body["verdict"]["decision"], "deny");
    assert_eq!(body["requestPayload"], json!({"body": "hello"}));
    assert_eq!(attributes["decision"], "deny");
    assert_eq!(attributes["function"], "orders");
    assert_eq!(attributes["severity"], "high");
}

#[tokio::test]
async fn sns_delivers_to_a_subscribed_queue() {
    let moto = Moto::start();
    let config = sdk_config(&moto.endpoint()).await;
    let (sqs, sns) = (
        aws_sdk_sqs::Client::new(&config),
        aws_sdk_sns::Client::new(&config),
    );
    let (url, queue) = create_queue(&sqs, "from-sns").await;
    let topic = sns
        .create_topic()
        .name("verdicts")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    subscribe(&sns, &topic, &queue).await;
    let (delivery, _spool) = delivery(
        &config,
        everywhere(vec![spec(&topic)]),
        Duration::from_secs(2),
    );
    for i in 0..12 {
        let done = delivery
            .deliver(
                Decision::Alert,
                record(&format!("req-{i}"), Decision::Alert, "orders"),
            )
            .await;
        assert_eq!(done.ok.len(), 1, "{done:?}");
    }
    let got = drain(&sqs, &url).await;
    let ids: HashSet<String> = got.iter().map(|(b, _)| request_id(b)).collect();
    assert_eq!(ids.len(), 12);
    assert_eq!(got[0].0["verdict"]["decision"], "alert");
}

#[tokio::test]
async fn eventbridge_rule_routes_to_a_queue() {
    let moto = Moto::start();
    let config = sdk_config(&moto.endpoint()).await;
    let (sqs, events) = (
        aws_sdk_sqs::Client::new(&config),
        aws_sdk_eventbridge::Client::new(&config),
    );
    let (url, queue) = create_queue(&sqs, "from-events").await;
    let bus = events
        .create_event_bus()
        .name("security")
        .send()
        .await
        .unwrap()
        .event_bus_arn
        .unwrap();
    events
        .put_rule()
        .name("gavel-deny")
        .event_bus_name("security")
        .event_pattern(r#"{"source":["gavel"],"detail-type":["Gavel Verdict"],"detail":{"verdict":{"decision":["deny"]}}}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("gavel-deny")
        .event_bus_name("security")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(&queue)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let (delivery, _spool) = delivery(
        &config,
        everywhere(vec![spec(&bus)]),
        Duration::from_secs(2),
    );
    delivery
        .deliver(Decision::Deny, record("req-deny", Decision::Deny, "orders"))
        .await;
    // The rule matches on the detail: an alert reaches the bus but not this queue.
    let done = delivery
        .deliver(
            Decision::Alert,
            record("req-alert", Decision::Alert, "orders"),
        )
        .await;
    assert_eq!(done.ok, vec![bus.clone()]);
    let got = drain(&sqs, &url).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let event = &got[0].0;
    assert_eq!(event["source"], "gavel");
    assert_eq!(event["detail-type"], "Gavel Verdict");
    assert_eq!(request_id(&event["detail"]), "req-deny");
}

#[tokio::test]
async fn lambda_async_invoke_is_accepted() {
    let moto = Moto::start();
    // moto runs functions in docker unless told otherwise; gavel only needs the 202.
    moto.post(
        "/moto-api/config",
        &[("Content-Type", "application/json")],
        r#"{"lambda":{"use_docker":false}}"#,
    );
    let iam =
        "Action=CreateRole&Version=2010-05-08&RoleName=responder&AssumeRolePolicyDocument=%7B%7D";
    let answer = moto.post(
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"),
        ],
        iam,
    );
    assert!(answer.contains("CreateRoleResult"), "{answer}");
    let config = sdk_config(&moto.endpoint()).await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    // The smallest valid zip: an empty end-of-central-directory record.
    let mut zip = b"PK\x05\x06".to_vec();
    zip.extend([0u8; 18]);
    let function = lambda
        .create_function()
        .function_name("responder")
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .handler("index.handler")
        .role(format!("arn:aws:iam::{ACCOUNT}:role/responder"))
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .function_arn
        .unwrap();
    let (delivery, _spool) = delivery(
        &config,
        everywhere(vec![spec(&function)]),
        Duration::from_secs(2),
    );
    let done = delivery
        .deliver(Decision::Deny, record("req-1", Decision::Deny, "orders"))
        .await;
    assert_eq!(done.ok, vec![function], "{done:?}");
    assert_eq!(delivery.spooled(), 0);
}

#[tokio::test]
async fn fifo_topic_and_queue_keep_one_functions_order() {
    let moto = Moto::start();
    let config = sdk_config(&moto.endpoint()).await;
    let (sqs, sns) = (
        aws_sdk_sqs::Client::new(&config),
        aws_sdk_sns::Client::new(&config),
    );
    let (direct_url, direct) = create_queue(&sqs, "direct.fifo").await;
    let (sub_url, sub) = create_queue(&sqs, "sub.fifo").await;
    let topic = sns
        .create_topic()
        .name("verdicts.fifo")
        .attributes("FifoTopic", "true")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    subscribe(&sns, &topic, &sub).await;
    let (delivery, _spool) = delivery(
        &config,
        everywhere(vec![spec(&direct), spec(&topic)]),
        Duration::from_secs(2),
    );
    let sent: Vec<String> = (0..25).map(|i| format!("req-{i:02}")).collect();
    for id in &sent {
        let done = delivery
            .deliver(Decision::Alert, record(id, Decision::Alert, "orders"))
            .await;
        assert_eq!(done.ok.len(), 2, "{done:?}");
    }
    for url in [&direct_url, &sub_url] {
        let got: Vec<String> = drain(&sqs, url)
            .await
            .iter()
            .map(|(b, _)| request_id(b))
            .collect();
        assert_eq!(got, sent, "order through {url}");
    }
}

#[tokio::test]
async fn a_5_mb_record_is_shrunk_and_delivered_with_its_digest() {
    let moto = Moto::start();
    let config = sdk_config(&moto.endpoint()).await;
    let (sqs, sns) = (
        aws_sdk_sqs::Client::new(&config),
        aws_sdk_sns::Client::new(&config),
    );
    let (url, queue) = create_queue(&sqs, "big").await;
    let (sub_url, sub) = create_queue(&sqs, "big-sub").await;
    let topic = sns
        .create_topic()
        .name("big")
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    subscribe(&sns, &topic, &sub).await;
    // What GAVEL_PAYLOADS=full makes of a 5 MB event.
    let mut big: Value =
        serde_json::from_str(&record("req-big", Decision::Deny, "orders")).unwrap();
    big["requestPayload"] = json!({"blob": "x".repeat(5 << 20)});
    let (delivery, _spool) = delivery(
        &config,
        everywhere(vec![spec(&queue), spec(&topic)]),
        Duration::from_secs(5),
    );
    let done = delivery.deliver(Decision::Deny, big.to_string()).await;
    assert_eq!(done.ok.len(), 2, "{done:?}");
    for (url, limit) in [(&url, 1 << 20), (&sub_url, 256 << 10)] {
        let got = drain(&sqs, url).await;
        assert_eq!(got.len(), 1);
        let body = &got[0].0;
        assert!(body.to_string().len() <= limit);
        assert_eq!(request_id(body), "req-big");
        assert_eq!(body["requestPayloadSha256"], "a".repeat(64));
        assert_eq!(body["requestPayloadTruncated"], true);
        assert_eq!(body["verdict"]["decision"], "deny");
    }
}

#[tokio::test]
async fn outage_loses_nothing_and_costs_each_call_at_most_its_budget() {
    let moto = Moto::start();
    let config = sdk_config(&moto.endpoint()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let setup = |sqs: aws_sdk_sqs::Client, sns: aws_sdk_sns::Client| async move {
        let (all_url, all) = create_queue(&sqs, "all").await;
        let (deny_url, deny_queue) = create_queue(&sqs, "deny").await;
        let topic = sns
            .create_topic()
            .name("deny")
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        subscribe(&sns, &topic, &deny_queue).await;
        (all_url, all, deny_url, topic)
    };
    let (_, all, _, topic) = setup(sqs.clone(), sns.clone()).await;
    let budget = Duration::from_millis(300);
    let routes = Routes {
        deny: vec![spec(&all), spec(&topic)],
        alert: vec![spec(&all)],
        allow: vec![spec(&all)],
    };
    let (delivery, _spool) = delivery(&config, routes, budget);
    // Warm: clients built, queue URL resolved, connections pooled.
    let warm = delivery
        .deliver(Decision::Allow, record("warm", Decision::Allow, "orders"))
        .await;
    assert_eq!(warm.ok.len(), 1, "{warm:?}");

    let port = moto.stop();
    let mut expected_deny = HashSet::new();
    let mut slowest = Duration::ZERO;
    let mut total = Duration::ZERO;
    for i in 0..200 {
        let decision = [Decision::Deny, Decision::Alert, Decision::Allow][i % 3];
        let id = format!("out-{i:03}");
        if decision == Decision::Deny {
            expected_deny.insert(id.clone());
        }
        let started = Instant::now();
        // The extension also flushes the spool at each invocation start.
        delivery.flush(tokio::time::Instant::now() + budget).await;
        let done = delivery
            .deliver(decision, record(&id, decision, "orders"))
            .await;
        let took = started.elapsed();
        assert!(done.ok.is_empty() && done.failed.is_empty(), "{done:?}");
        slowest = slowest.max(took);
        total += took;
    }
    let owed = delivery.spooled();
    eprintln!(
        "outage: 200 deliveries, slowest call (flush + deliver) {slowest:?}, mean {:?}, {owed} spooled",
        total / 200
    );
    // Flush and deliver each get one budget; the slack absorbs scheduling on a loaded 2-core box.
    assert!(
        slowest <= 2 * budget + Duration::from_millis(400),
        "{slowest:?}"
    );
    assert_eq!(owed, 200 + expected_deny.len());

    let moto = Moto::start_on(port);
    let (all_url, _, deny_url, _) = setup(sqs.clone(), sns.clone()).await;
    let started = Instant::now();
    while delivery.spooled() > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "spool not draining"
        );
        delivery
            .flush(tokio::time::Instant::now() + Duration::from_secs(5))
            .await;
    }
    let drained_in = started.elapsed();
    let all_ids: HashSet<String> = drain(&sqs, &all_url)
        .await
        .iter()
        .map(|(b, _)| request_id(b))
        .collect();
    let deny_ids: HashSet<String> = drain(&sqs, &deny_url)
        .await
        .iter()
        .map(|(b, _)| request_id(b))
        .collect();
    eprintln!(
        "after restart: spool drained in {drained_in:?}; {} of 200 on the queue, {} of {} deny on the topic",
        all_ids.len(),
        deny_ids.len(),
        expected_deny.len()
    );
    let expected_all: HashSet<String> = (0..200).map(|i| format!("out-{i:03}")).collect();
    assert_eq!(all_ids, expected_all);
    assert_eq!(deny_ids, expected_deny);
    drop(moto);
}

#[tokio::test]
async fn shutdown_during_an_outage_empties_the_spool_to_the_log_in_time() {
    let moto = Moto::start();
    let config = sdk_config(&moto.endpoint()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (_, queue) = create_queue(&sqs, "q").await;
    let (delivery, _spool) = delivery(
        &config,
        everywhere(vec![spec(&queue)]),
        Duration::from_millis(200),
    );
    moto.stop();
    for i in 0..5 {
        delivery
            .deliver(
                Decision::Deny,
                record(&format!("s-{i}"), Decision::Deny, "orders"),
            )
            .await;
    }
    assert_eq!(delivery.spooled(), 5);
    let started = Instant::now();
    delivery
        .final_flush(tokio::time::Instant::now() + Duration::from_millis(1000))
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    // Written to stdout as {"gavelUndelivered":…,"destination":…} (checked end to end where
    // stdout is captured); nothing is left behind.
    assert_eq!(delivery.spooled(), 0);
}
