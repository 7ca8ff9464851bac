//! The poll use case against the in-memory ports: the invariants of the module docs, one
//! behaviour per test.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use jcwatch_model::time::{format_timestamp, parse_timestamp};
use jcwatch_model::{Route, Severity};
use serde_json::{Value, json};

use super::*;
use crate::memory::{
    ManualClock, MemoryCursorStore, RecordingNotifier, RecordingSink, ScriptedEventSource,
};
use crate::ports::SourceError;

const MIN: Duration = Duration::from_secs(60);

fn t(text: &str) -> DateTime<Utc> {
    parse_timestamp(text).unwrap()
}

fn ev(id: &str, timestamp: DateTime<Utc>, actor: &str) -> Value {
    json!({
        "id": id,
        "event_type": "user_login_attempt",
        "service": "sso",
        "timestamp": format_timestamp(timestamp),
        "initiated_by": {"type": "user", "email": actor},
        "success": true,
    })
}

/// The in-memory world one test polls.
struct World {
    clock: Arc<ManualClock>,
    source: Arc<ScriptedEventSource>,
    store: Arc<MemoryCursorStore>,
    sink: Arc<RecordingSink>,
    notifier: Arc<RecordingNotifier>,
}

impl World {
    fn new(now: &str, page_limit: usize) -> Self {
        let clock = Arc::new(ManualClock::new(t(now)));
        World {
            source: Arc::new(ScriptedEventSource::new(clock.clone(), page_limit)),
            clock,
            store: Arc::new(MemoryCursorStore::default()),
            sink: Arc::new(RecordingSink::default()),
            notifier: Arc::new(RecordingNotifier::default()),
        }
    }

