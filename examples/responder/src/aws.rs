//! aws: the SDK configuration, the clients the actions use, and error helpers.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;
use sha2::{Digest, Sha256};

/// hyper 1 + rustls on ring (as the extension's destinations): plain `http://` endpoints
/// (moto on loopback) work too.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The standard chain (`AWS_REGION`, the function's role credentials, `AWS_ENDPOINT_URL*`).
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}

/// The S3 client. Path-style addressing when an endpoint is overridden: local stand-ins
/// (moto, MinIO) serve `http://host/bucket`, not `http://bucket.host`.
pub fn s3(aws: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(aws.endpoint_url().is_some())
            .build(),
    )
}

/// An SNS client for `region` (a topic is only reachable through its own region's endpoint).
pub fn sns(aws: &SdkConfig, region: &str) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(aws)
            .region(Region::new(region.to_string()))
            .build(),
    )
}

/// The service's error code (`NoSuchBucketPolicy`, `NoSuchEntity`…), if it answered.
pub fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> Option<&str> {
    e.as_service_error().and_then(|s| s.code())
}

/// The whole error chain on one line (the SDK's `Display` says only "service error").
pub fn describe<E: std::error::Error + 'static>(e: &E) -> String {
    DisplayErrorContext(e).to_string()
}

/// A FIFO deduplication id from parts (hex sha256, within SNS/SQS's 128 characters).
pub fn dedup_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}
