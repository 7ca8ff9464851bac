//! [`DeadLetterQueue`] on SQS: the detect function's dead-letter queue, read for the replay.
//!
//! Messages are received with a short wait (one second: long enough for SQS to look on all
//! its servers, so an empty answer means an empty queue, short enough that a run ends
//! promptly) and hidden from other readers for the visibility timeout while the replay holds
//! them. A message is deleted with the receipt of the delivery the replay holds, and released
//! by setting its visibility timeout to zero.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use jcwatch_core::replay::{DeadLetterQueue, MAX_RECEIVE, QueueError, QueuedMessage};

/// How long a receive waits for messages.
const RECEIVE_WAIT_SECONDS: i32 = 1;

/// SQS's largest visibility timeout, twelve hours.
pub const MAX_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

/// The dead-letter queue at `queue_url`.
#[derive(Debug, Clone)]
pub struct SqsDeadLetterQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    visibility_timeout: Duration,
}

impl SqsDeadLetterQueue {
    /// `visibility_timeout` should cover replaying [`MAX_RECEIVE`] batches; it is capped at
    /// SQS's maximum.
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        visibility_timeout: Duration,
    ) -> Self {
        SqsDeadLetterQueue {
            client,
            queue_url: queue_url.into(),
            visibility_timeout: visibility_timeout.min(MAX_VISIBILITY_TIMEOUT),
        }
    }

    fn error(&self, operation: &'static str, detail: String) -> QueueError {
        QueueError {
            operation,
            queue: self.queue_url.clone(),
            detail,
        }
    }
}

#[async_trait]
impl DeadLetterQueue for SqsDeadLetterQueue {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, MAX_RECEIVE) as i32)
            .visibility_timeout(self.visibility_timeout.as_secs() as i32)
            .wait_time_seconds(RECEIVE_WAIT_SECONDS)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| self.error("ReceiveMessage", DisplayErrorContext(&e).to_string()))?;

        output
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| self.queued(message))
            .collect()
    }

    async fn delete(&self, message: &QueuedMessage) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(&message.receipt)
            .send()
            .await
            .map_err(|e| {
                let detail = DisplayErrorContext(&e).to_string();
                self.error("DeleteMessage", format!("{}: {detail}", message.message_id))
            })?;
        Ok(())
    }

    async fn release(&self, message: &QueuedMessage) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(&message.receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| {
                let detail = DisplayErrorContext(&e).to_string();
                self.error(
                    "ChangeMessageVisibility",
                    format!("{}: {detail}", message.message_id),
                )
            })?;
        Ok(())
    }
}

impl SqsDeadLetterQueue {
    fn queued(&self, message: aws_sdk_sqs::types::Message) -> Result<QueuedMessage, QueueError> {
        let (Some(message_id), Some(receipt)) = (message.message_id, message.receipt_handle) else {
            return Err(self.error(
                "ReceiveMessage",
                "SQS returned a message without an id or receipt handle".to_string(),
            ));
        };
        let attributes = message
            .message_attributes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, value)| value.string_value.map(|text| (name, text)))
            .collect();
        Ok(QueuedMessage {
            message_id,
            receipt,
            body: message.body.unwrap_or_default(),
            attributes,
        })
    }
}