    fn poller(&self, settings: PollSettings) -> Poller {
        Poller::new(
            PollPorts {
                source: self.source.clone(),
                cursors: self.store.clone(),
                sink: self.sink.clone(),
                notifier: self.notifier.clone(),
                clock: self.clock.clone(),
            },
            settings,
        )
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Ids handed over, sorted, repeats kept (so a repeat shows).
    fn handed_sorted(&self) -> Vec<String> {
        let mut ids = self.sink.event_ids();
        ids.sort();
        ids
    }
}

fn settings(lag: Duration, overlap: Duration, backfill: Duration) -> PollSettings {
    PollSettings {
        lag,
        overlap,
        backfill,
        ..PollSettings::default()
    }
}

fn sorted(ids: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().map(Into::into).collect();
    ids.sort();
    ids
}

async fn poll_own(world: &World, settings: PollSettings) -> OrgReport {
    world.poller(settings).poll_org(None, None).await
}

#[tokio::test]
async fn a_first_run_backfills_and_hands_every_event_over_once_across_pages() {
    let world = World::new("2024-05-01T12:00:00Z", 3);
    let base = t("2024-05-01T11:10:00Z");
    let tie = t("2024-05-01T11:30:00.123Z");
    for i in 0..5 {
        world.source.push(ev(
            &format!("a{i}"),
            base + TimeDelta::minutes(i),
            "alice@example.com",
        ));
    }
    for i in 0..5 {
        world
            .source
            .push(ev(&format!("tie{i}"), tie, "bob@example.com"));
    }
    world.source.push(ev(
        "too-old",
        t("2024-05-01T10:59:59Z"),
        "carol@example.com",
    ));
    world.source.push(ev(
        "too-new",
        t("2024-05-01T11:59:30Z"),
        "carol@example.com",
    ));

    let report = poll_own(&world, settings(MIN, 5 * MIN, 60 * MIN)).await;

    assert_eq!(report.outcome, OrgOutcome::Completed);
    let expected = sorted(
        (0..5)
            .map(|i| format!("a{i}"))
            .chain((0..5).map(|i| format!("tie{i}"))),
    );
    assert_eq!(world.handed_sorted(), expected);
    assert_eq!(
        report.pages, 4,
        "10 events at 3 a page: 3 full pages and a short one"
    );
    assert_eq!(report.handed_over, 10);
    let requests = world.source.requests();
    assert_eq!(requests[0].start, t("2024-05-01T11:00:00Z"));
    assert_eq!(requests[0].end, t("2024-05-01T11:59:00Z"));
    assert_eq!(requests[0].search_after, None);
    assert!(requests[1].search_after.is_some());
    let cursor = world.store.get("").unwrap();
    assert_eq!(cursor.polled_until, Some(t("2024-05-01T11:59:00Z")));
    assert_eq!(cursor.high_water, Some(tie));
    assert_eq!(cursor.version, 4, "saved once per page");
}

#[tokio::test]
async fn a_window_with_start_at_or_after_end_sends_no_request_and_keeps_the_cursor() {
    let world = World::new("2024-05-01T12:00:00Z", 10);
    world.store.put(Cursor {
        polled_until: Some(t("2024-05-01T11:58:00Z")),
        version: 7,
        ..Cursor::default()
    });

    // Lag 10m with overlap 0: end 11:50 is before the resume point 11:58.
    let report = poll_own(&world, settings(10 * MIN, Duration::ZERO, 60 * MIN)).await;

    assert_eq!(report.outcome, OrgOutcome::Skipped);
    assert!(world.source.requests().is_empty());
    assert_eq!(world.store.get("").unwrap().version, 7);
    assert_eq!(world.store.saves(), 0);
}

#[tokio::test]
async fn an_empty_window_moves_polled_until_to_its_end_but_not_the_high_water_mark() {
    let world = World::new("2024-05-01T12:00:00Z", 10);
    world.store.put(Cursor {
        high_water: Some(t("2024-05-01T11:40:00Z")),
        polled_until: Some(t("2024-05-01T11:55:00Z")),
        version: 1,
        ..Cursor::default()
    });

    let report = poll_own(&world, settings(MIN, 5 * MIN, 60 * MIN)).await;

    assert_eq!(report.outcome, OrgOutcome::Completed);
    let cursor = world.store.get("").unwrap();
    assert_eq!(cursor.polled_until, Some(t("2024-05-01T11:59:00Z")));
    assert_eq!(cursor.high_water, Some(t("2024-05-01T11:40:00Z")));
}

#[tokio::test]
async fn events_arriving_late_within_lag_plus_overlap_are_handed_over_exactly_once() {
    let world = World::new("2024-05-01T12:00:00Z", 4);
    let settings = settings(2 * MIN, 5 * MIN, 30 * MIN);
    let start = world.now();
    // On time, and late by up to 6m59s (inside lag + overlap = 7m), spread over the ticks.
    let mut expected = Vec::new();
    for i in 0..40i64 {
        let time = start - TimeDelta::minutes(10) + TimeDelta::seconds(i * 37);
        let delay = TimeDelta::seconds((i * 53) % 419);
        let id = format!("e{i:02}");
        world
            .source
            .push_arriving(ev(&id, time, &format!("u{}@x.io", i % 3)), time + delay);
        expected.push(id);
    }

    // The last event (+14m03s) arrives by +21m02s; run past that.
    for _ in 0..30 {
        let report = poll_own(&world, settings.clone()).await;
        assert!(
            matches!(report.outcome, OrgOutcome::Completed | OrgOutcome::Skipped),
            "{report:?}"
        );
        world.clock.advance(MIN);
    }

    assert_eq!(world.handed_sorted(), sorted(expected));
}

#[tokio::test]
async fn without_overlap_an_event_later_than_the_lag_is_missed_which_is_what_overlap_prevents() {
    let world = World::new("2024-05-01T12:00:00Z", 4);
    let time = world.now() - TimeDelta::minutes(1);
    world
        .source
        .push_arriving(ev("late", time, "pat@x.io"), time + TimeDelta::minutes(4));

    for _ in 0..10 {
        poll_own(&world, settings(2 * MIN, Duration::ZERO, 30 * MIN)).await;
        world.clock.advance(MIN);
    }

    assert!(world.sink.event_ids().is_empty());
}

#[tokio::test]
async fn repeated_runs_over_overlapping_windows_repeat_nothing() {
    let world = World::new("2024-05-01T12:00:00Z", 5);
    let settings = settings(MIN, 10 * MIN, 60 * MIN);
    let mut expected = Vec::new();
    for i in 0..30i64 {
        let id = format!("r{i:02}");
        world.source.push(ev(
            &id,
            t("2024-05-01T11:30:00Z") + TimeDelta::minutes(i),
            "dave@x.io",
        ));
        expected.push(id);
    }

    let mut duplicates = 0;
    for _ in 0..5 {
        let report = poll_own(&world, settings.clone()).await;
        duplicates += report.duplicates;
        world.clock.advance(4 * MIN);
    }

    assert_eq!(world.handed_sorted(), sorted(expected));
    assert!(duplicates > 0, "the overlap must actually re-fetch events");
}

#[tokio::test]
async fn a_deadline_cut_off_between_pages_of_tied_events_resumes_without_loss_or_repeat() {
    let world = World::new("2024-05-01T12:00:00Z", 3);
    let tie = t("2024-05-01T11:45:00.500Z");
    let mut expected = Vec::new();
    for i in 0..8 {
        let id = format!("t{i}");
        world.source.push(ev(&id, tie, "erin@x.io"));
        expected.push(id);
    }
    for i in 0..4i64 {
        let id = format!("l{i}");
        world
            .source
            .push(ev(&id, tie + TimeDelta::seconds(i + 1), "frank@x.io"));
        expected.push(id);
    }
    world.source.set_fetch_cost(Duration::from_secs(10));
    let settings = settings(MIN, Duration::ZERO, 60 * MIN);
    // Room for two fetches before the deadline.
    let deadline = world.now() + TimeDelta::seconds(15);

    let cut = world
        .poller(settings.clone())
        .poll_org(None, Some(deadline))
        .await;
    let handed_before_restart = world.sink.event_ids().len();
    let resumed = world.poller(settings).poll_org(None, None).await;

    assert_eq!(cut.outcome, OrgOutcome::DeadlineReached);
    assert_eq!(cut.pages, 2);
    assert_eq!(handed_before_restart, 6);
    assert_eq!(
        cut.cursor_after,
        Some(tie),
        "the cursor stands at the last page handed over"
    );
    assert_eq!(resumed.outcome, OrgOutcome::Completed);
    assert_eq!(
        resumed.duplicates, 6,
        "the tied events of the first pages come back once"
    );
    assert_eq!(world.handed_sorted(), sorted(expected));
}

#[tokio::test]
async fn a_failed_hand_off_leaves_the_cursor_and_the_next_run_delivers() {
    let world = World::new("2024-05-01T12:00:00Z", 2);
    for i in 0..5i64 {
        world.source.push(ev(
            &format!("h{i}"),
            t("2024-05-01T11:40:00Z") + TimeDelta::minutes(i),
            &format!("user{i}@x.io"),
        ));
    }
    let settings = settings(MIN, 5 * MIN, 60 * MIN);
    world.sink.fail_next(1);

    let failed = poll_own(&world, settings.clone()).await;
    let saves_after_failure = world.store.saves();
    let retried = poll_own(&world, settings).await;

    assert!(
        matches!(&failed.outcome, OrgOutcome::Failed { category: ErrorCategory::Retryable, error } if error.contains("not moved")),
        "{:?}",
        failed.outcome
    );
    assert_eq!(
        saves_after_failure, 0,
        "nothing was handed over, so nothing was saved"
    );
    assert_eq!(retried.outcome, OrgOutcome::Completed);
    assert_eq!(
        world.handed_sorted(),
        sorted((0..5).map(|i| format!("h{i}")))
    );
}

#[tokio::test]
async fn a_server_error_in_the_middle_of_paging_keeps_the_handed_pages_and_resumes() {
    let world = World::new("2024-05-01T12:00:00Z", 2);
    for i in 0..7i64 {
        world.source.push(ev(
            &format!("m{i}"),
            t("2024-05-01T11:30:00Z") + TimeDelta::minutes(i),
            "gina@x.io",
        ));
    }
    world.source.fail_request(
        3,
        SourceError::Unavailable {
            attempts: 5,
            detail: "HTTP 503".into(),
        },
    );
    let settings = settings(MIN, 2 * MIN, 60 * MIN);

    let failed = poll_own(&world, settings.clone()).await;
    let resumed = poll_own(&world, settings).await;

    assert!(matches!(
        failed.outcome,
        OrgOutcome::Failed {
            category: ErrorCategory::Retryable,
            ..
        }
    ));
    assert_eq!(failed.handed_over, 4);
    assert_eq!(failed.cursor_after, Some(t("2024-05-01T11:33:00Z")));
    assert_eq!(resumed.outcome, OrgOutcome::Completed);
    assert_eq!(
        world.handed_sorted(),
        sorted((0..7).map(|i| format!("m{i}")))
    );
}

#[tokio::test]
async fn the_cursor_never_moves_backwards() {
    let world = World::new("2024-05-01T12:00:00Z", 10);
    let ahead = t("2024-05-01T11:59:30Z");
    world.store.put(Cursor {
        high_water: Some(ahead),
        polled_until: Some(ahead),
        version: 3,
        ..Cursor::default()
    });
    world
        .source
        .push(ev("old", t("2024-05-01T11:57:00Z"), "hal@x.io"));

    // The clock went back: the window [11:55:30, 11:58) ends before the stored positions.
    world.clock.set(t("2024-05-01T11:59:00Z"));
    let report = poll_own(&world, settings(MIN, 4 * MIN, 60 * MIN)).await;

    assert_eq!(report.outcome, OrgOutcome::Completed);
    let cursor = world.store.get("").unwrap();
    assert_eq!(cursor.polled_until, Some(ahead));
    assert_eq!(cursor.high_water, Some(ahead));
}

#[tokio::test]
async fn two_concurrent_polls_on_one_cursor_advance_it_once() {
    let world = World::new("2024-05-01T12:00:00Z", 3);
    for i in 0..9i64 {
        world.source.push(ev(
            &format!("c{i}"),
            t("2024-05-01T11:20:00Z") + TimeDelta::minutes(i),
            "ivy@x.io",
        ));
    }
    let settings = settings(MIN, 5 * MIN, 60 * MIN);
    let first = world.poller(settings.clone());
    let second = world.poller(settings.clone());

    let (a, b) = tokio::join!(first.poll_org(None, None), second.poll_org(None, None));

    let outcomes = [a.outcome.clone(), b.outcome.clone()];
    assert!(outcomes.contains(&OrgOutcome::Completed), "{outcomes:?}");
    assert!(outcomes.contains(&OrgOutcome::Conflict), "{outcomes:?}");
    assert_eq!(world.store.conflicts(), 1);
    let cursor = world.store.get("").unwrap();
    assert_eq!(
        cursor.version, 4,
        "3 full pages and an empty last one, saved by one poll"
    );
    assert_eq!(cursor.polled_until, Some(t("2024-05-01T11:59:00Z")));
    let mut unique = world.sink.event_ids();
    unique.sort();
    unique.dedup();
    assert_eq!(unique, sorted((0..9).map(|i| format!("c{i}"))));
    // The loser handed its first page over before its save was refused: at most that repeats.
    assert!(world.sink.event_ids().len() <= 9 + 3);
}

#[tokio::test]
async fn an_auth_failure_sends_one_ops_notice_then_waits_for_the_interval() {
    let world = World::new("2024-05-01T12:00:00Z", 10);
    world.source.refuse_auth(Some((
        401,
        "the API key was refused: it expired or was revoked",
    )));
    let settings = PollSettings {
        ops_notice_interval: 6 * 60 * MIN,
        ..settings(MIN, 5 * MIN, 60 * MIN)
    };
    let org = Some("5f1b2c3d4e5f60718293a4b5".to_owned());

    let first = world
        .poller(settings.clone())
        .poll_org(org.clone(), None)
        .await;
    world.clock.advance(5 * MIN);
    let second = world
        .poller(settings.clone())
        .poll_org(org.clone(), None)
        .await;
    world.clock.advance(6 * 60 * MIN);
    let third = world.poller(settings).poll_org(org.clone(), None).await;

    for report in [&first, &second, &third] {
        assert!(
            matches!(&report.outcome, OrgOutcome::Failed { category: ErrorCategory::Fatal, error } if error.contains("401") && error.contains("expired")),
            "{:?}",
            report.outcome
        );
    }
    assert!(first.ops_notified && !second.ops_notified && third.ops_notified);
    let sent = world.notifier.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].route, Route::Ops);
    assert_eq!(sent[0].severity, Severity::High);
    assert_eq!(sent[0].rule_id, "jcwatch.poll_auth_failure");
    assert!(sent[0].text.contains("5f1b2c3d4e5f60718293a4b5"));
    let cursor = world.store.get("5f1b2c3d4e5f60718293a4b5").unwrap();
    assert_eq!(cursor.last_ops_notice, Some(world.now()));
    assert_eq!(
        cursor.polled_until, None,
        "an auth failure moves no position"
    );
}

