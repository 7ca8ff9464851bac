//! The replay use case over an in-memory queue that behaves like SQS (visibility, receipts
//! that change on every delivery) and a target that records what it was sent.

use std::sync::Mutex;

use serde_json::json;

use super::*;

#[derive(Debug, Clone)]
struct Stored {
    message_id: String,
    body: String,
    receipt: Option<String>,
    visible: bool,
}

/// Messages with SQS's visibility rules; `reappear` makes every received message visible
/// again at once, as if its visibility timeout had run out.
#[derive(Debug, Default)]
struct MemoryQueue {
    messages: Mutex<Vec<Stored>>,
    deliveries: Mutex<usize>,
    reappear: bool,
    fail_receive_after: Option<usize>,
    fail_deletes: bool,
    receives: Mutex<usize>,
}

impl MemoryQueue {
    fn with(bodies: &[String]) -> Self {
        let messages = bodies
            .iter()
            .enumerate()
            .map(|(n, body)| Stored {
                message_id: format!("msg-{n}"),
                body: body.clone(),
                receipt: None,
                visible: true,
            })
            .collect();
        MemoryQueue {
            messages: Mutex::new(messages),
            ..MemoryQueue::default()
        }
    }

    fn ids(&self) -> Vec<String> {
        let messages = self.messages.lock().unwrap();
        messages.iter().map(|m| m.message_id.clone()).collect()
    }

    fn visible_ids(&self) -> Vec<String> {
        let messages = self.messages.lock().unwrap();
        messages
            .iter()
            .filter(|m| m.visible)
            .map(|m| m.message_id.clone())
            .collect()
    }
}

#[async_trait]
impl DeadLetterQueue for MemoryQueue {
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, QueueError> {
        assert!((1..=MAX_RECEIVE).contains(&max), "receive asked for {max}");
        let mut receives = self.receives.lock().unwrap();
        *receives += 1;
        if self.fail_receive_after.is_some_and(|n| *receives > n) {
            return Err(QueueError {
                operation: "ReceiveMessage",
                queue: "memory".into(),
                detail: "access denied".into(),
            });
        }

        let mut deliveries = self.deliveries.lock().unwrap();
        let mut messages = self.messages.lock().unwrap();
        let mut out = Vec::new();
        for stored in messages.iter_mut().filter(|m| m.visible).take(max) {
            *deliveries += 1;
            let receipt = format!("{}-r{}", stored.message_id, *deliveries);
            stored.receipt = Some(receipt.clone());
            stored.visible = self.reappear;
            out.push(QueuedMessage {
                message_id: stored.message_id.clone(),
                receipt,
                body: stored.body.clone(),
                attributes: BTreeMap::new(),
            });
        }
        Ok(out)
    }

    async fn delete(&self, message: &QueuedMessage) -> Result<(), QueueError> {
        if self.fail_deletes {
            return Err(QueueError {
                operation: "DeleteMessage",
                queue: "memory".into(),
                detail: "access denied".into(),
            });
        }
        let mut messages = self.messages.lock().unwrap();
        let before = messages.len();
        messages.retain(|m| m.receipt.as_deref() != Some(message.receipt.as_str()));
        assert_eq!(
            messages.len() + 1,
            before,
            "stale receipt {}",
            message.receipt
        );
        Ok(())
    }

    async fn release(&self, message: &QueuedMessage) -> Result<(), QueueError> {
        let mut messages = self.messages.lock().unwrap();
        let stored = messages
            .iter_mut()
            .find(|m| m.receipt.as_deref() == Some(message.receipt.as_str()))
            .unwrap_or_else(|| panic!("release with a stale receipt {}", message.receipt));
        stored.visible = true;
        Ok(())
    }
}

/// Records every payload; fails the batches named in `fail_batches`, or every call after
/// `unavailable_after` calls as if the function could not be reached.
#[derive(Debug, Default)]
struct RecordingTarget {
    sent: Mutex<Vec<Value>>,
    fail_batches: Vec<String>,
    unavailable_after: Option<usize>,
}

#[async_trait]
impl ReplayTarget for RecordingTarget {
    async fn replay(&self, payload: &Value) -> Result<(), ReplayError> {
        let mut sent = self.sent.lock().unwrap();
        if self.unavailable_after.is_some_and(|n| sent.len() >= n) {
            return Err(ReplayError::Target {
                detail: "function not found".into(),
            });
        }
        sent.push(payload.clone());
        let batch_id = payload["batch_id"].as_str().unwrap_or_default();
        if self.fail_batches.iter().any(|b| b == batch_id) {
            return Err(ReplayError::Batch {
                detail: "Retryable: table unavailable".into(),
            });
        }
        Ok(())
    }
}

