//! The detect function's handler end to end against the local AWS emulator: real DynamoDB
//! alert and state tables, a real SNS topic with an SQS queue subscribed, the real rule
//! catalogue, and the published messages read back.

mod detect_support;

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use detect::handler::App;
use detect_support::{Moto, unique};
use jcwatch_aws::SnsNotifier;
use jcwatch_aws::alerts::{DynamoAlertStore, create_alerts_table};
use jcwatch_aws::state::{DynamoStateStore, create_state_table};
use jcwatch_core::ports::{Clock, Notification, Notifier, NotifyError};
use jcwatch_detection::config::Config;
use jcwatch_detection::engine;
use jcwatch_detection::store::AlertQuery;
use jcwatch_model::Alert;
use proptest::prelude::*;
use serde_json::{Value, json};

/// The time the tests run at: a little after the fixture events.
struct TestClock;

impl Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        "2024-05-06T12:00:00Z".parse().unwrap()
    }
}

struct Tables {
    moto: Moto,
    alerts: String,
    state: String,
}

async fn tables() -> Tables {
    let moto = Moto::connect().await;
    let alerts = unique("alerts");
    let state = unique("state");
    create_alerts_table(&moto.dynamodb(), &alerts)
        .await
        .unwrap();
    create_state_table(&moto.dynamodb(), &state).await.unwrap();
    Tables {
        moto,
        alerts,
        state,
    }
}

fn app(tables: &Tables, notifier: Box<dyn Notifier>) -> App {
    let config = Config::default();
    App {
        engine: Box::new(engine::build(&config).unwrap()),
        alerts: Box::new(DynamoAlertStore::new(
            tables.moto.dynamodb(),
            &tables.alerts,
        )),
        state: Box::new(DynamoStateStore::new(tables.moto.dynamodb(), &tables.state)),
        notifier,
        clock: Box::new(TestClock),
        config,
        enricher: None,
    }
}

fn sns(tables: &Tables, topic_arn: &str) -> Box<dyn Notifier> {
    Box::new(SnsNotifier::new(tables.moto.sns(), topic_arn))
}

fn failed_login(n: usize, user: &str, ip: &str, second: usize) -> Value {
    json!({
        "id": format!("5e1d{n:020}"),
        "event_type": "user_login_attempt",
        "service": "directory",
        "organization": "5f3c0ffee0c0ffee0c0ffee0",
        "timestamp": format!("2024-05-06T10:{:02}:{:02}.250Z", second / 60, second % 60),
        "client_ip": ip,
        "geoip": {"country_code": "RU", "city": "Moscow", "latitude": 55.75, "longitude": 37.62},
        "initiated_by": {"type": "user", "username": user},
        "useragent": {"name": "curl", "version": "8.4", "os": "Other", "device": "Other"},
        "success": false,
        "mfa": false,
        "error_message": "invalid credentials"
    })
}

/// Twelve failed logins for one user: the brute-force rule's alert.
fn brute_force(user: &str) -> Vec<Value> {
    (0..12)
        .map(|i| failed_login(i, user, "198.18.0.9", i * 15))
        .collect()
}

fn payload(batch_id: &str, events: Vec<Value>) -> Value {
    json!({"batch_id": batch_id, "org_id": null, "events": events})
}

