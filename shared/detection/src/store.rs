//! The ports of the detect path: where alerts and rule state are kept. Shaped by what the
//! detect use case needs, returning the project's own types. Adapters: [`crate::memory`]
//! (tests), `jcwatch-aws` (DynamoDB), `jcwatch-local` (SQLite for the CLI).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jcwatch_model::Alert;

/// Most event ids one stored alert keeps. The count goes on past it; the ids kept are the
/// smallest in sort order, so the stored set does not depend on the order events arrived in.
pub const MAX_EVENT_IDS: usize = 100;

/// Why a store could not do what was asked. Every variant is worth a retry of the batch:
/// the stores are written idempotently, so running the batch again is safe.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{store} is unavailable: {detail}")]
    Unavailable { store: String, detail: String },
    /// An item could not be read back into an alert or an observation.
    #[error("{store} holds an unreadable item {key}: {detail}")]
    Corrupt {
        store: String,
        key: String,
        detail: String,
    },
    /// Optimistic concurrency lost too many times in a row (many writers on one alert).
    #[error("{store}: alert {alert_id} kept changing under {attempts} merge attempts")]
    Contended {
        store: String,
        alert_id: String,
        attempts: u32,
    },
}

/// What recording an alert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The id was new: the alert is stored, and if it is to be notified, the caller holds the
    /// publishing claim on it.
    Created,
    /// The id was known (a repeat inside the suppression window, or a redelivered batch): the
    /// stored alert took in the new events, times and count. `changed` is false when there
    /// was nothing new in it (a pure redelivery).
    Merged { changed: bool },
}

/// How a new alert enters the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The configuration notifies this alert: it is stored as pending, claimed by the caller
    /// until `claim_until`, and stays pending until [`AlertStore::mark_notified`].
    Notify { claim_until: DateTime<Utc> },
    /// The configuration does not notify this alert (route or severity): stored only.
    StoreOnly,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertQuery {
    /// Only this organisation's alerts (`None`: alerts without an organisation and all others).
    pub org: Option<String>,
    /// First seen at or after.
    pub since: Option<DateTime<Utc>>,
    /// First seen before.
    pub until: Option<DateTime<Utc>>,
    pub limit: usize,
}

/// Keeps alerts.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Creates the alert if its id is new (a conditional write); otherwise folds it into the
    /// stored alert with [`Alert::merge`], bounding `event_ids` to [`MAX_EVENT_IDS`]. The
    /// stored `notified` flag is never changed here.
    async fn record(&self, alert: &Alert, delivery: Delivery) -> Result<Recorded, StoreError>;

    /// The alert was published: it is no longer pending.
    async fn mark_notified(&self, alert_id: &str) -> Result<(), StoreError>;

    /// Gives a claim back after a failed publish, so the next run retries at once.
    async fn release(&self, alert_id: &str) -> Result<(), StoreError>;

    /// Pending alerts (to be notified, not yet notified) whose claim has lapsed, oldest
    /// first, at most `limit`.
    async fn list_pending(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Alert>, StoreError>;

    /// Takes the publishing claim on a pending alert until `until`. False when another run
    /// holds it or the alert was notified meanwhile; only the holder publishes, so two
    /// concurrent runs do not both re-send one alert.
    async fn claim(
        &self,
        alert_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Alerts by first-seen time, newest first.
    async fn list(&self, query: &AlertQuery) -> Result<Vec<Alert>, StoreError>;

    /// One alert by id.
    async fn get(&self, alert_id: &str) -> Result<Option<Alert>, StoreError>;
}

/// One observation of rule state: an idempotent fact about one entity in one window (an
/// event that counts towards a threshold, a value seen, a login's place and time). Writing
/// the same observation twice changes nothing, and observations written by concurrent
/// invocations simply add up, so no writer ever needs a lock.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StateItem {
    /// The state key the rule engine chose: rule, entity and window.
    pub key: String,
    /// Unique within the key, usually the event id behind the observation.
    pub id: String,
    /// The engine's encoding of the observation; opaque to stores.
    pub value: String,
    /// When the observation stops mattering; stores drop it after this.
    pub expires_at: DateTime<Utc>,
}

/// A per-key watermark that only rises: "every decision about this key's observations
/// before `at` has been taken" (first-seen values, "A and not B" windows). Two writers
/// raising one mark leave the later of the two; none ever lowers it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StateMark {
    pub key: String,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What a load found under the keys asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadedState {
    pub items: Vec<StateItem>,
    pub marks: Vec<StateMark>,
}

/// Keeps rule state as sets of observations per key, plus a rising mark per key.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Every unexpired observation and mark under the given keys.
    async fn load(&self, keys: &[String], now: DateTime<Utc>) -> Result<LoadedState, StoreError>;

    /// Adds observations (a set union: an existing `(key, id)` is simply written again).
    async fn add(&self, items: &[StateItem]) -> Result<(), StoreError>;

    /// Raises marks: each key's stored mark becomes the later of the stored and the given.
    async fn raise(&self, marks: &[StateMark]) -> Result<(), StoreError>;
}

/// Folds `incoming` into `stored` the way every store does: [`Alert::merge`], then the
/// event ids bounded. Returns whether anything changed.
pub fn merge_alert(stored: &mut Alert, incoming: &Alert) -> bool {
    let before = stored.clone();
    stored.merge(incoming);
    bound_event_ids(stored);
    *stored != before
}

/// Keeps at most [`MAX_EVENT_IDS`] event ids, the smallest in sort order, so that the ids
/// kept do not depend on the order the events arrived in. The count keeps the true total.
pub fn bound_event_ids(alert: &mut Alert) {
    alert.event_ids.sort();
    alert.event_ids.dedup();
    alert.count = alert.count.max(alert.event_ids.len() as u64);
    alert.event_ids.truncate(MAX_EVENT_IDS);
}

/// How long an alert record is kept, from its last sighting.
pub const ALERT_RETENTION: Duration = Duration::from_secs(400 * 86_400);
