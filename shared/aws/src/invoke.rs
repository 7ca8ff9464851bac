//! Asynchronous Lambda invocation: the hand-off of batches to the detect function, and the
//! poll function handing a shard of organisations to another invocation of itself.

use async_trait::async_trait;
use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use jcwatch_core::ports::{BatchSink, HandOffError};
use jcwatch_model::Batch;

/// Lambda's limit for an asynchronous invocation's payload.
pub const MAX_ASYNC_PAYLOAD_BYTES: usize = 1024 * 1024;

/// How much of a function's error answer goes into an error message.
const MAX_ERROR_BODY_CHARS: usize = 512;

/// Why an asynchronous invocation was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error(
        "payload for {function} is {bytes} bytes, over Lambda's {MAX_ASYNC_PAYLOAD_BYTES}-byte limit for asynchronous invocation"
    )]
    TooLarge { function: String, bytes: usize },
    #[error("invoking {function} failed: {detail}")]
    Call { function: String, detail: String },
    #[error("{function} answered HTTP {status} instead of accepting the event")]
    Status { function: String, status: i32 },
    #[error("{function} reported a {kind} function error: {body}")]
    Function {
        function: String,
        kind: String,
        body: String,
    },
}

/// Invokes Lambda functions with `InvocationType::Event`.
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        LambdaInvoker { client }
    }

    /// Queues `payload` (JSON) for `function`. AWS accepts with 202; `cargo lambda watch`
    /// runs the function at once and answers 200 with its result, so both count as accepted,
    /// unless the answer carries a function error.
    pub async fn invoke_async(&self, function: &str, payload: Vec<u8>) -> Result<(), InvokeError> {
        if payload.len() > MAX_ASYNC_PAYLOAD_BYTES {
            return Err(InvokeError::TooLarge {
                function: function.to_string(),
                bytes: payload.len(),
            });
        }

        let output = self
            .client
            .invoke()
            .function_name(function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| InvokeError::Call {
                function: function.to_string(),
                detail: DisplayErrorContext(&e).to_string(),
            })?;

        if let Some(kind) = output.function_error {
            let body = output
                .payload
                .map(|p| {
                    String::from_utf8_lossy(p.as_ref())
                        .chars()
                        .take(MAX_ERROR_BODY_CHARS)
                        .collect()
                })
                .unwrap_or_default();
            return Err(InvokeError::Function {
                function: function.to_string(),
                kind,
                body,
            });
        }
        match output.status_code {
            200 | 202 => Ok(()),
            status => Err(InvokeError::Status {
                function: function.to_string(),
                status,
            }),
        }
    }
}

/// [`BatchSink`] that hands each batch to the detect function as its JSON serialisation.
#[derive(Debug, Clone)]
pub struct LambdaBatchSink {
    invoker: LambdaInvoker,
    function: String,
}

impl LambdaBatchSink {
    pub fn new(invoker: LambdaInvoker, function: impl Into<String>) -> Self {
        LambdaBatchSink {
            invoker,
            function: function.into(),
        }
    }
}

#[async_trait]
impl BatchSink for LambdaBatchSink {
    async fn hand_off(&self, batch: &Batch) -> Result<(), HandOffError> {
        let payload = serde_json::to_vec(batch).map_err(|e| HandOffError {
            batch_id: batch.batch_id.clone(),
            detail: format!("serialising the batch: {e}"),
        })?;

        self.invoker
            .invoke_async(&self.function, payload)
            .await
            .map_err(|e| HandOffError {
                batch_id: batch.batch_id.clone(),
                detail: e.to_string(),
            })
    }
}