#[tokio::test]
async fn a_notice_that_fails_to_publish_is_tried_again_next_run() {
    let world = World::new("2024-05-01T12:00:00Z", 10);
    world.source.refuse_auth(Some((403, "forbidden")));
    world.notifier.fail_next(1);
    let settings = settings(MIN, 5 * MIN, 60 * MIN);

    let first = poll_own(&world, settings.clone()).await;
    world.clock.advance(5 * MIN);
    let second = poll_own(&world, settings).await;

    assert!(!first.ops_notified);
    assert!(second.ops_notified);
    assert_eq!(world.notifier.sent().len(), 1);
}

#[tokio::test]
async fn malformed_events_are_counted_and_rejected_without_stopping_the_poll() {
    let world = World::new("2024-05-01T12:00:00Z", 10);
    let at = t("2024-05-01T11:30:00Z");
    world.source.push(ev("good1", at, "jo@x.io"));
    world.source.push_raw(
        json!({"event_type": "user_login_attempt", "timestamp": format_timestamp(at)}),
        at,
        DateTime::<Utc>::MIN_UTC,
    );
    world
        .source
        .push_raw(json!({"id": "no-time"}), at, DateTime::<Utc>::MIN_UTC);
    world
        .source
        .push(ev("good2", at + TimeDelta::seconds(1), "jo@x.io"));

    let report = poll_own(&world, settings(MIN, 5 * MIN, 60 * MIN)).await;

    assert_eq!(report.outcome, OrgOutcome::Completed);
    assert_eq!(report.malformed, 2);
    assert_eq!(report.fetched, 4);
    assert_eq!(world.handed_sorted(), ["good1", "good2"]);
    let rejects = world.sink.rejects();
    assert_eq!(rejects.len(), 2);
    assert!(rejects.iter().any(|r| r.reason.contains("no `id`")));
    assert!(rejects.iter().any(|r| r.reason.contains("no-time")));
    assert!(rejects.iter().all(|r| r.page == 1 && r.raw.is_object()));
}

