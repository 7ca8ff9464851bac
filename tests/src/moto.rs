//! The local AWS emulator (moto) as the integration tests see it.
//!
//! Two moto servers run during tests: a general one (DynamoDB, SNS, SQS, Secrets Manager,
//! S3) at `JCWATCH_TEST_AWS_ENDPOINT`, and one switched to Lambda's Docker-free mode at
//! `JCWATCH_TEST_LAMBDA_ENDPOINT` (moto's state dump breaks once Lambda holds state and no
//! Docker daemon runs, so Lambda gets its own server). `.ci/emulators start` starts both.
//!
//! Every helper that creates something gives it a unique name, so tests run in parallel
//! against one emulator without seeing each other's tables, topics or queues.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use serde_json::Value;

/// The variable naming the general emulator's endpoint.
pub const AWS_ENDPOINT_ENV: &str = "JCWATCH_TEST_AWS_ENDPOINT";
/// The variable naming the Lambda emulator's endpoint.
pub const LAMBDA_ENDPOINT_ENV: &str = "JCWATCH_TEST_LAMBDA_ENDPOINT";

/// The region every test resource lives in.
pub const REGION: &str = "us-east-1";
/// moto's fixed account id, part of every ARN it makes.
pub const ACCOUNT_ID: &str = "123456789012";

/// The endpoint in `variable`, or a panic that says how to start the emulator. Tests that
/// need the emulator fail without it; they never skip silently.
pub fn endpoint_from_env(variable: &str) -> String {
    match std::env::var(variable) {
        Ok(value) if !value.trim().is_empty() => value.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "{variable} is not set. These tests need the local AWS emulator (moto): run \
             `eval \"$(.ci/emulators start)\"` from the repository root (it installs moto into \
             .venv-ci if needed and exports {AWS_ENDPOINT_ENV} and {LAMBDA_ENDPOINT_ENV}), or \
             run the whole suite with `.ci/run`."
        ),
    }
}

/// A unique resource name: `prefix`, the time in nanoseconds and a per-process counter.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{nanos}-{}-{n}", std::process::id())
}

/// An SDK configuration for `endpoint` with static test credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "jcwatch-tests",
        ))
        .load()
        .await
}

/// Fails with a clear message when nothing answers at `endpoint`.
async fn check_reachable(endpoint: &str, variable: &str) {
    let url = format!("{endpoint}/moto-api/");
    let answer = reqwest::Client::new()
        .get(&url)
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    if let Err(e) = answer.and_then(|r| r.error_for_status()) {
        panic!(
            "{variable}={endpoint}, but the emulator does not answer at {url} ({e}). Start it \
             with `eval \"$(.ci/emulators start)\"` from the repository root."
        );
    }
}

/// The general emulator: DynamoDB, SNS, SQS, Secrets Manager, S3.
#[derive(Debug, Clone)]
pub struct Moto {
    pub endpoint: String,
    pub sdk: SdkConfig,
}

impl Moto {
    /// Connects to the emulator named by `JCWATCH_TEST_AWS_ENDPOINT`, or fails saying how to
    /// start it.
    pub async fn connect() -> Moto {
        let endpoint = endpoint_from_env(AWS_ENDPOINT_ENV);
        check_reachable(&endpoint, AWS_ENDPOINT_ENV).await;
        let sdk = sdk_config(&endpoint).await;
        Moto { endpoint, sdk }
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
    }

