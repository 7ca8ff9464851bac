//! Reading one dead-letter message: what it holds (the batch to replay) and what is known
//! about why it failed, without ever exposing the batch's events in anything printable.
//!
//! Two shapes are accepted:
//!
//! - Lambda's invocation record, which an on-failure destination sends to the queue:
//!   `{version, timestamp, requestContext: {requestId, functionArn, condition,
//!   approximateInvokeCount}, requestPayload, responseContext, responsePayload}`, where
//!   `requestPayload` is the batch the detect function was given and `responsePayload` its
//!   error answer (`{errorType, errorMessage, ...}`), when it gave one.
//! - The batch itself, `{batch_id, org_id?, events: [...]}`: what a classic dead-letter queue
//!   (`DeadLetterConfig`) receives, with the error in the message attributes `RequestID`,
//!   `ErrorCode` and `ErrorMessage`, or what a person sent to the queue by hand.
//!
//! Anything else is refused with an error that says what was found. The events inside a batch
//! are not checked one by one: the detect function skips a malformed event itself, so the
//! batch is passed on exactly as it was received.
//!
//! N.B. error messages here never quote a value from the body. serde's own messages would
//! ("invalid type: string \"...\""), so the batch's fields are checked by hand.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// How much of a text taken from the message (an error message, an id) is kept.
const MAX_TEXT_CHARS: usize = 200;
/// How many of an unrecognised object's keys an error names.
const MAX_KEYS_NAMED: usize = 8;

/// A dead-letter message that can be replayed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The batch exactly as the detect function was given it. Deliberately not part of
    /// [`LetterInfo`], which is what gets printed.
    pub payload: Value,
    pub info: LetterInfo,
}

/// What may be shown about a dead letter: identifiers, counts and the earlier failure.
#[derive(Debug, Clone, PartialEq)]
pub struct LetterInfo {
    pub batch_id: String,
    pub org_id: Option<String>,
    pub event_count: usize,
    pub origin: Origin,
}

/// How the batch came to be in the queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Lambda's invocation record from an on-failure destination.
    FailureRecord(FailureRecord),
    /// The batch on its own (a classic dead-letter queue, or sent by hand).
    BareBatch { error: Option<PriorError> },
}

impl Origin {
    /// The error the earlier invocation ended with, when the message says.
    pub fn error(&self) -> Option<&PriorError> {
        match self {
            Origin::FailureRecord(record) => record.error.as_ref(),
            Origin::BareBatch { error } => error.as_ref(),
        }
    }
}

/// The envelope of Lambda's invocation record. Every field is optional: the record is read
/// for its payload, and a missing detail only makes the report shorter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailureRecord {
    pub request_id: Option<String>,
    pub function_arn: Option<String>,
    /// `RetriesExhausted`, `EventAgeExceeded` (or `Success` on a misrouted success record).
    pub condition: Option<String>,
    pub approximate_invoke_count: Option<u64>,
    pub error: Option<PriorError>,
}

/// The error an earlier invocation ended with, cleaned up for a terminal and bounded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriorError {
    /// `errorType` (such as `Retryable`), or a classic dead-letter queue's `ErrorCode`.
    pub error_type: Option<String>,
    pub message: Option<String>,
}

impl std::fmt::Display for PriorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.error_type, &self.message) {
            (Some(kind), Some(message)) => write!(f, "{kind}: {message}"),
            (Some(text), None) | (None, Some(text)) => f.write_str(text),
            (None, None) => f.write_str("unknown error"),
        }
    }
}

/// Why a message cannot be replayed. The message stays in the queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LetterError {
    #[error("the body is not JSON ({detail})")]
    NotJson { detail: String },
    #[error("the body is a JSON {found}, not a failure record or a batch")]
    NotAnObject { found: &'static str },
    #[error(
        "the failure record holds no requestPayload (Lambda leaves it out when the record would be too large), so there is no batch to replay"
    )]
    NoRequestPayload,
    #[error("{place} is not a batch: {problem}")]
    NotABatch {
        place: &'static str,
        problem: String,
    },
    #[error(
        "the body is an object with keys [{keys}], neither a Lambda failure record (requestContext, requestPayload) nor a batch (batch_id, events)"
    )]
    Unrecognised { keys: String },
}