fn batch(id: &str) -> Value {
    json!({
        "batch_id": id,
        "org_id": "org-1",
        "events": [
            {"id": format!("{id}-e1"), "event_type": "user_login_attempt", "timestamp": "2026-01-05T09:14:03Z"},
            {"id": format!("{id}-e2"), "event_type": "user_update", "timestamp": "2026-01-05T09:15:00Z"}
        ]
    })
}

fn record(id: &str) -> String {
    json!({
        "version": "1.0",
        "timestamp": "2026-01-05T09:20:41.512Z",
        "requestContext": {
            "requestId": format!("req-{id}"),
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:jcwatch-detect:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3
        },
        "requestPayload": batch(id),
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Retryable", "errorMessage": "store unavailable"}
    })
    .to_string()
}

async fn run(
    queue: &MemoryQueue,
    target: &RecordingTarget,
    options: ReplayOptions,
) -> (ReplaySummary, Vec<MessageReport>) {
    let mut reports = Vec::new();
    let summary = replay_dead_letters(queue, target, &options, |r| reports.push(r.clone())).await;
    (summary, reports)
}

fn outcomes(reports: &[MessageReport]) -> Vec<(String, Outcome)> {
    reports
        .iter()
        .map(|r| (r.message_id.clone(), r.outcome.clone()))
        .collect()
}

#[tokio::test]
async fn every_batch_is_replayed_once_and_its_message_deleted() {
    let bodies: Vec<String> = (0..23).map(|n| record(&format!("b{n}"))).collect();
    let queue = MemoryQueue::with(&bodies);
    let target = RecordingTarget::default();

    let (summary, reports) = run(&queue, &target, ReplayOptions::default()).await;

    let expected: Vec<Value> = (0..23).map(|n| batch(&format!("b{n}"))).collect();
    assert_eq!(*target.sent.lock().unwrap(), expected);
    assert!(queue.ids().is_empty(), "{:?}", queue.ids());
    assert_eq!(summary.replayed, 23);
    assert_eq!(summary.received, 23);
    assert!(summary.all_replayed());
    assert!(reports.iter().all(|r| r.outcome == Outcome::Replayed));
    let info = reports[0].letter.as_ref().unwrap();
    assert_eq!(info.batch_id, "b0");
    assert_eq!(info.event_count, 2);
}

#[tokio::test]
async fn an_unreadable_message_is_reported_by_id_and_stays_visible_in_the_queue() {
    let queue = MemoryQueue::with(&[record("b0"), "not json".into(), batch("b2").to_string()]);
    let target = RecordingTarget::default();

    let (summary, reports) = run(&queue, &target, ReplayOptions::default()).await;

    assert_eq!(queue.ids(), vec!["msg-1"]);
    assert_eq!(queue.visible_ids(), vec!["msg-1"]);
    assert_eq!(*target.sent.lock().unwrap(), vec![batch("b0"), batch("b2")]);
    let unreadable = &reports[1];
    assert_eq!(unreadable.message_id, "msg-1");
    assert!(matches!(
        unreadable.outcome,
        Outcome::Unreadable(LetterError::NotJson { .. })
    ));
    assert_eq!(summary.unreadable, 1);
    assert_eq!(summary.replayed, 2);
    assert!(!summary.all_replayed());
}

#[tokio::test]
async fn a_dry_run_invokes_nothing_deletes_nothing_and_leaves_every_message_visible() {
    let queue = MemoryQueue::with(&[record("b0"), "[]".into(), batch("b2").to_string()]);
    let target = RecordingTarget::default();

    let (summary, reports) = run(
        &queue,
        &target,
        ReplayOptions {
            dry_run: true,
            ..ReplayOptions::default()
        },
    )
    .await;

    assert!(target.sent.lock().unwrap().is_empty());
    assert_eq!(queue.visible_ids(), vec!["msg-0", "msg-1", "msg-2"]);
    assert_eq!(summary.would_replay, 2);
    assert_eq!(summary.unreadable, 1);
    assert_eq!(reports[0].outcome, Outcome::WouldReplay);
}