#[tokio::test]
async fn an_event_too_large_to_hand_over_is_rejected_by_id_and_counted() {
    let world = World::new("2024-05-01T12:00:00Z", 10);
    let at = t("2024-05-01T11:30:00Z");
    let mut huge = ev("huge", at, "kim@x.io");
    huge["padding"] = json!("x".repeat(5_000));
    world.source.push(huge);
    world
        .source
        .push(ev("normal", at + TimeDelta::seconds(1), "kim@x.io"));
    let settings = PollSettings {
        limits: batching::Limits {
            max_batch_bytes: 1_000,
            max_single_event_batch_bytes: 2_000,
        },
        ..settings(MIN, 5 * MIN, 60 * MIN)
    };

    let report = poll_own(&world, settings).await;

    assert_eq!(report.outcome, OrgOutcome::Completed);
    assert_eq!(report.oversize, 1);
    assert_eq!(world.handed_sorted(), ["normal"]);
    let rejects = world.sink.rejects();
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].event_id.as_deref(), Some("huge"));
    assert!(rejects[0].reason.contains("huge"));
}

#[tokio::test]
async fn batches_handed_over_respect_the_size_limit_and_keep_principals_together() {
    let world = World::new("2024-05-01T12:00:00Z", 100);
    for i in 0..60i64 {
        let mut event = ev(
            &format!("b{i:02}"),
            t("2024-05-01T11:30:00Z") + TimeDelta::seconds(i),
            &format!("p{}@x.io", i % 4),
        );
        event["padding"] = json!("y".repeat(150));
        world.source.push(event);
    }
    let settings = PollSettings {
        limits: batching::Limits {
            max_batch_bytes: 2_500,
            max_single_event_batch_bytes: 5_000,
        },
        ..settings(MIN, 5 * MIN, 60 * MIN)
    };

    let report = poll_own(&world, settings).await;

    let batches = world.sink.batches();
    assert_eq!(report.batches as usize, batches.len());
    assert!(batches.len() > 4);
    for batch in &batches {
        assert!(serde_json::to_vec(batch).unwrap().len() <= 2_500);
        let mut last: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
        for event in &batch.events {
            let actor = event.actor().unwrap();
            if let Some(previous) = last.get(&actor) {
                assert!(
                    *previous <= event.timestamp,
                    "time order within a principal"
                );
            }
            last.insert(actor, event.timestamp);
        }
    }
}

