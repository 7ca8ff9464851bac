//! The detect use case's flow over the in-memory stores, with a small rule engine made for
//! the test (the real catalogue is exercised through the stores in the workspace tests).

use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use jcwatch_core::ports::{Clock, Notification, Notifier, NotifyError};
use jcwatch_detection::config::{NotifyConfig, Threshold};
use jcwatch_detection::memory::{MemoryAlertStore, MemoryStateStore, RecordingNotifier};
use jcwatch_detection::store::{
    AlertStore, LoadedState, StateItem, StateMark, StateStore, StoreError,
};
use jcwatch_detection::{DetectError, Detector, ErrorCategory, Evaluation, RuleEngine};
use jcwatch_model::{Alert, Area, Event, Route, Severity, Source};
use serde_json::{Value, json};

/// Raises one alert per actor once three failed logins are known for them, across batches.
struct ThreeFailures {
    severity: Severity,
}

impl RuleEngine for ThreeFailures {
    fn state_keys(&self, events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| e.actor())
            .map(|a| format!("fails:{a}"))
            .collect()
    }

    fn evaluate(&self, events: &[Event], loaded: LoadedState) -> Evaluation {
        let mut state = loaded.items;
        let mut observations = Vec::new();
        for event in events.iter().filter(|e| e.succeeded() == Some(false)) {
            let Some(actor) = event.actor() else { continue };
            observations.push(StateItem {
                key: format!("fails:{actor}"),
                id: event.id.clone(),
                value: event.timestamp.to_rfc3339(),
                expires_at: event.timestamp + chrono::Duration::days(1),
            });
        }
        state.extend(observations.iter().cloned());
        state.sort();
        state.dedup();

        let mut alerts = Vec::new();
        let mut keys: Vec<&str> = state.iter().map(|e| e.key.as_str()).collect();
        keys.dedup();
        for key in keys {
            let seen: Vec<&StateItem> = state.iter().filter(|e| e.key == key).collect();
            let touched = observations.iter().any(|o| o.key == key);
            if seen.len() < 3 || !touched {
                continue;
            }
            let times: Vec<DateTime<Utc>> = seen.iter().map(|e| e.value.parse().unwrap()).collect();
            let actor = key.trim_start_matches("fails:");
            alerts.push(Alert {
                alert_id: format!("bf-{actor}"),
                rule_id: "test.three_failures".into(),
                title: format!("Three failed logins for {actor}"),
                severity: self.severity,
                area: Area::AuthAndAdmin,
                route: Route::Alert,
                org: None,
                actor: Some(actor.to_string()),
                target: None,
                source: Source::default(),
                changes: Vec::new(),
                event_ids: seen.iter().map(|e| e.id.clone()).collect(),
                first_seen: *times.iter().min().unwrap(),
                last_seen: *times.iter().max().unwrap(),
                count: seen.len() as u64,
                notified: false,
                first_action: "Reset the password.".into(),
                technique: "T1110".into(),
                details: Default::default(),
                enrichment: None,
            });
        }
        Evaluation {
            alerts,
            observations,
            marks: Vec::new(),
        }
    }
}

struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Fails its first `failures` publishes, then records like [`RecordingNotifier`].
struct FlakyNotifier {
    failures: AtomicUsize,
    inner: RecordingNotifier,
}

#[async_trait]
impl Notifier for FlakyNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(NotifyError {
                rule_id: notification.rule_id.clone(),
                detail: "topic unavailable".into(),
            });
        }
        self.inner.publish(notification).await
    }
}

/// A state store that is down.
struct DownStateStore;

#[async_trait]
impl StateStore for DownStateStore {
    async fn load(&self, _: &[String], _: DateTime<Utc>) -> Result<LoadedState, StoreError> {
        Err(StoreError::Unavailable {
            store: "state".into(),
            detail: "connection refused".into(),
        })
    }

    async fn add(&self, _: &[StateItem]) -> Result<(), StoreError> {
        Err(StoreError::Unavailable {
            store: "state".into(),
            detail: "connection refused".into(),
        })
    }