    /// Path-style addressing, which a loopback endpoint needs.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        jcwatch_aws::s3_client(&self.sdk)
    }

    /// Creates an on-demand table with the project's string hash key `pk` and returns its
    /// unique name.
    pub async fn create_table(&self, prefix: &str) -> String {
        self.create_table_with_keys(prefix, false).await
    }

    /// Like [`Moto::create_table`], with the string range key `sk` as well.
    pub async fn create_table_with_sort_key(&self, prefix: &str) -> String {
        self.create_table_with_keys(prefix, true).await
    }

    async fn create_table_with_keys(&self, prefix: &str, sort_key: bool) -> String {
        let name = unique_name(prefix);
        let mut keys = vec![("pk", KeyType::Hash)];
        if sort_key {
            keys.push(("sk", KeyType::Range));
        }

        let mut request = self
            .dynamodb()
            .create_table()
            .table_name(&name)
            .billing_mode(BillingMode::PayPerRequest);
        for (attribute, kind) in keys {
            request = request
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(attribute)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .expect("attribute definition"),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(attribute)
                        .key_type(kind)
                        .build()
                        .expect("key schema"),
                );
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating table {name}: {e:?}"));
        name
    }

    /// Creates a standard SNS topic and returns its ARN.
    pub async fn create_topic(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        self.sns()
            .create_topic()
            .name(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating topic {name}: {e:?}"))
            .topic_arn
            .expect("topic ARN")
    }

    /// Creates an SQS queue and returns its URL.
    pub async fn create_queue(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        self.sqs()
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating queue {name}: {e:?}"))
            .queue_url
            .expect("queue URL")
    }

    /// Creates a queue subscribed to `topic_arn` with raw message delivery, so each message's
    /// body is the publish's `sqs` text and its message attributes come through. Returns the
    /// queue URL.
    pub async fn subscribe_queue(&self, topic_arn: &str) -> String {
        self.subscribe_queue_filtered(topic_arn, None).await
    }

    /// Like [`Moto::subscribe_queue`], with an SNS filter policy on the message attributes
    /// (as the Terraform module subscribes email addresses by `route`).
    pub async fn subscribe_queue_filtered(
        &self,
        topic_arn: &str,
        filter_policy: Option<&str>,
    ) -> String {
        let queue_url = self.create_queue("sub").await;
        let queue_arn = self
            .sqs()
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("queue ARN");

        let mut subscribe = self
            .sns()
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "true");
        if let Some(policy) = filter_policy {
            subscribe = subscribe
                .attributes("FilterPolicyScope", "MessageAttributes")
                .attributes("FilterPolicy", policy);
        }
        subscribe
            .send()
            .await
            .unwrap_or_else(|e| panic!("subscribing a queue to {topic_arn}: {e:?}"));
        queue_url
    }

    /// Receives messages from `queue_url` until `expected` have arrived or `wait` has passed,
    /// deleting each one. Returns what arrived (possibly fewer than `expected`).
    pub async fn receive(&self, queue_url: &str, expected: usize, wait: Duration) -> Vec<Received> {
        let deadline = Instant::now() + wait;
        let mut received = Vec::new();

        while received.len() < expected && Instant::now() < deadline {
            let output = self
                .sqs()
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap_or_else(|e| panic!("receiving from {queue_url}: {e:?}"));
            for message in output.messages.unwrap_or_default() {
                if let Some(handle) = &message.receipt_handle {
                    self.sqs()
                        .delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("deleting a received message");
                }
                received.push(Received::from(message));
            }
        }
        received
    }

    /// Creates a secret holding `value` and returns its ARN.
    pub async fn create_secret(&self, prefix: &str, value: &str) -> String {
        let name = unique_name(prefix);
        self.secrets()
            .create_secret()
            .name(&name)
            .secret_string(value)
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating secret {name}: {e:?}"))
            .arn
            .expect("secret ARN")
    }

    /// Creates a bucket and returns its name.
    pub async fn create_bucket(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        self.s3()
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating bucket {name}: {e:?}"));
        name
    }

    /// Stores `body` at `s3://bucket/key`.
    pub async fn put_object(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        self.s3()
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body.into()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("putting s3://{bucket}/{key}: {e:?}"));
    }
}

/// One message read back from SQS.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: String,
    /// String message attributes by name.
    pub attributes: BTreeMap<String, String>,
}

impl From<aws_sdk_sqs::types::Message> for Received {
    fn from(message: aws_sdk_sqs::types::Message) -> Self {
        let attributes = message
            .message_attributes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, value)| value.string_value.map(|v| (name, v)))
            .collect();
        Received {
            body: message.body.unwrap_or_default(),
            attributes,
        }
    }
}

