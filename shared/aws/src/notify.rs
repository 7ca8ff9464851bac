//! [`Notifier`] on SNS: one publish per notification to the alerts topic.
//!
//! The message uses `MessageStructure=json` so each protocol gets its own rendering:
//! `default`, `email` and `sqs` carry the plain text, `https` (what AWS Chatbot reads) carries
//! the custom-notification document as a string. The attributes `route`, `severity` and
//! `rule_id` let subscriptions filter.

use async_trait::async_trait;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use jcwatch_core::ports::{Notification, Notifier, NotifyError};
use serde_json::json;

/// SNS's limit for one publish, counting every protocol variant, the subject and the
/// attributes together.
pub const MAX_PUBLISH_BYTES: usize = 256 * 1024;

/// SNS subjects must be ASCII without control characters and under 100 characters.
const MAX_SUBJECT_CHARS: usize = 99;

/// The SNS alerts topic.
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

/// The `MessageStructure=json` body for `notification`.
pub fn sns_message(notification: &Notification) -> String {
    json!({
        "default": notification.text,
        "email": notification.text,
        "sqs": notification.text,
        "https": notification.chat.to_string(),
    })
    .to_string()
}

/// A subject SNS accepts. Rendering already bounds it; this guards against a renderer bug
/// costing the whole notification, by replacing what SNS would reject instead of failing.
fn safe_subject(subject: &str) -> String {
    let cleaned: String = subject
        .chars()
        .map(|c| match c {
            c if c.is_whitespace() => ' ',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '?',
        })
        .take(MAX_SUBJECT_CHARS)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "jcwatch notification".to_string()
    } else {
        cleaned.to_string()
    }
}

/// The attributes to send; SNS rejects an empty string value, so empty ones are left out.
fn attributes(notification: &Notification) -> Vec<(&'static str, String)> {
    [
        ("route", notification.route.as_str().to_string()),
        ("severity", notification.severity.as_str().to_string()),
        ("rule_id", notification.rule_id.clone()),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .collect()
}

#[async_trait]
impl Notifier for SnsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        let failed = |detail: String| NotifyError {
            rule_id: notification.rule_id.clone(),
            detail,
        };
        let message = sns_message(notification);
        let subject = safe_subject(&notification.subject);
        let attributes = attributes(notification);

        let total = message.len()
            + subject.len()
            + attributes
                .iter()
                .map(|(name, value)| name.len() + "String".len() + value.len())
                .sum::<usize>();
        if total > MAX_PUBLISH_BYTES {
            return Err(failed(format!(
                "the message is {total} bytes, over SNS's {MAX_PUBLISH_BYTES}-byte limit \
                 (rendering should have bounded it)"
            )));
        }

        let mut publish = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message_structure("json")
            .message(message)
            .subject(subject);
        for (name, value) in attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| failed(format!("building attribute {name}: {e}")))?;
            publish = publish.message_attributes(name, attribute);
        }

        publish.send().await.map(|_| ()).map_err(|e| {
            failed(format!(
                "publishing to {}: {}",
                self.topic_arn,
                DisplayErrorContext(&e)
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jcwatch_model::{Route, Severity};
    use serde_json::Value;

    fn notification() -> Notification {
        Notification {
            route: Route::Duet,
            severity: Severity::High,
            rule_id: "auth.brute_force".into(),
            subject: "Brute force against alice".into(),
            text: "Someone tried 40 passwords.\n\"quoted\"".into(),
            chat: json!({"version": "1.0", "source": "custom", "content": {"description": "hi"}}),
        }
    }

    #[test]
    fn the_message_has_a_string_for_every_protocol() {
        let message: Value = serde_json::from_str(&sns_message(&notification())).unwrap();

        assert_eq!(
            message["default"],
            "Someone tried 40 passwords.\n\"quoted\""
        );
        assert_eq!(message["email"], message["default"]);
        assert_eq!(message["sqs"], message["default"]);
        let chat: Value = serde_json::from_str(message["https"].as_str().unwrap()).unwrap();
        assert_eq!(chat["source"], "custom");
    }

    #[test]
    fn subjects_sns_would_reject_are_repaired() {
        let long = "x".repeat(150);

        assert_eq!(
            safe_subject("Login from Zürich\nnext"),
            "Login from Z?rich next"
        );
        assert_eq!(safe_subject(&long).len(), MAX_SUBJECT_CHARS);
        assert_eq!(safe_subject(" \t "), "jcwatch notification");
    }

    #[test]
    fn empty_attribute_values_are_left_out() {
        let mut n = notification();
        n.rule_id.clear();

        let names: Vec<_> = attributes(&n).into_iter().map(|(name, _)| name).collect();

        assert_eq!(names, ["route", "severity"]);
    }
}