async fn stored(app: &App) -> Vec<Alert> {
    app.alerts
        .list(&AlertQuery {
            limit: 100,
            ..AlertQuery::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_batch_delivered_twice_creates_no_second_alert_and_no_second_notification() {
    let tables = tables().await;
    let topic = tables.moto.create_topic("alerts").await;
    let queue = tables.moto.subscribe_queue(&topic).await;
    let app = app(&tables, sns(&tables, &topic));
    let batch = payload("b-twice", brute_force("jane.doe"));

    let first = app.handle(batch.clone()).await.unwrap();
    let second = app.handle(batch).await.unwrap();
    let messages = tables.moto.receive(&queue, 2, Duration::from_secs(3)).await;

    assert_eq!(
        (first["alerts_new"].as_u64(), first["notified"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(second["alerts_new"], 0);
    assert_eq!(second["alerts_repeat"], 1);
    assert_eq!(messages.len(), 1, "exactly one notification");
    assert!(
        messages[0].body.contains("jc.auth.brute_force"),
        "{}",
        messages[0].body
    );
    assert!(messages[0].body.contains("jane.doe"));
    assert_eq!(
        messages[0].attributes.get("rule_id").map(String::as_str),
        Some("jc.auth.brute_force")
    );
    let alerts = stored(&app).await;
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].notified);
    assert_eq!(alerts[0].event_ids.len(), 12);
}

#[tokio::test]
async fn a_publish_that_fails_once_is_notified_on_the_next_run() {
    let tables = tables().await;
    let topic_name = unique("late-topic");
    let topic_arn = format!("arn:aws:sns:us-east-1:123456789012:{topic_name}");
    let app = app(&tables, sns(&tables, &topic_arn));

    let failed = app
        .handle(payload("b-1", brute_force("john.doe")))
        .await
        .unwrap_err();
    let pending = stored(&app).await;
    tables
        .moto
        .sns()
        .create_topic()
        .name(&topic_name)
        .send()
        .await
        .unwrap();
    let queue = tables.moto.subscribe_queue(&topic_arn).await;
    let retry = app.handle(payload("b-2", vec![])).await.unwrap();
    let messages = tables.moto.receive(&queue, 2, Duration::from_secs(3)).await;

    assert_eq!(failed.error_type, "Retryable", "{failed}");
    assert_eq!(pending.len(), 1, "the alert was stored before publishing");
    assert!(!pending[0].notified);
    assert_eq!(retry["republished"], 1);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].body.contains("john.doe"));
    assert!(stored(&app).await[0].notified);
}

/// The raw messages moto recorded for a topic: every protocol variant, as published.
async fn published(moto: &Moto, topic_arn: &str) -> Vec<Value> {
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", moto.endpoint))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let topics = data["sns"]["Topic"].as_array().cloned().unwrap_or_default();
    topics
        .iter()
        .filter(|t| t["arn"] == topic_arn || t["topic_arn"] == topic_arn)
        .flat_map(|t| {
            t["sent_notifications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|n| serde_json::from_str(n[1].as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn hostile_strings_in_events_arrive_escaped_in_every_channel() {
    let tables = tables().await;
    let topic = tables.moto.create_topic("hostile").await;
    let queue = tables.moto.subscribe_queue(&topic).await;
    let app = app(&tables, sns(&tables, &topic));
    let user = "eve\n<!channel> @here <https://evil.example|reset> *now*\u{202E}";
    let mut events = brute_force(user);
    for event in &mut events {
        event["useragent"]["name"] = json!("A".repeat(100 * 1024));
    }

    app.handle(payload("b-hostile", events)).await.unwrap();
    let messages = tables.moto.receive(&queue, 1, Duration::from_secs(3)).await;
    let raw = published(&tables.moto, &topic).await;

    assert_eq!(messages.len(), 1);
    let email = &messages[0].body;
    assert!(!email.contains('\u{202E}'));
    assert!(!email.contains("https://evil"), "{email}");
    assert!(
        email.lines().all(|l| !l.starts_with("<!channel>")),
        "{email}"
    );
    assert_eq!(raw.len(), 1, "moto recorded the publish");
    let chat: Value = serde_json::from_str(raw[0]["https"].as_str().unwrap()).unwrap();
    let slack = chat.to_string();
    for live in ["<!channel>", "<https://", "@here", "\u{202E}"] {
        assert!(!slack.contains(live), "{live} survived in {slack}");
    }
    assert_eq!(chat["source"], "custom");
    assert!(raw[0].to_string().len() < 256 * 1024);
}

/// Fails every publish: shows alerts stay pending for a later run.
struct DownNotifier;

#[async_trait]
impl Notifier for DownNotifier {
    async fn publish(&self, n: &Notification) -> Result<(), NotifyError> {
        Err(NotifyError {
            rule_id: n.rule_id.clone(),
            detail: "down".into(),
        })
    }
}

/// A stream with a spray and two brute forces, and ordinary noise.
fn stream() -> Vec<Value> {
    let mut events = Vec::new();
    let mut n = 0;
    let mut next = |user: &str, ip: &str, second: usize| {
        n += 1;
        failed_login(1_000 + n, user, ip, second)
    };
    for i in 0..12 {
        events.push(next(&format!("staff{i:02}"), "203.0.113.50", 60 + i * 20));
    }
    for i in 0..11 {
        events.push(next("jane.doe", "198.18.0.9", 900 + i * 10));
        events.push(next("john.doe", "198.18.0.10", 1_500 + i * 12));
    }
    events.push(next("bob.smith", "198.51.100.20", 30));
    events
}

async fn alert_ids_after(batches: Vec<Vec<Value>>) -> BTreeSet<String> {
    let tables = tables().await;
    let app = app(&tables, Box::new(DownNotifier));
    for (i, batch) in batches.into_iter().enumerate() {
        let _ = app.handle(payload(&format!("b{i}"), batch)).await;
    }
    stored(&app).await.into_iter().map(|a| a.alert_id).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn splitting_redelivering_and_reordering_batches_keeps_the_stored_alert_ids(
        cuts in proptest::collection::btree_set(1usize..45, 0..8),
        repeats in proptest::collection::vec(0usize..9, 0..3),
        seed in any::<u64>(),
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let events = stream();
        let mut batches: Vec<Vec<Value>> = Vec::new();
        let mut start = 0;
        for cut in cuts.iter().copied().filter(|c| *c < events.len()).chain([events.len()]) {
            batches.push(events[start..cut].to_vec());
            start = cut;
        }
        for r in &repeats {
            let again = batches[r % batches.len()].clone();
            batches.push(again);
        }
        // Reorder deterministically from the seed.
        let mut order: Vec<usize> = (0..batches.len()).collect();
        let mut state = seed;
        for i in (1..order.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (state >> 33) as usize % (i + 1));
        }
        let shuffled: Vec<Vec<Value>> = order.into_iter().map(|i| batches[i].clone()).collect();

        let whole = runtime.block_on(alert_ids_after(vec![events.clone()]));
        let split = runtime.block_on(alert_ids_after(shuffled));

        prop_assert_eq!(whole.len(), 3, "spray and two brute forces: {:?}", whole);
        prop_assert_eq!(split, whole);
    }
}