#[tokio::test]
async fn several_organisations_are_polled_with_their_own_cursors_and_one_failure_spares_the_rest() {
    let world = World::new("2024-05-01T12:00:00Z", 10);
    world
        .source
        .push(ev("shared-view", t("2024-05-01T11:30:00Z"), "lee@x.io"));
    let failing = Arc::new(ScriptedEventSource::new(world.clock.clone(), 10));
    failing.refuse_auth(Some((401, "refused")));
    let settings = settings(MIN, 5 * MIN, 60 * MIN);
    let poller = world.poller(settings.clone());
    let broken = Poller::new(
        PollPorts {
            source: failing,
            cursors: world.store.clone(),
            sink: world.sink.clone(),
            notifier: world.notifier.clone(),
            clock: world.clock.clone(),
        },
        settings,
    );

    let run = poller
        .run(
            &[
                Some("org-a".into()),
                Some("org-b".into()),
                Some("org-a".into()),
            ],
            None,
        )
        .await;
    let failed = broken.run(&[Some("org-c".into())], None).await;

    assert_eq!(run.orgs.len(), 2, "a repeated organisation is polled once");
    assert_eq!(run.orgs[0].org_id.as_deref(), Some("org-a"));
    assert_eq!(run.orgs[1].org_id.as_deref(), Some("org-b"));
    assert!(run.orgs.iter().all(|r| r.outcome == OrgOutcome::Completed));
    assert!(world.store.get("org-a").is_some() && world.store.get("org-b").is_some());
    assert_eq!(
        failed.worst_failure().map(|(c, _)| c),
        Some(ErrorCategory::Fatal)
    );
    assert!(world.store.get("org-a").unwrap().last_ops_notice.is_none());
}