    async fn raise(&self, _: &[StateMark]) -> Result<(), StoreError> {
        Err(StoreError::Unavailable {
            store: "state".into(),
            detail: "connection refused".into(),
        })
    }
}

fn failed_login(id: &str, user: &str, second: u32) -> Value {
    json!({
        "id": id,
        "event_type": "user_login_attempt",
        "service": "user_portal",
        "timestamp": format!("2024-05-06T10:00:{second:02}Z"),
        "initiated_by": {"type": "user", "username": user},
        "success": false,
        "client_ip": "198.51.100.7"
    })
}

fn payload(batch_id: &str, events: Vec<Value>) -> Value {
    json!({"batch_id": batch_id, "org_id": null, "events": events})
}

struct World {
    engine: ThreeFailures,
    alerts: MemoryAlertStore,
    state: MemoryStateStore,
    clock: FixedClock,
    notify: NotifyConfig,
}

impl World {
    fn new() -> Self {
        World {
            engine: ThreeFailures {
                severity: Severity::High,
            },
            alerts: MemoryAlertStore::new(),
            state: MemoryStateStore::new(),
            clock: FixedClock(Utc.with_ymd_and_hms(2024, 5, 6, 10, 5, 0).unwrap()),
            notify: NotifyConfig::default(),
        }
    }

    fn detector<'a>(&'a self, notifier: &'a dyn Notifier) -> Detector<'a> {
        Detector {
            engine: &self.engine,
            alerts: &self.alerts,
            state: &self.state,
            notifier,
            clock: &self.clock,
            notify: &self.notify,
            enricher: None,
        }
    }
}

fn three_failures() -> Vec<Value> {
    vec![
        failed_login("e1", "alice", 1),
        failed_login("e2", "alice", 2),
        failed_login("e3", "alice", 3),
    ]
}

#[tokio::test]
async fn a_batch_delivered_twice_creates_one_alert_and_one_notification() {
    let world = World::new();
    let notifier = RecordingNotifier::new();
    let detector = world.detector(&notifier);

    let first = detector
        .handle(payload("b1", three_failures()))
        .await
        .unwrap();
    let second = detector
        .handle(payload("b1", three_failures()))
        .await
        .unwrap();

    assert_eq!((first.alerts_new, first.notified), (1, 1));
    assert_eq!(
        (second.alerts_new, second.alerts_repeat, second.notified),
        (0, 1, 0)
    );
    assert_eq!(notifier.sent().len(), 1);
    assert_eq!(world.alerts.all().len(), 1);
    assert!(world.alerts.all()[0].notified);
}

#[tokio::test]
async fn state_carries_a_threshold_across_batches() {
    let world = World::new();
    let notifier = RecordingNotifier::new();
    let detector = world.detector(&notifier);
    let events = three_failures();

    detector
        .handle(payload("b1", events[..2].to_vec()))
        .await
        .unwrap();
    let report = detector
        .handle(payload("b2", events[2..].to_vec()))
        .await
        .unwrap();

    assert_eq!(report.alerts_new, 1);
    assert_eq!(world.alerts.all()[0].event_ids, ["e1", "e2", "e3"]);
}

#[tokio::test]
async fn a_malformed_event_is_counted_and_skipped_without_failing_the_batch() {
    let world = World::new();
    let notifier = RecordingNotifier::new();
    let mut events = three_failures();
    events.insert(1, json!({"id": "broken", "timestamp": "yesterday"}));
    events.push(json!("not an object"));
    events.push(json!({"event_type": "no id"}));

    let report = world
        .detector(&notifier)
        .handle(payload("b1", events))
        .await
        .unwrap();

    assert_eq!(report.events, 6);
    assert_eq!(report.malformed, 3);
    assert_eq!(report.alerts_new, 1);
}