const BODY: &str = "the body";
const REQUEST_PAYLOAD: &str = "the failure record's requestPayload";

/// Reads a dead-letter message's body (and its string message attributes, where a classic
/// dead-letter queue puts the error).
pub fn read_dead_letter(
    body: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<DeadLetter, LetterError> {
    let value: Value = serde_json::from_str(body).map_err(|e| LetterError::NotJson {
        // A syntax error's text gives the position only, never the offending text.
        detail: e.to_string(),
    })?;
    let Value::Object(object) = &value else {
        return Err(LetterError::NotAnObject {
            found: json_kind(&value),
        });
    };

    if object.contains_key("requestContext") || object.contains_key("requestPayload") {
        return read_failure_record(object);
    }
    if object.contains_key("batch_id") || object.contains_key("events") {
        let info = check_batch(&value, BODY)?;
        let info = LetterInfo {
            origin: Origin::BareBatch {
                error: attribute_error(attributes),
            },
            ..info
        };
        return Ok(DeadLetter {
            payload: value,
            info,
        });
    }
    Err(LetterError::Unrecognised {
        keys: key_list(object),
    })
}

fn read_failure_record(record: &Map<String, Value>) -> Result<DeadLetter, LetterError> {
    let payload = match record.get("requestPayload") {
        None | Some(Value::Null) => return Err(LetterError::NoRequestPayload),
        Some(payload) => payload.clone(),
    };
    let info = check_batch(&payload, REQUEST_PAYLOAD)?;

    let context = record.get("requestContext");
    let text = |key: &str| context.and_then(|c| c.get(key)).and_then(printable_str);
    let envelope = FailureRecord {
        request_id: text("requestId"),
        function_arn: text("functionArn"),
        condition: text("condition"),
        approximate_invoke_count: context
            .and_then(|c| c.get("approximateInvokeCount"))
            .and_then(Value::as_u64),
        error: response_error(record),
    };
    Ok(DeadLetter {
        payload,
        info: LetterInfo {
            origin: Origin::FailureRecord(envelope),
            ..info
        },
    })
}

/// Checks the shape the detect function accepts and reads the batch's identifiers.
fn check_batch(value: &Value, place: &'static str) -> Result<LetterInfo, LetterError> {
    let problem = |problem: &str| LetterError::NotABatch {
        place,
        problem: problem.to_string(),
    };
    let Value::Object(batch) = value else {
        return Err(LetterError::NotABatch {
            place,
            problem: format!("it is a JSON {}, not an object", json_kind(value)),
        });
    };

    let batch_id = match batch.get("batch_id") {
        Some(Value::String(id)) if !id.trim().is_empty() => printable(id),
        Some(Value::String(_)) => return Err(problem("batch_id is empty")),
        Some(other) => {
            return Err(LetterError::NotABatch {
                place,
                problem: format!("batch_id is a JSON {}, not a string", json_kind(other)),
            });
        }
        None => return Err(problem("batch_id is missing")),
    };
    let org_id = match batch.get("org_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(org)) => Some(printable(org)),
        Some(other) => {
            return Err(LetterError::NotABatch {
                place,
                problem: format!("org_id is a JSON {}, not a string", json_kind(other)),
            });
        }
    };
    let event_count = match batch.get("events") {
        Some(Value::Array(events)) => events.len(),
        Some(other) => {
            return Err(LetterError::NotABatch {
                place,
                problem: format!("events is a JSON {}, not an array", json_kind(other)),
            });
        }
        None => return Err(problem("events is missing")),
    };

    Ok(LetterInfo {
        batch_id,
        org_id,
        event_count,
        origin: Origin::BareBatch { error: None },
    })
}

/// The error in `responsePayload` (`{errorType, errorMessage}`), falling back on
/// `responseContext.functionError` (`Handled` or `Unhandled`) when the payload says nothing.
fn response_error(record: &Map<String, Value>) -> Option<PriorError> {
    let response = record.get("responsePayload");
    let text = |key: &str| response.and_then(|r| r.get(key)).and_then(printable_str);
    let error = PriorError {
        error_type: text("errorType"),
        message: text("errorMessage"),
    };
    if error.error_type.is_some() || error.message.is_some() {
        return Some(error);
    }

    let function_error = record
        .get("responseContext")
        .and_then(|c| c.get("functionError"))
        .and_then(printable_str)?;
    Some(PriorError {
        error_type: Some(function_error),
        message: None,
    })
}

/// A classic dead-letter queue's error attributes.
fn attribute_error(attributes: &BTreeMap<String, String>) -> Option<PriorError> {
    let error = PriorError {
        error_type: attributes.get("ErrorCode").map(|t| printable(t)),
        message: attributes.get("ErrorMessage").map(|t| printable(t)),
    };
    (error.error_type.is_some() || error.message.is_some()).then_some(error)
}

fn printable_str(value: &Value) -> Option<String> {
    value
        .as_str()
        .filter(|s| !s.trim().is_empty())
        .map(printable)
}

/// `text` made safe for one line of a terminal: control characters escaped, bounded in length.
pub fn printable(text: &str) -> String {
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == MAX_TEXT_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn key_list(object: &Map<String, Value>) -> String {
    let mut keys: Vec<String> = object
        .keys()
        .take(MAX_KEYS_NAMED)
        .map(|k| printable(k))
        .collect();
    if object.len() > MAX_KEYS_NAMED {
        keys.push("…".to_string());
    }
    keys.join(", ")
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn batch() -> Value {
        json!({
            "batch_id": "5f2c0a9e41d3b7c8a1e0f6d2",
            "org_id": "5c3f0e2b8a1d4c0012345678",
            "events": [
                {
                    "id": "65a1f3e2c9b8a70001a2b3c4",
                    "event_type": "user_login_attempt",
                    "service": "sso",
                    "timestamp": "2026-01-05T09:14:03.123Z",
                    "initiated_by": {"type": "user", "username": "alice"},
                    "success": false,
                    "error_message": "secret-looking text that must never be printed"
                },
                {
                    "id": "65a1f3e2c9b8a70001a2b3c5",
                    "event_type": "user_update",
                    "service": "directory",
                    "timestamp": "2026-01-05T09:15:00Z"
                }
            ]
        })
    }

    fn failure_record(payload: Value) -> Value {
        json!({
            "version": "1.0",
            "timestamp": "2026-01-05T09:20:41.512Z",
            "requestContext": {
                "requestId": "c2a7a3a4-1f7e-4c2b-9a0e-2f3d4b5c6d7e",
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
                "errorMessage": "batch 5f2c0a9e41d3b7c8a1e0f6d2: alerts table unavailable",
                "stackTrace": []
            }
        })
    }

    fn no_attributes() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn a_failure_record_yields_its_request_payload_and_envelope() {
        let body = failure_record(batch()).to_string();

        let letter = read_dead_letter(&body, &no_attributes()).unwrap();

        assert_eq!(letter.payload, batch());
        assert_eq!(letter.info.batch_id, "5f2c0a9e41d3b7c8a1e0f6d2");
        assert_eq!(
            letter.info.org_id.as_deref(),
            Some("5c3f0e2b8a1d4c0012345678")
        );
        assert_eq!(letter.info.event_count, 2);
        let Origin::FailureRecord(record) = &letter.info.origin else {
            panic!("expected a failure record, got {:?}", letter.info.origin);
        };
        assert_eq!(
            record.request_id.as_deref(),
            Some("c2a7a3a4-1f7e-4c2b-9a0e-2f3d4b5c6d7e")
        );
        assert_eq!(
            record.function_arn.as_deref(),
            Some("arn:aws:lambda:us-east-1:123456789012:function:jcwatch-detect:$LATEST")
        );
        assert_eq!(record.condition.as_deref(), Some("RetriesExhausted"));
        assert_eq!(record.approximate_invoke_count, Some(3));
        assert_eq!(
            record.error.as_ref().unwrap().to_string(),
            "Retryable: batch 5f2c0a9e41d3b7c8a1e0f6d2: alerts table unavailable"
        );
    }

    #[test]
    fn the_printable_part_of_a_letter_holds_no_event_content() {
        let body = failure_record(batch()).to_string();

        let letter = read_dead_letter(&body, &no_attributes()).unwrap();

        let shown = format!("{:?}", letter.info);
        assert!(!shown.contains("secret-looking"), "{shown}");
        assert!(!shown.contains("alice"), "{shown}");
        assert!(!shown.contains("65a1f3e2c9b8a70001a2b3c4"), "{shown}");
    }

    #[test]
    fn an_event_age_record_without_a_response_keeps_its_condition_and_has_no_error() {
        let mut record = failure_record(batch());
        record["requestContext"]["condition"] = json!("EventAgeExceeded");
        record["requestContext"]["approximateInvokeCount"] = json!(1);
        record.as_object_mut().unwrap().remove("responsePayload");
        record.as_object_mut().unwrap().remove("responseContext");

        let letter = read_dead_letter(&record.to_string(), &no_attributes()).unwrap();

        let Origin::FailureRecord(envelope) = &letter.info.origin else {
            panic!("expected a failure record");
        };
        assert_eq!(envelope.condition.as_deref(), Some("EventAgeExceeded"));
        assert_eq!(envelope.approximate_invoke_count, Some(1));
        assert_eq!(envelope.error, None);
        assert_eq!(letter.payload, batch());
    }

    #[test]
    fn a_function_error_without_an_error_payload_falls_back_on_the_response_context() {
        let mut record = failure_record(batch());
        record["responsePayload"] = json!(null);

        let letter = read_dead_letter(&record.to_string(), &no_attributes()).unwrap();

        assert_eq!(letter.info.origin.error().unwrap().to_string(), "Unhandled");
    }

    #[test]
    fn a_bare_batch_is_replayable_as_it_is() {
        let body = batch().to_string();

        let letter = read_dead_letter(&body, &no_attributes()).unwrap();

        assert_eq!(letter.payload, batch());
        assert_eq!(letter.info.event_count, 2);
        assert_eq!(letter.info.origin, Origin::BareBatch { error: None });
    }

    #[test]
    fn a_classic_dead_letter_queue_error_comes_from_the_message_attributes() {
        let attributes = BTreeMap::from([
            ("RequestID".to_string(), "0b1c".to_string()),
            ("ErrorCode".to_string(), "200".to_string()),
            ("ErrorMessage".to_string(), "Retryable: timeout".to_string()),
        ]);

        let letter = read_dead_letter(&batch().to_string(), &attributes).unwrap();

        assert_eq!(
            letter.info.origin.error().unwrap().to_string(),
            "200: Retryable: timeout"
        );
    }

    #[test]
    fn a_batch_without_an_org_is_the_keys_own_organisation() {
        let mut bare = batch();
        bare.as_object_mut().unwrap().remove("org_id");

        let letter = read_dead_letter(&bare.to_string(), &no_attributes()).unwrap();

        assert_eq!(letter.info.org_id, None);
    }

    #[test]
    fn malformed_events_inside_a_batch_are_passed_on_for_the_detect_function_to_skip() {
        let mut bare = batch();
        bare["events"]
            .as_array_mut()
            .unwrap()
            .push(json!({"no_id": true}));
        bare["events"].as_array_mut().unwrap().push(json!("text"));

        let letter = read_dead_letter(&bare.to_string(), &no_attributes()).unwrap();

        assert_eq!(letter.info.event_count, 4);
        assert_eq!(letter.payload, bare);
    }

    #[test]
    fn a_body_that_is_not_json_is_refused_without_quoting_it() {
        let error = read_dead_letter("hello secret-token", &no_attributes()).unwrap_err();

        assert!(matches!(error, LetterError::NotJson { .. }), "{error:?}");
        assert!(!error.to_string().contains("secret-token"), "{error}");
        assert!(error.to_string().contains("not JSON"), "{error}");
    }

    #[test]
    fn a_json_value_that_is_not_an_object_is_refused_naming_its_kind() {
        let error = read_dead_letter("[1, 2]", &no_attributes()).unwrap_err();

        assert_eq!(error, LetterError::NotAnObject { found: "array" });
    }

    #[test]
    fn an_unknown_object_is_refused_naming_its_keys_but_not_its_values() {
        let body = json!({"Type": "Notification", "Message": "secret-value"}).to_string();

        let error = read_dead_letter(&body, &no_attributes()).unwrap_err();

        let text = error.to_string();
        assert!(text.contains("[Type, Message]"), "{text}");
        assert!(!text.contains("secret-value"), "{text}");
    }

    #[test]
    fn a_failure_record_without_its_payload_is_refused() {
        let mut record = failure_record(batch());
        record.as_object_mut().unwrap().remove("requestPayload");

        let error = read_dead_letter(&record.to_string(), &no_attributes()).unwrap_err();

        assert_eq!(error, LetterError::NoRequestPayload);
    }

    #[test]
    fn a_failure_record_of_something_else_than_a_batch_is_refused() {
        let record = failure_record(json!({"source": "aws.scheduler", "detail": {}}));

        let error = read_dead_letter(&record.to_string(), &no_attributes()).unwrap_err();

        assert_eq!(
            error,
            LetterError::NotABatch {
                place: REQUEST_PAYLOAD,
                problem: "batch_id is missing".into()
            }
        );
        assert!(error.to_string().contains("requestPayload"), "{error}");
    }

    #[test]
    fn batch_fields_of_the_wrong_type_are_named_without_their_values() {
        let cases = [
            (
                json!({"batch_id": 7, "events": []}),
                "batch_id is a JSON number",
            ),
            (json!({"batch_id": "  ", "events": []}), "batch_id is empty"),
            (
                json!({"batch_id": "b", "org_id": ["o"], "events": []}),
                "org_id is a JSON array",
            ),
            (
                json!({"batch_id": "b", "events": "secret-events"}),
                "events is a JSON string",
            ),
            (json!({"batch_id": "b"}), "events is missing"),
        ];

        for (body, expected) in cases {
            let error = read_dead_letter(&body.to_string(), &no_attributes()).unwrap_err();

            let text = error.to_string();
            assert!(text.contains(expected), "{body}: {text}");
            assert!(!text.contains("secret-events"), "{text}");
        }
    }

    #[test]
    fn hostile_text_in_the_envelope_is_escaped_and_bounded() {
        let mut record = failure_record(batch());
        record["responsePayload"]["errorMessage"] =
            json!(format!("line\u{1b}[31m\nnext{}", "x".repeat(1000)));

        let letter = read_dead_letter(&record.to_string(), &no_attributes()).unwrap();

        let message = letter.info.origin.error().unwrap().message.clone().unwrap();
        assert!(
            !message.contains('\u{1b}') && !message.contains('\n'),
            "{message}"
        );
        assert!(message.starts_with("line\\u{1b}[31m\\nnext"), "{message}");
        assert!(message.chars().count() <= MAX_TEXT_CHARS + 10, "{message}");
        assert!(message.ends_with('…'), "{message}");
    }
}