#[tokio::test]
async fn organisations_are_polled_concurrently_and_a_failing_one_does_not_stop_the_others() {
    let world = World::new("2024-05-01T12:00:00Z", 2);
    for i in 0..5i64 {
        world.source.push(ev(
            &format!("k{i}"),
            t("2024-05-01T11:30:00Z") + TimeDelta::minutes(i),
            "max@x.io",
        ));
    }
    // The second request of the run fails, whichever organisation sends it.
    world.source.fail_request(
        2,
        SourceError::Rejected {
            status: 400,
            detail: "bad organisation id".into(),
        },
    );
    let settings = PollSettings {
        concurrency: 3,
        ..settings(MIN, 5 * MIN, 60 * MIN)
    };
    let orgs: Vec<Option<String>> = ["o1", "o2", "o3"]
        .iter()
        .map(|o| Some(o.to_string()))
        .collect();

    let run = world.poller(settings).run(&orgs, None).await;

    let failed: Vec<&OrgReport> = run
        .orgs
        .iter()
        .filter(|r| matches!(r.outcome, OrgOutcome::Failed { .. }))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        run.orgs
            .iter()
            .filter(|r| r.outcome == OrgOutcome::Completed)
            .count(),
        2
    );
    assert_eq!(
        run.worst_failure().map(|(c, _)| c),
        Some(ErrorCategory::BadInput)
    );
    let first_requests: Vec<Option<String>> = world
        .source
        .requests()
        .iter()
        .take(3)
        .map(|r| r.org_id.clone())
        .collect();
    assert_eq!(first_requests.len(), 3);
    assert!(
        first_requests
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
            == 3,
        "all three organisations started before any finished: {first_requests:?}"
    );
}

