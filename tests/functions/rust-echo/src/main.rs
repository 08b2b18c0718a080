//! Echo function on the real Rust runtime client, for the bootstrap-shim end-to-end tests.
//!
//! Returns the event's JSON text unchanged (`RawValue` keeps the bytes; a `Value` would reorder
//! keys and reformat numbers). An object with `"rustEchoFail": true` returns an error instead.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;

async fn echo(event: LambdaEvent<Box<RawValue>>) -> Result<Box<RawValue>, Error> {
    let raw = event.payload;
    if raw.get().contains("\"rustEchoFail\":true") {
        return Err("rust-echo asked to fail".into());
    }
    Ok(raw)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(echo)).await
}