#[tokio::test]
async fn a_publish_that_fails_once_is_retried_by_the_next_run() {
    let world = World::new();
    let notifier = FlakyNotifier {
        failures: AtomicUsize::new(1),
        inner: RecordingNotifier::new(),
    };
    let detector = world.detector(&notifier);

    let failed = detector
        .handle(payload("b1", three_failures()))
        .await
        .unwrap_err();
    let stored_before_retry = world.alerts.all();
    let retry = detector.handle(payload("b2", vec![])).await.unwrap();

    assert_eq!(failed.category(), ErrorCategory::Retryable);
    assert!(
        matches!(failed, DetectError::Publish { failed: 1, .. }),
        "{failed}"
    );
    assert_eq!(stored_before_retry.len(), 1, "stored before publishing");
    assert!(!stored_before_retry[0].notified);
    assert_eq!(retry.republished, 1);
    assert_eq!(notifier.inner.sent().len(), 1);
    assert!(world.alerts.all()[0].notified);
}

#[tokio::test]
async fn lambdas_retry_of_a_batch_whose_publish_failed_sends_it_once() {
    let world = World::new();
    let notifier = FlakyNotifier {
        failures: AtomicUsize::new(1),
        inner: RecordingNotifier::new(),
    };
    let detector = world.detector(&notifier);

    detector
        .handle(payload("b1", three_failures()))
        .await
        .unwrap_err();
    let retry = detector
        .handle(payload("b1", three_failures()))
        .await
        .unwrap();
    let later = detector.handle(payload("b2", vec![])).await.unwrap();

    assert_eq!(
        (retry.alerts_new, retry.alerts_repeat, retry.republished),
        (0, 1, 1)
    );
    assert_eq!(later.republished, 0);
    assert_eq!(notifier.inner.sent().len(), 1);
}

#[tokio::test]
async fn an_alert_below_the_notify_threshold_is_stored_but_never_published() {
    let mut world = World::new();
    world.engine.severity = Severity::Low;
    world.notify.alert = Threshold::AtLeast(Severity::Medium);
    let notifier = RecordingNotifier::new();
    let detector = world.detector(&notifier);

    let report = detector
        .handle(payload("b1", three_failures()))
        .await
        .unwrap();
    let next = detector.handle(payload("b2", vec![])).await.unwrap();

    assert_eq!((report.alerts_new, report.notified), (1, 0));
    assert_eq!(next.republished, 0);
    assert!(notifier.sent().is_empty());
    assert_eq!(world.alerts.all().len(), 1);
}

#[tokio::test]
async fn a_store_that_is_down_fails_the_batch_as_retryable() {
    let world = World::new();
    let notifier = RecordingNotifier::new();
    let detector = Detector {
        state: &DownStateStore,
        ..world.detector(&notifier)
    };

    let error = detector
        .handle(payload("b1", three_failures()))
        .await
        .unwrap_err();

    assert_eq!(error.category(), ErrorCategory::Retryable);
    assert!(error.to_string().contains("connection refused"), "{error}");
    assert!(notifier.sent().is_empty());
}

#[tokio::test]
async fn a_payload_that_is_not_a_batch_is_bad_input() {
    let world = World::new();
    let notifier = RecordingNotifier::new();

    let error = world
        .detector(&notifier)
        .handle(json!({"events": "none"}))
        .await
        .unwrap_err();

    assert_eq!(error.category(), ErrorCategory::BadInput);
    assert!(error.to_string().contains("batch_id"), "{error}");
}

#[tokio::test]
async fn a_pending_alert_claimed_by_another_run_is_not_sent_twice() {
    let world = World::new();
    let notifier = FlakyNotifier {
        failures: AtomicUsize::new(1),
        inner: RecordingNotifier::new(),
    };
    world
        .detector(&notifier)
        .handle(payload("b1", three_failures()))
        .await
        .unwrap_err();
    let now = world.clock.now();
    let taken = world
        .alerts
        .claim("bf-alice", now, now + chrono::Duration::minutes(5))
        .await
        .unwrap();

    let report = world
        .detector(&notifier)
        .handle(payload("b2", vec![]))
        .await
        .unwrap();

    assert!(taken);
    assert_eq!(report.republished, 0);
    assert!(notifier.inner.sent().is_empty());
}
