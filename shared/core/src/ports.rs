//! The ports of the poll path: what the poll use case needs from the outside world, shaped
//! by that use and returning the project's own types. Adapters live in `jcwatch-aws` (AWS),
//! `jcwatch-local` (embedded SQLite for the CLI) and [`crate::memory`] (tests).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jcwatch_model::{Batch, Route, Severity};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request for a page of events: `[start, end)` of one organisation, after `search_after`.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    /// `None` for the key's own organisation (no `x-org-id` header).
    pub org_id: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The previous page's `X-Search_after`, echoed back unchanged.
    pub search_after: Option<Value>,
}

/// One page of the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The events as they arrived; the poll use case parses them.
    pub events: Vec<Value>,
    /// `X-Search_after`: where the next page starts.
    pub search_after: Option<Value>,
    /// `X-Result-Count < X-Limit`: this is the last page.
    pub last: bool,
}

/// Why the event source could not answer.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// 401, 402 or 403: the credential or the account must be fixed by a person.
    #[error("Directory Insights refused the request (HTTP {status}): {hint}")]
    Auth { status: u16, hint: String },
    /// Retries ran out on 429, 5xx or transport errors.
    #[error("Directory Insights is unavailable after {attempts} attempts: {detail}")]
    Unavailable { attempts: u32, detail: String },
    /// Any other answer the client cannot use (400, bad JSON, bad headers).
    #[error("Directory Insights rejected the request (HTTP {status}): {detail}")]
    Rejected { status: u16, detail: String },
}

/// Reads events from Directory Insights.
#[async_trait]
pub trait EventSource: Send + Sync {
    async fn fetch_page(&self, request: &PageRequest) -> Result<Page, SourceError>;
}

/// An event already handed over, remembered while it can still reappear in a later window.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeenEvent {
    pub timestamp: DateTime<Utc>,
    pub id: String,
}

/// Where one organisation's poll stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The organisation, `""` for the key's own organisation.
    pub org_id: String,
    /// The latest event time handed over (the high-water mark).
    pub high_water: Option<DateTime<Utc>>,
    /// The end of the last completed window: everything before it up to the lag was asked for.
    #[serde(default)]
    pub polled_until: Option<DateTime<Utc>>,
    /// Events handed over whose time is inside the overlap below the high-water mark.
    #[serde(default)]
    pub seen: Vec<SeenEvent>,
    /// When the last operational (auth failure) notice was sent, to rate-limit them.
    #[serde(default)]
    pub last_ops_notice: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version; every save increments it.
    #[serde(default)]
    pub version: u64,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer saved first (conditional write failed).
    #[error(
        "cursor for organisation {org_id:?} was changed by another poll (expected version {expected:?})"
    )]
    Conflict {
        org_id: String,
        expected: Option<u64>,
    },
    #[error("store {store} failed: {detail}")]
    Backend { store: String, detail: String },
}

/// Keeps one cursor per organisation.
#[async_trait]
pub trait CursorStore: Send + Sync {
    async fn load(&self, org_id: &str) -> Result<Option<Cursor>, StoreError>;

    /// Saves `cursor` (whose `version` is already the new one) only if the stored version is
    /// still `expected` (`None`: no cursor stored yet). Otherwise [`StoreError::Conflict`].
    async fn save(&self, cursor: &Cursor, expected: Option<u64>) -> Result<(), StoreError>;
}

/// Why a batch could not be handed to the detect function.
#[derive(Debug, thiserror::Error)]
#[error("hand-off of batch {batch_id} failed: {detail}")]
pub struct HandOffError {
    pub batch_id: String,
    pub detail: String,
}

/// An event the poll could not hand over: malformed (no id or readable timestamp), or a single
/// event too large for any batch. The poll has already logged and counted it; a sink that can
/// keep it (the CLI's rejects file) does, so bad input loses nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// `None` for the key's own organisation.
    pub org_id: Option<String>,
    /// The event's id when it has one.
    pub event_id: Option<String>,
    /// 1-based page number within this poll, and 0-based position on that page.
    pub page: u64,
    pub position: usize,
    /// Why it was not handed over, readable by an operator.
    pub reason: String,
    /// The event exactly as it arrived.
    pub raw: Value,
}

/// Hands a batch of events to detection (an asynchronous Lambda invoke in AWS, an in-process
/// call in the CLI).
#[async_trait]
pub trait BatchSink: Send + Sync {
    async fn hand_off(&self, batch: &Batch) -> Result<(), HandOffError>;

    /// Keeps an event that cannot be handed over. The default keeps nothing beyond the poll's
    /// own log line, which is all a Lambda can do; the CLI writes it to a rejects file. An
    /// error here fails the page like a failed hand-off, so the cursor does not move past it.
    async fn reject(&self, rejected: &Rejected) -> Result<(), HandOffError> {
        let _ = rejected;
        Ok(())
    }
}

/// A message ready to publish: already rendered, escaped and bounded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub route: Route,
    pub severity: Severity,
    pub rule_id: String,
    /// Mail subject: ASCII, under 100 characters, no line breaks.
    pub subject: String,
    /// Plain text for email (and the SNS `default`).
    pub text: String,
    /// The AWS Chatbot custom-notification document for Slack.
    pub chat: Value,
}

/// Why a notification could not be published.
#[derive(Debug, thiserror::Error)]
#[error("publishing notification for rule {rule_id} failed: {detail}")]
pub struct NotifyError {
    pub rule_id: String,
    pub detail: String,
}

/// Publishes notifications (SNS in AWS, standard output in the CLI).
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError>;
}

/// The time, behind a port so tests can set it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
