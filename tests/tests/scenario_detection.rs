//! Detection quality on the scenario corpus: a week at a forty-person company with the
//! intrusion on its sixth day, handed in poll-sized batches to the real detect use case
//! (the catalogue with its default configuration, the detection batch sink, in-memory
//! stores), scored against the ground truth. The figures are printed on every run
//! (`cargo test -p jcwatch-tests --test scenario_detection -- --nocapture`).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use jcwatch_core::ports::{BatchSink, Clock};
use jcwatch_detection::config::Config;
use jcwatch_detection::memory::{MemoryAlertStore, MemoryStateStore, RecordingNotifier};
use jcwatch_detection::present;
use jcwatch_detection::sink::DetectSink;
use jcwatch_model::{Area, Batch, Event};
use jcwatch_simulator::scenario::{Corpus, Scenario, Score, ScoredAlert};

/// Events per batch: about what one poll page of a busy minute hands over.
const BATCH_EVENTS: usize = 300;

/// Most alerts on ordinary activity tolerated in one corpus (five to seven days, about
/// 2,800 events, 45 people): fewer than one a day. N.B. this guards against regressions; the
/// aim is none, and the figures printed name every rule that still fires on ordinary work.
const MAX_FALSE_POSITIVES: usize = 5;

/// The clock follows the events, as a poller running every minute would see it.
#[derive(Debug)]
struct ReplayClock(Mutex<DateTime<Utc>>);

impl Clock for ReplayClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Hands the corpus to the detect path in time-ordered batches and returns the stored
/// alerts, scored as `jcwatch scan --format jsonl` would print them.
async fn detect(corpus: &Corpus) -> Vec<ScoredAlert> {
    let config = Config::default();
    let engine = jcwatch_detection::engine::build(&config).expect("the catalogue loads");
    let alerts = Arc::new(MemoryAlertStore::new());
    let clock = Arc::new(ReplayClock(Mutex::new(corpus.events()[0].at)));
    let sink = DetectSink::new(
        Arc::new(engine),
        alerts.clone(),
        Arc::new(MemoryStateStore::new()),
        Arc::new(RecordingNotifier::new()),
        clock.clone(),
        config.notify.clone(),
    );

    for chunk in corpus.events().chunks(BATCH_EVENTS) {
        let events: Vec<Event> = chunk
            .iter()
            .map(|e| Event::from_value(e.event.clone()).expect("scenario events parse"))
            .collect();
        *clock.0.lock().unwrap() = chunk.last().map(|e| e.at).unwrap() + Duration::minutes(3);
        sink.hand_off(&Batch::new(None, events))
            .await
            .expect("detection accepts the batch");
    }

    alerts
        .all()
        .iter()
        .map(|a| serde_json::from_str(&present::json_line(a)).expect("json line scores"))
        .collect()
}

fn week() -> Corpus {
    // Wednesday to Tuesday, weekend included; the intrusion on Monday afternoon.
    let scenario = Scenario::new(7, NaiveDate::from_ymd_opt(2025, 6, 4).unwrap());
    scenario.days_with_intrusion(7, 5)
}

fn assert_every_area_caught(score: &Score) {
    for area in Area::ALL {
        let (caught, total) = score.recall_by_area()[area];
        assert!(
            caught > 0,
            "no attack step of {area} caught (0/{total})\n{}",
            score.report()
        );
    }
}

#[tokio::test]
async fn a_week_with_the_intrusion_catches_every_area_with_few_false_positives() {
    let corpus = week();

    let alerts = detect(&corpus).await;

    let score = corpus.score(&alerts);
    println!(
        "{} events, {} from the intrusion",
        corpus.len(),
        corpus.attack_steps().values().map(Vec::len).sum::<usize>()
    );
    println!("{}", score.report());
    assert!(score.unknown_event_ids.is_empty());
    assert_every_area_caught(&score);
    assert!(
        score.false_positives.len() <= MAX_FALSE_POSITIVES,
        "{} alerts on ordinary activity\n{}",
        score.false_positives.len(),
        score.report()
    );
}

#[tokio::test]
async fn another_seed_still_catches_every_area() {
    let scenario = Scenario::new(2024, NaiveDate::from_ymd_opt(2025, 3, 3).unwrap());
    let corpus = scenario.days_with_intrusion(5, 3);

    let alerts = detect(&corpus).await;

    let score = corpus.score(&alerts);
    println!("{}", score.report());
    assert_every_area_caught(&score);
    assert!(
        score.false_positives.len() <= MAX_FALSE_POSITIVES,
        "{}",
        score.report()
    );
}
