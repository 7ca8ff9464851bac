//! Replaying the dead-letter queue: batches the detect function failed on (Lambda's
//! on-failure destination puts each one there inside its invocation record) are sent to the
//! detect function again, so a failed batch is never lost for good.
//!
//! The use case reads the queue through [`DeadLetterQueue`] and invokes the function through
//! [`ReplayTarget`]. A message is deleted only after its batch was accepted; everything else
//! (a message that is not a batch, a batch the function failed on again, a dry run) stays in
//! the queue and is made visible again at the end of the run, so the next run or a person can
//! look at it. Replaying is safe when a batch partly succeeded before: detection keeps its
//! state as idempotent observations and gives alerts deterministic ids, so a batch handled
//! twice makes no second alert and no second notification.
//!
//! Messages stay hidden from other readers while the run holds them (the queue's visibility
//! timeout); a message that shows up again within the same run (its timeout ran out) is not
//! replayed a second time, and a receive that brings nothing new ends the run.

pub mod letter;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use serde_json::Value;
use tracing::info;

pub use letter::{
    DeadLetter, FailureRecord, LetterError, LetterInfo, Origin, PriorError, printable,
    read_dead_letter,
};

/// SQS hands out at most this many messages per receive.
pub const MAX_RECEIVE: usize = 10;

/// A message as the queue handed it out.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedMessage {
    pub message_id: String,
    /// What deleting or releasing this delivery of the message takes.
    pub receipt: String,
    pub body: String,
    /// The message's string attributes (a classic dead-letter queue puts the error there).
    pub attributes: BTreeMap<String, String>,
}

/// A queue operation that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} on {queue} failed: {detail}")]
pub struct QueueError {
    pub operation: &'static str,
    pub queue: String,
    pub detail: String,
}

/// The dead-letter queue, as the replay uses it.
#[async_trait]
pub trait DeadLetterQueue: Send + Sync {
    /// Up to `max` (at most [`MAX_RECEIVE`]) messages, hidden from other readers for the
    /// visibility timeout. An empty answer means the queue holds nothing visible.
    async fn receive(&self, max: usize) -> Result<Vec<QueuedMessage>, QueueError>;

    /// Removes a message for good.
    async fn delete(&self, message: &QueuedMessage) -> Result<(), QueueError>;

    /// Makes a message visible again at once; it stays in the queue.
    async fn release(&self, message: &QueuedMessage) -> Result<(), QueueError>;
}

/// Why a batch was not replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// This batch was refused, or the function failed on it; other batches may go through.
    #[error("{detail}")]
    Batch { detail: String },
    /// The function cannot be invoked at all (it does not exist, the caller may not invoke
    /// it, the service is unreachable or throttling): the run stops.
    #[error("{detail}")]
    Target { detail: String },
}

/// The detect function, as the replay uses it.
#[async_trait]
pub trait ReplayTarget: Send + Sync {
    /// Sends one batch. `Ok` once the function accepted it (asynchronous invocation) or ran
    /// it without an error (synchronous invocation).
    async fn replay(&self, payload: &Value) -> Result<(), ReplayError>;
}

/// How much to replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Handle at most this many messages (`None`: until the queue is empty).
    pub max: Option<usize>,
    /// Read and check every message, invoke nothing, delete nothing.
    pub dry_run: bool,
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function accepted the batch and the message was deleted.
    Replayed,
    /// The function accepted the batch, but the message could not be deleted: it will be
    /// replayed again by a later run, which is harmless.
    ReplayedNotDeleted(QueueError),
    /// Dry run: the message holds a batch that would be replayed.
    WouldReplay,
    /// The message is not a batch; it stays in the queue.
    Unreadable(LetterError),
    /// The function refused or failed on the batch; the message stays in the queue.
    Failed(ReplayError),
    /// The run stopped before this message (it stays in the queue).
    NotTried,
}

impl Outcome {
    /// Whether the message stays in the queue.
    pub fn kept(&self) -> bool {
        !matches!(self, Outcome::Replayed | Outcome::ReplayedNotDeleted(_))
    }
}

/// One line of the replay's report.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageReport {
    pub message_id: String,
    /// What the message holds, when it could be read.
    pub letter: Option<LetterInfo>,
    pub outcome: Outcome,
}

/// Why a run ended before the queue was empty.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StopReason {
    #[error("reading the queue: {0}")]
    Queue(QueueError),
    #[error("invoking the function: {0}")]
    Target(ReplayError),
}

/// The counts of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplaySummary {
    /// Distinct messages handled.
    pub received: usize,
    pub replayed: usize,
    pub replayed_not_deleted: usize,
    pub would_replay: usize,
    pub unreadable: usize,
    pub failed: usize,
    pub not_tried: usize,
    pub stopped: Option<StopReason>,
    /// Kept messages that could not be made visible again; they reappear when their
    /// visibility timeout runs out.
    pub release_failures: Vec<QueueError>,
}

