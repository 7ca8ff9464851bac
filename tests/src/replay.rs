//! What the dead-letter replay tests share: batches in the real hand-off shape, Lambda's
//! failure record around them, a dead-letter queue in the emulator filled with such messages,
//! and a Lambda endpoint whose function fails every batch (moto's Docker-free Lambda only
//! ever succeeds, so the error path needs its own endpoint).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use aws_sdk_sqs::types::QueueAttributeName;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::moto::{Moto, RecordedRequest};

/// A batch as the poll function hands it over: Directory Insights events, one of them
/// malformed (no id), which the detect function skips and the replay must pass on as it is.
pub fn batch(batch_id: &str) -> Value {
    json!({
        "batch_id": batch_id,
        "org_id": "5bf6defbdcd8233029e0c598",
        "events": [
            {
                "id": format!("{batch_id}-1"),
                "event_type": "user_login_attempt",
                "service": "sso",
                "organization": "5bf6defbdcd8233029e0c598",
                "timestamp": "2026-01-05T09:14:03.123Z",
                "client_ip": "203.0.113.7",
                "initiated_by": {"type": "user", "username": "alice.martin"},
                "success": false,
                "error_message": "invalid password",
                "useragent": {"name": "Chrome", "os": "Windows"}
            },
            {
                "id": format!("{batch_id}-2"),
                "event_type": "user_update",
                "service": "directory",
                "organization": "5bf6defbdcd8233029e0c598",
                "timestamp": "2026-01-05T09:15:00.000000001Z",
                "initiated_by": {"type": "admin", "email": "admin@example.com"},
                "resource": {"type": "user", "username": "bob.li"},
                "changes": [{"field": "mfa", "from": {"configured": true}, "to": {"configured": false}}],
                "success": true
            },
            {"event_type": "user_login_attempt", "timestamp": "2026-01-05T09:16:00Z"}
        ]
    })
}

/// Lambda's invocation record for `payload` after the retries ran out, as an on-failure
/// destination sends it.
pub fn failure_record(payload: &Value, request_id: &str) -> String {
    json!({
        "version": "1.0",
        "timestamp": "2026-01-05T09:20:41.512Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:jcwatch-detect:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": payload,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled"
        },
        "responsePayload": {
            "errorType": "Retryable",
            "errorMessage": "batch store: alerts table unavailable",
            "stackTrace": []
        }
    })
    .to_string()
}

/// A dead-letter queue in the emulator and what was put on it.
#[derive(Debug)]
pub struct FilledQueue {
    pub url: String,
    /// Message id and body, in the order sent.
    pub messages: Vec<(String, String)>,
}

impl FilledQueue {
    /// The id of the message with `body`.
    pub fn id_of(&self, body: &str) -> &str {
        self.messages
            .iter()
            .find(|(_, b)| b == body)
            .map(|(id, _)| id.as_str())
            .expect("a message with that body")
    }
}

/// Creates a queue and sends `bodies` to it.
pub async fn filled_queue(moto: &Moto, bodies: &[String]) -> FilledQueue {
    let url = moto.create_queue("dlq").await;
    let mut messages = Vec::new();
    for body in bodies {
        let id = moto
            .sqs()
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("sending to {url}: {e:?}"))
            .message_id
            .expect("message id");
        messages.push((id, body.clone()));
    }
    FilledQueue { url, messages }
}

/// How many messages the queue holds: (visible, hidden by a reader's visibility timeout).
pub async fn queue_depth(moto: &Moto, url: &str) -> (u64, u64) {
    let attributes = moto
        .sqs()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap_or_else(|e| panic!("queue attributes of {url}: {e:?}"))
        .attributes
        .unwrap_or_default();
    let count = |name: &QueueAttributeName| {
        attributes
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name:?} missing from {attributes:?}"))
    };
    (
        count(&QueueAttributeName::ApproximateNumberOfMessages),
        count(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

/// The bodies still in the queue (read with a visibility timeout, so only once per test).
pub async fn remaining_bodies(moto: &Moto, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let output = moto
            .sqs()
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receiving from {url}: {e:?}"));
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        bodies.extend(messages.into_iter().filter_map(|m| m.body));
    }
}

/// The invocations of `function` among the recorded requests: invocation type and payload.
pub fn invocations_of(requests: &[RecordedRequest], function: &str) -> Vec<(String, Value)> {
    let path = format!("/functions/{function}/invocations");
    requests
        .iter()
        .filter(|r| r.path.ends_with(&path))
        .map(|r| {
            let kind = r
                .headers
                .get("x-amz-invocation-type")
                .cloned()
                .unwrap_or_else(|| "RequestResponse".to_string());
            let payload = serde_json::from_str(&r.body)
                .unwrap_or_else(|e| panic!("invocation payload is not JSON ({e}): {}", r.body));
            (kind, payload)
        })
        .collect()
}

/// Sorts payloads by batch id, so runs compare regardless of the queue's order.
pub fn by_batch_id(mut payloads: Vec<Value>) -> Vec<Value> {
    payloads.sort_by_key(|p| p["batch_id"].as_str().unwrap_or_default().to_string());
    payloads
}

/// A Lambda endpoint on loopback whose function answers every invocation with a function
/// error, the way Lambda reports a handler that returned `Err` (`X-Amz-Function-Error`, the
/// error document as the payload).
#[derive(Debug)]
pub struct FailingLambda {
    pub endpoint: String,
    /// Payloads received, with their invocation type.
    pub received: Arc<Mutex<Vec<(String, Value)>>>,
    server: tokio::task::JoinHandle<()>,
}

impl FailingLambda {
    pub async fn start() -> FailingLambda {
        let received: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let seen = received.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, uri: Uri, body: Bytes| {
            let seen = seen.clone();
            async move { answer_with_function_error(&seen, &headers, &uri, &body) }
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("binding a loopback port");
        let address: SocketAddr = listener.local_addr().expect("local address");
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("failing Lambda server");
        });
        FailingLambda {
            endpoint: format!("http://{address}"),
            received,
            server,
        }
    }
}

impl Drop for FailingLambda {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn answer_with_function_error(
    seen: &Mutex<Vec<(String, Value)>>,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> axum::response::Response {
    if !uri.path().ends_with("/invocations") {
        return (StatusCode::NOT_FOUND, "not an invocation").into_response();
    }
    let kind = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_string();
    let payload = serde_json::from_slice(body).unwrap_or(Value::Null);
    seen.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((kind, payload));

    let error = json!({
        "errorType": "Retryable",
        "errorMessage": "batch store: alerts table unavailable"
    });
    (
        StatusCode::OK,
        [
            ("content-type", "application/json"),
            ("x-amz-function-error", "Unhandled"),
            ("x-amz-executed-version", "$LATEST"),
        ],
        error.to_string(),
    )
        .into_response()
}
