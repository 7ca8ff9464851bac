//! In-memory adapters of the ports, for unit tests and local runs: a cursor store with the
//! same version check as the real ones, a sink and a notifier that record what they get, a
//! clock that tests set, and an event source that behaves like Directory Insights over a
//! scripted set of events (windows, ascending order, `search_after` paging, late arrivals,
//! faults).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jcwatch_model::time::{format_timestamp, parse_timestamp};
use jcwatch_model::{Batch, Event};
use serde_json::{Value, json};

use crate::poll::window::delta;
use crate::ports::{
    BatchSink, Clock, Cursor, CursorStore, EventSource, HandOffError, Notification, Notifier,
    NotifyError, Page, PageRequest, Rejected, SourceError, StoreError,
};

/// Locks a mutex, carrying on with the data if another thread panicked while holding it
/// (a test that failed already says so).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A clock that stands still until told to move.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(now: DateTime<Utc>) -> Self {
        ManualClock {
            now: Mutex::new(now),
        }
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *lock(&self.now) = now;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = lock(&self.now);
        *now += delta(by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.now)
    }
}

/// Cursors in a map, saved only when the stored version is the expected one.
#[derive(Debug, Default)]
pub struct MemoryCursorStore {
    cursors: Mutex<HashMap<String, Cursor>>,
    saves: Mutex<u64>,
    conflicts: Mutex<u64>,
}

impl MemoryCursorStore {
    /// The stored cursor, for assertions.
    pub fn get(&self, org_id: &str) -> Option<Cursor> {
        lock(&self.cursors).get(org_id).cloned()
    }

    /// Stores a cursor as is, bypassing the version check (test set-up).
    pub fn put(&self, cursor: Cursor) {
        lock(&self.cursors).insert(cursor.org_id.clone(), cursor);
    }

    /// Successful saves so far.
    pub fn saves(&self) -> u64 {
        *lock(&self.saves)
    }

    /// Saves refused because of a version conflict.
    pub fn conflicts(&self) -> u64 {
        *lock(&self.conflicts)
    }
}

#[async_trait]
impl CursorStore for MemoryCursorStore {
    async fn load(&self, org_id: &str) -> Result<Option<Cursor>, StoreError> {
        Ok(self.get(org_id))
    }

    async fn save(&self, cursor: &Cursor, expected: Option<u64>) -> Result<(), StoreError> {
        let mut cursors = lock(&self.cursors);
        let stored = cursors.get(&cursor.org_id).map(|c| c.version);
        if stored != expected {
            *lock(&self.conflicts) += 1;
            return Err(StoreError::Conflict {
                org_id: cursor.org_id.clone(),
                expected,
            });
        }
        cursors.insert(cursor.org_id.clone(), cursor.clone());
        *lock(&self.saves) += 1;
        Ok(())
    }
}

/// Records every batch and rejected event; can be told to fail the next hand-offs.
#[derive(Debug, Default)]
pub struct RecordingSink {
    batches: Mutex<Vec<Batch>>,
    rejects: Mutex<Vec<Rejected>>,
    failures_left: Mutex<u32>,
}

impl RecordingSink {
    /// Fails the next `n` hand-offs (nothing is recorded for them).
    pub fn fail_next(&self, n: u32) {
        *lock(&self.failures_left) = n;
    }

    pub fn batches(&self) -> Vec<Batch> {
        lock(&self.batches).clone()
    }

    pub fn events(&self) -> Vec<Event> {
        lock(&self.batches)
            .iter()
            .flat_map(|b| b.events.iter().cloned())
            .collect()
    }

    /// The ids handed over, in hand-off order, repeats included.
    pub fn event_ids(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.id).collect()
    }

    pub fn rejects(&self) -> Vec<Rejected> {
        lock(&self.rejects).clone()
    }
}

#[async_trait]
impl BatchSink for RecordingSink {
    async fn hand_off(&self, batch: &Batch) -> Result<(), HandOffError> {
        {
            let mut left = lock(&self.failures_left);
            if *left > 0 {
                *left -= 1;
                return Err(HandOffError {
                    batch_id: batch.batch_id.clone(),
                    detail: "the recording sink was told to fail".to_owned(),
                });
            }
        }
        lock(&self.batches).push(batch.clone());
        Ok(())
    }

    async fn reject(&self, rejected: &Rejected) -> Result<(), HandOffError> {
        lock(&self.rejects).push(rejected.clone());
        Ok(())
    }
}

/// Records every notification; can be told to fail the next publishes.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    sent: Mutex<Vec<Notification>>,
    failures_left: Mutex<u32>,
}

impl RecordingNotifier {
    pub fn fail_next(&self, n: u32) {
        *lock(&self.failures_left) = n;
    }

    pub fn sent(&self) -> Vec<Notification> {
        lock(&self.sent).clone()
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        {
            let mut left = lock(&self.failures_left);
            if *left > 0 {
                *left -= 1;
                return Err(NotifyError {
                    rule_id: notification.rule_id.clone(),
                    detail: "the recording notifier was told to fail".to_owned(),
                });
            }
        }
        lock(&self.sent).push(notification.clone());
        Ok(())
    }
}

