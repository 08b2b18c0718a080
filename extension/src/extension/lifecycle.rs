//! Init and the event loop. Order matters (NOTES): bind the proxy before registering, load
//! policies while the runtime initialises, report any configuration error through
//! `init/error`, and deliver each invocation's record before asking for the next event.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_extension::{Extension, LambdaEvent, NextEvent, service_fn};

use super::{Delivery, Invocations};
use crate::catalog::PolicySet;
use crate::config::Config;
use crate::destinations::DeliveryOptions;
use crate::proxy::{Proxy, ProxyConfig};
use crate::telemetry::{self, TelemetryStore};

const EXTENSION_ID_HEADER: &str = "Lambda-Extension-Identifier";
const ERROR_TYPE_HEADER: &str = "Lambda-Extension-Function-Error-Type";
/// Grace after the function's deadline before an unanswered invocation is recorded as failed.
const DEADLINE_GRACE: Duration = Duration::from_millis(250);

/// What the event loop needs once init is done.
struct Running {
    invocations: Arc<Invocations>,
    delivery: Delivery,
    proxy: tokio::sync::Mutex<Option<Proxy>>,
}

/// Init, then serve invocations until SHUTDOWN.
pub async fn run() -> Result<()> {
    let config = Config::from_env();
    init_tracing(config.as_ref().map(|c| c.log.as_str()).unwrap_or("info"));
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .context("AWS_LAMBDA_RUNTIME_API is not set: not inside Lambda?")?;

    let telemetry_store = Arc::new(TelemetryStore::default());
    let mut init_error: Option<String> = None;
    let mut proxy = None;
    let mut telemetry_port = None;
    let invocations = match &config {
        Ok(config) => {
            let invocations = Arc::new(Invocations::new(
                config.mode,
                config.payloads,
                telemetry_store.clone(),
            ));
            // Bind before registering: Lambda starts the runtime once every extension registered.
            let upstream = config.upstream.clone().unwrap_or_else(|| api.clone());
            let listen = SocketAddr::from(([127, 0, 0, 1], config.proxy_port));
            match Proxy::bind(ProxyConfig::new(listen, upstream), invocations.clone()).await {
                Ok(p) => proxy = Some(p),
                Err(e) => init_error = Some(format!("GAVEL_PROXY_PORT: {e}")),
            }
            match telemetry::listen(
                SocketAddr::from(([0, 0, 0, 0], config.telemetry_port)),
                telemetry_store.clone(),
            )
            .await
            {
                Ok(addr) => telemetry_port = Some(addr.port()),
                Err(e) => {
                    tracing::warn!(error = %e, port = config.telemetry_port, "cannot listen for telemetry; continuing without")
                }
            }
            Some(invocations)
        }
        Err(e) => {
            init_error = Some(e.to_string());
            None
        }
    };

    let running: Arc<OnceLock<Running>> = Arc::new(OnceLock::new());
    let for_events = running.clone();
    let registered = Extension::new()
        .with_events(&["INVOKE", "SHUTDOWN"])
        .with_events_processor(service_fn(move |event: LambdaEvent| {
            let running = for_events.clone();
            async move { on_event(&running, event).await }
        }))
        .register()
        .await
        .map_err(|e| anyhow!("cannot register with the Extensions API: {e}"))?;
    let extension_id = registered.extension_id.clone();

    // Compile policies while the runtime starts; a failure names the policy and variable.
    let mut loaded = None;
    if let (Ok(config), None) = (&config, &init_error) {
        let config_for_load = config.clone();
        let started = std::time::Instant::now();
        let set = tokio::task::spawn_blocking(move || PolicySet::from_config(&config_for_load));
        let set = set.await;
        if let Ok(Ok(set)) = &set {
            tracing::info!(
                load_ms = started.elapsed().as_secs_f64() * 1e3,
                precompiled = set.policies.iter().filter(|p| p.precompiled).count(),
                compiled = set.policies.iter().filter(|p| !p.precompiled).count(),
                "policies loaded"
            );
        }
        match set {
            Ok(Ok(set)) => loaded = Some(Arc::new(set)),
            Ok(Err(e)) => init_error = Some(e.to_string()),
            Err(e) => init_error = Some(format!("policy loading failed: {e}")),
        }
    }
    let delivery = match &config {
        Ok(config) if init_error.is_none() => {
            let mut options =
                DeliveryOptions::new(Duration::from_millis(config.delivery_budget_ms));
            options.spool_dir = config.spool_dir.clone();
            match Delivery::open_with(&config.routes, options) {
                Ok(d) => Some(d),
                Err(e) => {
                    init_error = Some(e);
                    None
                }
            }
        }
        _ => None,
    };
    if let Some(message) = init_error {
        tracing::error!("init failed: {message}");
        report_init_error(&api, &extension_id, &message).await;
        return Err(anyhow!("init failed: {message}"));
    }
    let (Some(invocations), Some(policies), Some(delivery)) = (invocations, loaded, delivery)
    else {
        return Err(anyhow!("init incomplete"));
    };
    tracing::info!(
        policies = ?policies.policies.iter().map(|p| format!("{}@{}", p.name, p.version)).collect::<Vec<_>>(),
        mode = ?config.as_ref().map(|c| c.mode).ok(),
        "gavel ready"
    );
    invocations.set_policies(policies);

    if let Some(port) = telemetry_port {
        let host =
            std::env::var("GAVEL_TELEMETRY_HOST").unwrap_or_else(|_| "sandbox.localdomain".into());
        match subscribe_telemetry(&api, &extension_id, &host, port).await {
            Ok(()) => invocations.set_telemetry_on(),
            // The emulator and cargo lambda answer Telemetry.NotSupported: carry on without.
            Err(e) => tracing::info!(
                "telemetry not delivered here ({e}); records carry no telemetry fields"
            ),
        }
    }

    let _ = running.set(Running {
        invocations,
        delivery,
        proxy: tokio::sync::Mutex::new(proxy),
    });
    registered
        .run()
        .await
        .map_err(|e| anyhow!("extension loop ended: {e}"))
}

