//! [`ReplayTarget`] on Lambda: a batch from the dead-letter queue sent to the detect function
//! again, either asynchronously through [`LambdaInvoker`] (a batch that fails again goes
//! back to the dead-letter queue after Lambda's retries) or synchronously, waiting for the
//! function's answer so its error can be reported while the message stays in the queue.
//!
//! Errors are sorted into the two kinds the replay acts on: about this batch (too large, not
//! valid JSON, the function failed on it), after which the replay goes on with the next
//! message, and about the function (missing, not allowed, unreachable, throttled), after
//! which it stops.

use async_trait::async_trait;
use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use jcwatch_core::replay::{ReplayError, ReplayTarget, printable};
use serde_json::Value;

use crate::invoke::{InvokeError, LambdaInvoker};

/// Lambda's limit for a synchronous invocation's payload (6 MB).
pub const MAX_SYNC_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// Lambda error codes that mean "this payload", not "this function".
const PAYLOAD_ERROR_CODES: [&str; 2] =
    ["RequestTooLargeException", "InvalidRequestContentException"];

/// How the function is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokeMode {
    /// `InvocationType=Event`: accepted means queued; a failure goes to the dead-letter
    /// queue again.
    Async,
    /// `InvocationType=RequestResponse`: accepted means the function ran without an error.
    Sync,
}

/// The detect function, invoked with a dead-letter batch.
#[derive(Debug, Clone)]
pub struct LambdaReplayTarget {
    invoker: LambdaInvoker,
    client: aws_sdk_lambda::Client,
    function: String,
    mode: InvokeMode,
}

impl LambdaReplayTarget {
    pub fn new(
        client: aws_sdk_lambda::Client,
        function: impl Into<String>,
        mode: InvokeMode,
    ) -> Self {
        LambdaReplayTarget {
            invoker: LambdaInvoker::new(client.clone()),
            client,
            function: function.into(),
            mode,
        }
    }

    /// `RequestResponse`: the function's error, when it reports one, is a failure of this batch.
    async fn invoke_sync(&self, payload: Vec<u8>) -> Result<(), InvokeError> {
        let function = self.function.clone();
        if payload.len() > MAX_SYNC_PAYLOAD_BYTES {
            return Err(InvokeError::Call {
                function,
                detail: format!(
                    "RequestTooLargeException: the batch is {} bytes, over Lambda's {MAX_SYNC_PAYLOAD_BYTES}-byte limit for synchronous invocation",
                    payload.len()
                ),
            });
        }

        let output = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| InvokeError::Call {
                function: function.clone(),
                detail: DisplayErrorContext(&e).to_string(),
            })?;

        if let Some(kind) = output.function_error {
            let body = output
                .payload
                .map(|p| function_error_text(p.as_ref()))
                .unwrap_or_default();
            return Err(InvokeError::Function {
                function,
                kind,
                body,
            });
        }
        match output.status_code {
            200 => Ok(()),
            status => Err(InvokeError::Status { function, status }),
        }
    }
}

#[async_trait]
impl ReplayTarget for LambdaReplayTarget {
    async fn replay(&self, payload: &Value) -> Result<(), ReplayError> {
        let bytes = serde_json::to_vec(payload).map_err(|e| ReplayError::Batch {
            detail: format!("serialising the batch: {e}"),
        })?;

        let result = match self.mode {
            InvokeMode::Async => self.invoker.invoke_async(&self.function, bytes).await,
            InvokeMode::Sync => self.invoke_sync(bytes).await,
        };
        result.map_err(classify)
    }
}

/// Sorts an invocation error into a failure of this batch or of the function.
fn classify(error: InvokeError) -> ReplayError {
    let detail = error.to_string();
    match &error {
        InvokeError::TooLarge { .. } | InvokeError::Function { .. } => {
            ReplayError::Batch { detail }
        }
        InvokeError::Call { detail: call, .. }
            if PAYLOAD_ERROR_CODES.iter().any(|code| call.contains(code)) =>
        {
            ReplayError::Batch { detail }
        }
        InvokeError::Call { .. } | InvokeError::Status { .. } => ReplayError::Target { detail },
    }
}

/// A function error answer (`{errorType, errorMessage, ...}`) as one bounded line.
fn function_error_text(body: &[u8]) -> String {
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return printable(&String::from_utf8_lossy(body));
    };
    let field = |key: &str| answer.get(key).and_then(Value::as_str).map(printable);
    match (field("errorType"), field("errorMessage")) {
        (Some(kind), Some(message)) => format!("{kind}: {message}"),
        (Some(text), None) | (None, Some(text)) => text,
        (None, None) => printable(&answer.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_error_answer_reads_as_type_and_message() {
        let body = br#"{"errorType":"Retryable","errorMessage":"alerts table unavailable","stackTrace":[]}"#;

        assert_eq!(
            function_error_text(body),
            "Retryable: alerts table unavailable"
        );
    }

    #[test]
    fn a_function_error_answer_that_is_not_json_is_kept_printable_and_bounded() {
        let body = format!("boom\n{}", "x".repeat(5000));

        let text = function_error_text(body.as_bytes());

        assert!(text.starts_with("boom\\nxx"), "{text}");
        assert!(text.chars().count() < 300, "{}", text.len());
    }

    #[test]
    fn payload_errors_fail_the_batch_and_function_errors_stop_the_run() {
        let call = |detail: &str| InvokeError::Call {
            function: "detect".into(),
            detail: detail.into(),
        };

        let too_large = classify(call("service error: RequestTooLargeException: too big"));
        let missing = classify(call(
            "service error: ResourceNotFoundException: no function",
        ));
        let refused = classify(InvokeError::Function {
            function: "detect".into(),
            kind: "Unhandled".into(),
            body: "Retryable: timeout".into(),
        });
        let status = classify(InvokeError::Status {
            function: "detect".into(),
            status: 500,
        });

        assert!(
            matches!(too_large, ReplayError::Batch { .. }),
            "{too_large:?}"
        );
        assert!(matches!(refused, ReplayError::Batch { .. }), "{refused:?}");
        assert!(matches!(missing, ReplayError::Target { .. }), "{missing:?}");
        assert!(matches!(status, ReplayError::Target { .. }), "{status:?}");
        assert!(
            refused.to_string().contains("Retryable: timeout"),
            "{refused}"
        );
    }
}