#[tokio::test]
async fn a_batch_the_function_fails_on_stays_in_the_queue_and_the_run_goes_on() {
    let queue = MemoryQueue::with(&[record("b0"), record("b1"), record("b2")]);
    let target = RecordingTarget {
        fail_batches: vec!["b1".into()],
        ..RecordingTarget::default()
    };

    let (summary, reports) = run(&queue, &target, ReplayOptions::default()).await;

    assert_eq!(queue.visible_ids(), vec!["msg-1"]);
    assert_eq!(target.sent.lock().unwrap().len(), 3);
    assert_eq!(
        outcomes(&reports)[1],
        (
            "msg-1".to_string(),
            Outcome::Failed(ReplayError::Batch {
                detail: "Retryable: table unavailable".into()
            })
        )
    );
    assert_eq!((summary.replayed, summary.failed), (2, 1));
    assert!(summary.stopped.is_none());
}

#[tokio::test]
async fn a_function_that_cannot_be_invoked_stops_the_run_and_keeps_the_rest() {
    let bodies: Vec<String> = (0..14).map(|n| record(&format!("b{n}"))).collect();
    let queue = MemoryQueue::with(&bodies);
    let target = RecordingTarget {
        unavailable_after: Some(2),
        ..RecordingTarget::default()
    };

    let (summary, reports) = run(&queue, &target, ReplayOptions::default()).await;

    assert_eq!(queue.ids().len(), 12);
    assert_eq!(queue.visible_ids().len(), 12, "kept messages are released");
    assert_eq!(
        summary.stopped,
        Some(StopReason::Target(ReplayError::Target {
            detail: "function not found".into()
        }))
    );
    assert_eq!(
        (summary.replayed, summary.failed, summary.not_tried),
        (2, 1, 7),
        "the run stops within the first receive of ten"
    );
    assert_eq!(reports.len(), 10);
    assert_eq!(reports[9].outcome, Outcome::NotTried);
}

#[tokio::test]
async fn max_limits_how_many_messages_are_handled() {
    let bodies: Vec<String> = (0..25).map(|n| record(&format!("b{n}"))).collect();
    let queue = MemoryQueue::with(&bodies);
    let target = RecordingTarget::default();

    let (summary, _) = run(
        &queue,
        &target,
        ReplayOptions {
            max: Some(13),
            ..ReplayOptions::default()
        },
    )
    .await;

    assert_eq!(summary.replayed, 13);
    assert_eq!(target.sent.lock().unwrap().len(), 13);
    assert_eq!(queue.ids().len(), 12);
    assert!(summary.all_replayed());
}

#[tokio::test]
async fn a_message_that_reappears_during_the_run_is_handled_once_and_ends_the_run() {
    let mut queue = MemoryQueue::with(&[record("b0"), "garbage".into(), "{}".into()]);
    queue.reappear = true;
    let target = RecordingTarget::default();

    let (summary, reports) = run(&queue, &target, ReplayOptions::default()).await;

    assert_eq!(reports.len(), 3);
    assert_eq!(summary.received, 3);
    assert_eq!(*target.sent.lock().unwrap(), vec![batch("b0")]);
    assert_eq!(queue.visible_ids(), vec!["msg-1", "msg-2"]);
}

#[tokio::test]
async fn a_message_that_cannot_be_deleted_after_its_replay_is_reported() {
    let mut queue = MemoryQueue::with(&[record("b0")]);
    queue.fail_deletes = true;
    let target = RecordingTarget::default();

    let (summary, reports) = run(&queue, &target, ReplayOptions::default()).await;

    assert!(matches!(
        reports[0].outcome,
        Outcome::ReplayedNotDeleted(QueueError {
            operation: "DeleteMessage",
            ..
        })
    ));
    assert_eq!(summary.replayed_not_deleted, 1);
    assert!(!summary.all_replayed());
    assert_eq!(*target.sent.lock().unwrap(), vec![batch("b0")]);
}

#[tokio::test]
async fn a_queue_that_cannot_be_read_stops_the_run_with_the_reason() {
    let bodies: Vec<String> = (0..12).map(|n| record(&format!("b{n}"))).collect();
    let mut queue = MemoryQueue::with(&bodies);
    queue.fail_receive_after = Some(1);
    let target = RecordingTarget::default();

    let (summary, _) = run(&queue, &target, ReplayOptions::default()).await;

    assert_eq!(summary.replayed, 10);
    assert!(
        matches!(&summary.stopped, Some(StopReason::Queue(e)) if e.detail == "access denied"),
        "{:?}",
        summary.stopped
    );
    assert!(!summary.all_replayed());
}

#[tokio::test]
async fn an_empty_queue_replays_nothing_and_counts_as_all_replayed() {
    let queue = MemoryQueue::default();
    let target = RecordingTarget::default();

    let (summary, reports) = run(&queue, &target, ReplayOptions::default()).await;

    assert!(reports.is_empty());
    assert_eq!(summary.received, 0);
    assert!(summary.all_replayed());
}
