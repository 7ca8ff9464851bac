//! The poll use case with the SQLite cursor store and the events file: the invariants that
//! depend on the store hold with the embedded one too.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use jcwatch_core::memory::{ManualClock, RecordingNotifier, ScriptedEventSource};
use jcwatch_core::poll::{OrgOutcome, PollPorts, PollSettings, Poller};
use jcwatch_core::ports::Cursor;
use jcwatch_core::ports::CursorStore;
use jcwatch_local::{Db, EventsFileSink, SqliteCursorStore};
use jcwatch_model::time::{format_timestamp, parse_timestamp};
use serde_json::json;

const MIN: Duration = Duration::from_secs(60);

struct World {
    clock: Arc<ManualClock>,
    source: Arc<ScriptedEventSource>,
    dir: tempfile::TempDir,
}

impl World {
    fn new(events: usize) -> Self {
        let clock = Arc::new(ManualClock::new(
            parse_timestamp("2024-05-01T12:00:00Z").unwrap(),
        ));
        let source = Arc::new(ScriptedEventSource::new(clock.clone(), 4));
        let base = parse_timestamp("2024-05-01T11:30:00Z").unwrap();
        for i in 0..events {
            source.push(json!({
                "id": format!("e{i:03}"),
                "timestamp": format_timestamp(base + TimeDelta::seconds(i as i64 * 10)),
                "initiated_by": {"email": format!("u{}@x.io", i % 3)},
            }));
        }
        World {
            clock,
            source,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A poller with its own connection to the shared state database, as a second process
    /// would have.
    fn poller(&self) -> (Poller, SqliteCursorStore) {
        let db = Db::open_in(&self.dir.path().join("state")).unwrap();
        let cursors = SqliteCursorStore::new(db.clone()).unwrap();
        let sink = EventsFileSink::open(db, &self.dir.path().join("events.jsonl"), None).unwrap();
        let poller = Poller::new(
            PollPorts {
                source: self.source.clone(),
                cursors: Arc::new(cursors.clone()),
                sink: Arc::new(sink),
                notifier: Arc::new(RecordingNotifier::default()),
                clock: self.clock.clone(),
            },
            PollSettings {
                lag: MIN,
                overlap: 5 * MIN,
                backfill: 60 * MIN,
                ..PollSettings::default()
            },
        );
        (poller, cursors)
    }

    fn written_ids(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("events.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_polls_racing_on_one_sqlite_cursor_leave_it_right_and_write_each_event_once() {
    let world = World::new(20);
    let (first, cursors) = world.poller();
    let (second, _) = world.poller();

    let (a, b) = tokio::join!(first.poll_org(None, None), second.poll_org(None, None));

    let outcomes = [a.outcome, b.outcome];
    assert!(outcomes.contains(&OrgOutcome::Completed), "{outcomes:?}");
    assert!(
        outcomes.contains(&OrgOutcome::Conflict)
            || outcomes.iter().all(|o| *o == OrgOutcome::Completed),
        "{outcomes:?}"
    );
    let cursor: Cursor = cursors.load("").await.unwrap().unwrap();
    assert_eq!(
        cursor.polled_until,
        Some(parse_timestamp("2024-05-01T11:59:00Z").unwrap())
    );
    let mut ids = world.written_ids();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    assert_eq!(total, 20, "no event written twice");
}

#[tokio::test]
async fn a_poll_resumes_from_the_sqlite_cursor_of_an_earlier_run() {
    let world = World::new(12);
    let (first, _) = world.poller();
    first.poll_org(None, None).await;
    world.clock.advance(2 * MIN);
    world.source.push(json!({
        "id": "late",
        "timestamp": "2024-05-01T11:58:30Z",
    }));

    let (again, _) = world.poller();
    let report = again.poll_org(None, None).await;

    assert_eq!(report.outcome, OrgOutcome::Completed);
    assert_eq!(report.handed_over, 1);
    assert_eq!(world.written_ids().len(), 13);
}