/// One stored event of the scripted source.
#[derive(Debug, Clone)]
struct Stored {
    /// The time the index sorts and filters by (the event's timestamp, or a chosen time for a
    /// malformed event).
    at: DateTime<Utc>,
    /// Tie-breaker, like the index's internal document id.
    key: String,
    /// When the event becomes visible (late arrivals).
    visible_from: DateTime<Utc>,
    value: Value,
}

/// Behaves like Directory Insights over events it is given: filters `[start, end)` (start
/// inclusive), sorts ascending by time then a tie-breaker, pages with `search_after`
/// (`[time, key]`), marks the last page when it holds fewer than `limit` events, hides events
/// until their arrival time, and answers scripted faults. Every fetch yields to the scheduler
/// once, so concurrent polls interleave as they would over a network.
#[derive(Debug)]
pub struct ScriptedEventSource {
    clock: Arc<ManualClock>,
    limit: usize,
    events: Mutex<Vec<Stored>>,
    /// Errors keyed by the 1-based number of the request that should get them.
    faults: Mutex<BTreeMap<u64, SourceError>>,
    /// When set, every request gets this auth error.
    auth_failure: Mutex<Option<(u16, String)>>,
    /// How much the clock moves during each fetch.
    fetch_cost: Mutex<Duration>,
    requests: Mutex<Vec<PageRequest>>,
}

impl ScriptedEventSource {
    pub fn new(clock: Arc<ManualClock>, limit: usize) -> Self {
        ScriptedEventSource {
            clock,
            limit: limit.max(1),
            events: Mutex::new(Vec::new()),
            faults: Mutex::new(BTreeMap::new()),
            auth_failure: Mutex::new(None),
            fetch_cost: Mutex::new(Duration::ZERO),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Adds a valid event, visible at once.
    pub fn push(&self, event: Value) {
        self.push_arriving(event, DateTime::<Utc>::MIN_UTC);
    }

    /// Adds a valid event that becomes visible at `arrival` (a late arrival when that is
    /// after its timestamp).
    pub fn push_arriving(&self, event: Value, arrival: DateTime<Utc>) {
        let at = event
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(|t| parse_timestamp(t).ok())
            .expect("a scripted event needs a readable timestamp; use push_raw otherwise");
        self.push_raw(event, at, arrival);
    }

    /// Adds any JSON value, indexed at `at`, visible from `arrival`.
    pub fn push_raw(&self, value: Value, at: DateTime<Utc>, arrival: DateTime<Utc>) {
        let mut events = lock(&self.events);
        let key = match value.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => format!("~{:06}", events.len()),
        };
        events.push(Stored {
            at,
            key,
            visible_from: arrival,
            value,
        });
    }

    /// The `n`th request (1-based) answers `error` instead.
    pub fn fail_request(&self, n: u64, error: SourceError) {
        lock(&self.faults).insert(n, error);
    }

    /// Every request answers an auth error with `status` (or, with `None`, stops doing so).
    pub fn refuse_auth(&self, refusal: Option<(u16, &str)>) {
        *lock(&self.auth_failure) = refusal.map(|(s, h)| (s, h.to_owned()));
    }

    /// Moves the clock by `cost` during every fetch.
    pub fn set_fetch_cost(&self, cost: Duration) {
        *lock(&self.fetch_cost) = cost;
    }

    pub fn requests(&self) -> Vec<PageRequest> {
        lock(&self.requests).clone()
    }

    fn answer(&self, request: &PageRequest) -> Page {
        let now = self.clock.now();
        let after = request.search_after.as_ref().and_then(|v| {
            let time = parse_timestamp(v.get(0)?.as_str()?).ok()?;
            Some((time, v.get(1)?.as_str()?.to_owned()))
        });
        let mut matching: Vec<Stored> = lock(&self.events)
            .iter()
            .filter(|s| s.visible_from <= now)
            .filter(|s| request.start <= s.at && s.at < request.end)
            .filter(|s| match &after {
                Some((time, key)) => (s.at, &s.key) > (*time, key),
                None => true,
            })
            .cloned()
            .collect();
        matching.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
        matching.truncate(self.limit);

        let search_after = matching
            .last()
            .map(|s| json!([format_timestamp(s.at), s.key]));
        Page {
            last: matching.len() < self.limit,
            events: matching.into_iter().map(|s| s.value).collect(),
            search_after,
        }
    }
}

#[async_trait]
impl EventSource for ScriptedEventSource {
    async fn fetch_page(&self, request: &PageRequest) -> Result<Page, SourceError> {
        tokio::task::yield_now().await;
        let number = {
            let mut requests = lock(&self.requests);
            requests.push(request.clone());
            requests.len() as u64
        };
        self.clock.advance(*lock(&self.fetch_cost));

        if let Some((status, hint)) = lock(&self.auth_failure).clone() {
            return Err(SourceError::Auth { status, hint });
        }
        if let Some(error) = lock(&self.faults).remove(&number) {
            return Err(error);
        }
        Ok(self.answer(request))
    }
}