/// The Lambda emulator (moto in Docker-free mode: Invoke echoes the payload and runs
/// nothing).
#[derive(Debug, Clone)]
pub struct MotoLambda {
    pub endpoint: String,
    pub sdk: SdkConfig,
}

impl MotoLambda {
    /// Connects to the emulator named by `JCWATCH_TEST_LAMBDA_ENDPOINT`, or fails saying how
    /// to start it.
    pub async fn connect() -> MotoLambda {
        let endpoint = endpoint_from_env(LAMBDA_ENDPOINT_ENV);
        check_reachable(&endpoint, LAMBDA_ENDPOINT_ENV).await;
        let sdk = sdk_config(&endpoint).await;
        MotoLambda { endpoint, sdk }
    }

    pub fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.sdk)
    }

    /// Creates an IAM role the emulator's Lambda will accept, and returns its ARN.
    ///
    /// N.B. the role is created with a hand-made IAM Query call instead of the IAM SDK, which
    /// the project does not otherwise need; moto checks only that the request names the IAM
    /// service in its credential scope, not the signature.
    pub async fn create_role(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let form = [
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", name.as_str()),
            ("AssumeRolePolicyDocument", trust),
        ];
        let answer = reqwest::Client::new()
            .post(format!("{}/", self.endpoint))
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .form(&form)
            .send()
            .await
            .expect("IAM CreateRole request");
        let status = answer.status();
        let body = answer.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "IAM CreateRole answered {status}: {body}"
        );
        format!("arn:aws:iam::{ACCOUNT_ID}:role/{name}")
    }

    /// Creates a function with a placeholder zip (moto does not run it) and returns its name.
    pub async fn create_function(&self, prefix: &str) -> String {
        let role = self.create_role("role").await;
        let name = unique_name(prefix);
        self.lambda()
            .create_function()
            .function_name(&name)
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role)
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(
                        b"placeholder: moto does not run function code".to_vec(),
                    ))
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("creating function {name}: {e:?}"));
        name
    }

    /// Runs `action` while moto's recorder is on and returns the requests it recorded.
    ///
    /// N.B. the recorder is global to the emulator and its file only grows: requests other
    /// tests sent are in it too, so callers look for their own function name.
    pub async fn record<F, T>(&self, action: F) -> (T, Vec<RecordedRequest>)
    where
        F: std::future::Future<Output = T>,
    {
        // The recorder is one switch for the whole emulator: tests in this process take turns.
        static RECORDER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _turn = RECORDER.lock().await;
        let http = reqwest::Client::new();
        let post = |path: &str| http.post(format!("{}/moto-api/recorder/{path}", self.endpoint));

        post("start-recording")
            .send()
            .await
            .expect("start recording");
        let result = action.await;
        post("stop-recording").send().await.expect("stop recording");
        let text = http
            .get(format!(
                "{}/moto-api/recorder/download-recording",
                self.endpoint
            ))
            .send()
            .await
            .expect("download recording")
            .text()
            .await
            .expect("recording text");

        let requests = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .map(RecordedRequest::from)
            .collect();
        (result, requests)
    }
}

/// A request moto's recorder saw.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl From<Value> for RecordedRequest {
    fn from(value: Value) -> Self {
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let headers = value
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .map(|(k, v)| {
                        (
                            k.to_ascii_lowercase(),
                            v.as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let encoded = value.get("body_encoded").and_then(Value::as_bool) == Some(true);
        let body = if encoded {
            String::from_utf8_lossy(&decode_base64(&text("body"))).into_owned()
        } else {
            text("body")
        };
        RecordedRequest {
            method: text("method"),
            path: text("url"),
            headers,
            body,
        }
    }
}

/// Decodes standard base64 (the recorder's encoding of request bodies); skips padding and
/// anything outside the alphabet.
fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for byte in text.bytes() {
        let Some(value) = ALPHABET.iter().position(|&c| c == byte) else {
            continue;
        };
        bits = (bits << 6) | value as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_bodies_decode_to_their_text() {
        assert_eq!(decode_base64("eyJhIjoxfQ=="), br#"{"a":1}"#);
        assert_eq!(decode_base64("aGVsbG8gd29ybGQ="), b"hello world");
    }
}
