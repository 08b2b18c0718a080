//! The Lambda function: `gavel-responder` as the `bootstrap` of a `provided.al2023` function.
//!
//! Also a break-glass tool: `gavel-responder restore-bucket <bucket>`, run with the break-glass
//! role's credentials, lifts a quarantine from what was saved in the bucket.

use std::process::ExitCode;
use std::sync::Arc;

use gavel_responder::{Config, Responder, aws};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // Logs to stderr (the log stream), reports to stdout: a log line never parses as a report.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("GAVEL_RESPONDER_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();

    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {}
        ["restore-bucket", bucket] => {
            let aws = aws::load_config().await;
            return match gavel_responder::actions::s3::restore(&aws::s3(&aws), bucket).await {
                Ok(done) => {
                    println!("{bucket}: {done}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{bucket}: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {
            eprintln!(
                "usage: gavel-responder                          (as a Lambda function's bootstrap)\n       gavel-responder restore-bucket <bucket>  (lift a quarantine; break-glass credentials)"
            );
            return ExitCode::from(2);
        }
    }

    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            // Lambda reports the exit as Runtime.ExitError with this line in the log.
            tracing::error!("configuration error: {e}");
            eprintln!("gavel-responder: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(?config, "gavel-responder starting");
    let aws = aws::load_config().await;
    let responder = Arc::new(Responder::new(config, &aws));
    let run = lambda_runtime::run(service_fn(move |ev: LambdaEvent<Value>| {
        let responder = Arc::clone(&responder);
        async move {
            responder.handle(ev.payload).await.map_err(|e| Diagnostic {
                error_type: e.error_type().into(),
                error_message: e.to_string(),
            })
        }
    }))
    .await;
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gavel-responder: runtime error: {e}");
            ExitCode::FAILURE
        }
    }
}