async fn on_event(
    running: &OnceLock<Running>,
    event: LambdaEvent,
) -> Result<(), lambda_extension::Error> {
    let Some(running) = running.get() else {
        return Ok(());
    };
    match event.next {
        NextEvent::Invoke(invoke) => {
            let deadline = instant_of(invoke.deadline_ms) + DEADLINE_GRACE;
            // Retry the spool while the function runs: the sandbox is thawed now, and this
            // never touches the function's request or response path.
            let flush_until = tokio::time::Instant::now() + running.delivery.budget();
            let (finished, _) = tokio::join!(
                running.invocations.finish(&invoke.request_id, deadline),
                running.delivery.flush(flush_until),
            );
            if let Some(finished) = finished {
                running
                    .delivery
                    .deliver(finished.decision, finished.record)
                    .await;
            }
        }
        NextEvent::Shutdown(shutdown) => {
            tracing::info!(reason = %shutdown.shutdown_reason, "shutdown: final flush");
            let deadline = instant_of(shutdown.deadline_ms);
            let flush = async {
                // Half the time for records still in flight, the rest for the spool; what is
                // still owed at the end goes to the log stream (final_flush).
                let now = tokio::time::Instant::now();
                let half = now + deadline.saturating_duration_since(now) / 2;
                for finished in running.invocations.drain().await {
                    running
                        .delivery
                        .deliver_until(finished.decision, finished.record, half)
                        .await;
                }
                running.delivery.final_flush(deadline).await;
            };
            if tokio::time::timeout_at(deadline, flush).await.is_err() {
                tracing::error!("shutdown deadline reached during the final flush");
            }
            if let Some(proxy) = running.proxy.lock().await.take() {
                let _ = tokio::time::timeout(Duration::from_millis(100), proxy.shutdown()).await;
            }
            std::process::exit(0);
        }
    }
    Ok(())
}

/// Convert a Lambda deadline (ms since the epoch) to a tokio instant.
fn instant_of(deadline_ms: u64) -> tokio::time::Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    // Clamp: a bogus deadline must neither stall the loop for ever nor skip the wait.
    let left = deadline_ms.saturating_sub(now_ms).min(15 * 60 * 1000);
    tokio::time::Instant::now() + Duration::from_millis(left)
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to stderr: stdout carries records (the `stdout` destination).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

async fn call(
    api: &str,
    method: http::Method,
    path: &str,
    id: &str,
    extra: &[(&str, &str)],
    body: String,
) -> Result<u16> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("http://{api}{path}"))
        .header(EXTENSION_ID_HEADER, id)
        .header(http::header::CONTENT_TYPE, "application/json");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let res = client
        .request(req.body(Full::new(Bytes::from(body)))?)
        .await?;
    let status = res.status().as_u16();
    let _ = res.into_body().collect().await;
    Ok(status)
}

async fn report_init_error(api: &str, id: &str, message: &str) {
    let body = serde_json::json!({"errorMessage": message, "errorType": "Extension.ConfigError", "stackTrace": []});
    let sent = call(
        api,
        http::Method::POST,
        "/2020-01-01/extension/init/error",
        id,
        &[(ERROR_TYPE_HEADER, "Extension.ConfigError")],
        body.to_string(),
    )
    .await;
    if let Err(e) = sent {
        tracing::error!(error = %e, "could not report init/error");
    }
}

async fn subscribe_telemetry(api: &str, id: &str, host: &str, port: u16) -> Result<()> {
    let body = telemetry::subscription(host, port).to_string();
    let status = call(
        api,
        http::Method::PUT,
        telemetry::TELEMETRY_PATH,
        id,
        &[],
        body,
    )
    .await?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(anyhow!("subscription answered {status}"))
    }
}