impl ReplaySummary {
    /// Every message handled was replayed (or, in a dry run, would be), and the run went
    /// through to an empty queue or its limit.
    pub fn all_replayed(&self) -> bool {
        self.stopped.is_none()
            && self.replayed_not_deleted == 0
            && self.unreadable == 0
            && self.failed == 0
            && self.not_tried == 0
    }

    fn count(&mut self, outcome: &Outcome) {
        self.received += 1;
        let counter = match outcome {
            Outcome::Replayed => &mut self.replayed,
            Outcome::ReplayedNotDeleted(_) => &mut self.replayed_not_deleted,
            Outcome::WouldReplay => &mut self.would_replay,
            Outcome::Unreadable(_) => &mut self.unreadable,
            Outcome::Failed(_) => &mut self.failed,
            Outcome::NotTried => &mut self.not_tried,
        };
        *counter += 1;
    }
}

/// Replays the queue's batches into the target, calling `on_message` as each message is
/// decided (so a long run reports as it goes), and returns the counts.
pub async fn replay_dead_letters<F>(
    queue: &dyn DeadLetterQueue,
    target: &dyn ReplayTarget,
    options: &ReplayOptions,
    mut on_message: F,
) -> ReplaySummary
where
    F: FnMut(&MessageReport),
{
    let mut summary = ReplaySummary::default();
    // Every message handled, by id; the kept ones hold their latest delivery, for the release.
    let mut handled: HashMap<String, Option<QueuedMessage>> = HashMap::new();

    while summary.stopped.is_none() {
        let room = match options.max {
            Some(max) => max.saturating_sub(summary.received).min(MAX_RECEIVE),
            None => MAX_RECEIVE,
        };
        if room == 0 {
            break;
        }

        let messages = match queue.receive(room).await {
            Ok(messages) => messages,
            Err(error) => {
                summary.stopped = Some(StopReason::Queue(error));
                break;
            }
        };
        let fresh = take_fresh(messages, &mut handled);
        if fresh.is_empty() {
            break;
        }

        for message in fresh {
            let report = match &summary.stopped {
                Some(_) => MessageReport {
                    message_id: message.message_id.clone(),
                    letter: None,
                    outcome: Outcome::NotTried,
                },
                None => replay_one(queue, target, options, &message).await,
            };
            if let Outcome::Failed(error @ ReplayError::Target { .. }) = &report.outcome {
                summary.stopped = Some(StopReason::Target(error.clone()));
            }

            summary.count(&report.outcome);
            let kept = report.outcome.kept().then_some(message);
            handled.insert(report.message_id.clone(), kept);
            on_message(&report);
        }
    }

    for message in handled.into_values().flatten() {
        if let Err(error) = queue.release(&message).await {
            summary.release_failures.push(error);
        }
    }
    info!(
        received = summary.received,
        replayed = summary.replayed,
        would_replay = summary.would_replay,
        unreadable = summary.unreadable,
        failed = summary.failed,
        not_tried = summary.not_tried,
        "dead-letter replay done"
    );
    summary
}

/// The messages not handled yet in this run. A kept message delivered again gets its newest
/// receipt remembered, since only that one can release it.
fn take_fresh(
    messages: Vec<QueuedMessage>,
    handled: &mut HashMap<String, Option<QueuedMessage>>,
) -> Vec<QueuedMessage> {
    let mut fresh = Vec::new();
    for message in messages {
        match handled.get_mut(&message.message_id) {
            None => fresh.push(message),
            Some(Some(kept)) => *kept = message,
            Some(None) => {}
        }
    }
    fresh
}

async fn replay_one(
    queue: &dyn DeadLetterQueue,
    target: &dyn ReplayTarget,
    options: &ReplayOptions,
    message: &QueuedMessage,
) -> MessageReport {
    let report = |letter, outcome| MessageReport {
        message_id: message.message_id.clone(),
        letter,
        outcome,
    };

    let letter = match read_dead_letter(&message.body, &message.attributes) {
        Ok(letter) => letter,
        Err(error) => return report(None, Outcome::Unreadable(error)),
    };
    if options.dry_run {
        return report(Some(letter.info), Outcome::WouldReplay);
    }

    if let Err(error) = target.replay(&letter.payload).await {
        return report(Some(letter.info), Outcome::Failed(error));
    }
    let outcome = match queue.delete(message).await {
        Ok(()) => Outcome::Replayed,
        Err(error) => Outcome::ReplayedNotDeleted(error),
    };
    report(Some(letter.info), outcome)
}
