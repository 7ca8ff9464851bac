//! The shared AWS SDK configuration, loaded once per cold start and cloned into every client.

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads region, credentials and endpoints the way every AWS SDK does: from the Lambda
/// environment in AWS, and from `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` when they
/// point a service at a local emulator.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An S3 client for `sdk`. With a custom endpoint (a local emulator) it addresses buckets by
/// path, because `bucket.127.0.0.1` does not resolve; against AWS it keeps the default
/// virtual-hosted addressing.
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint = sdk.endpoint_url().is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(custom_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