#[tokio::test]
async fn a_full_page_without_a_paging_cursor_fails_instead_of_looping() {
    struct NoCursor;
    #[async_trait::async_trait]
    impl crate::ports::EventSource for NoCursor {
        async fn fetch_page(
            &self,
            _request: &crate::ports::PageRequest,
        ) -> Result<crate::ports::Page, SourceError> {
            Ok(crate::ports::Page {
                events: vec![ev("p1", t("2024-05-01T11:30:00Z"), "ned@x.io")],
                search_after: None,
                last: false,
            })
        }
    }
    let world = World::new("2024-05-01T12:00:00Z", 10);
    let poller = Poller::new(
        PollPorts {
            source: Arc::new(NoCursor),
            cursors: world.store.clone(),
            sink: world.sink.clone(),
            notifier: world.notifier.clone(),
            clock: world.clock.clone(),
        },
        settings(MIN, 5 * MIN, 60 * MIN),
    );

    let report = poller.poll_org(None, None).await;

    assert!(
        matches!(&report.outcome, OrgOutcome::Failed { error, .. } if error.contains("X-Search_after")),
        "{:?}",
        report.outcome
    );
    assert_eq!(report.pages, 1);
}

#[tokio::test]
async fn the_remembered_events_stay_bounded_even_when_the_overlap_holds_more() {
    let world = World::new("2024-05-01T12:00:00Z", 50);
    for i in 0..30i64 {
        world.source.push(ev(
            &format!("s{i:02}"),
            t("2024-05-01T11:58:00Z") + TimeDelta::milliseconds(i),
            "olga@x.io",
        ));
    }
    let settings = PollSettings {
        max_seen: 10,
        ..settings(MIN, 5 * MIN, 60 * MIN)
    };

    poll_own(&world, settings.clone()).await;
    world.clock.advance(MIN);
    let again = poll_own(&world, settings).await;

    let cursor = world.store.get("").unwrap();
    assert_eq!(cursor.seen.len(), 10);
    assert_eq!(cursor.seen.last().unwrap().id, "s29", "the newest are kept");
    assert_eq!(again.duplicates, 10);
    assert_eq!(
        again.handed_over, 20,
        "the forgotten older events come back once: a documented, harmless repeat"
    );
}

#[tokio::test]
async fn a_stop_request_ends_the_poll_before_the_next_page_with_the_cursor_saved() {
    let world = World::new("2024-05-01T12:00:00Z", 2);
    for i in 0..6i64 {
        world.source.push(ev(
            &format!("q{i}"),
            t("2024-05-01T11:30:00Z") + TimeDelta::minutes(i),
            "quinn@x.io",
        ));
    }
    let stop = StopSignal::new();
    let stopped_before = world.poller(settings(MIN, 5 * MIN, 60 * MIN));
    stop.stop();

    let report = stopped_before.poll_org_until(None, None, &stop).await;

    assert_eq!(report.outcome, OrgOutcome::Interrupted);
    assert!(world.source.requests().is_empty());
    assert_eq!(world.store.get(""), None);
}
