//! The detect function with enrichment, end to end against the local AWS emulator and the
//! Directory Insights simulator: the JumpCloud credential from Secrets Manager, the cache in
//! DynamoDB, address lists from the configuration, and the notification read back from SNS
//! naming the person's job title, department and groups and the nature of the address.

mod detect_support;

use std::collections::HashMap;
use std::time::Duration;

use detect::config::{
    ALERTS_TABLE_ENV, CACHE_TABLE_ENV, DetectEnv, JC_BASE_URL_ENV, JC_SECRET_ARN_ENV,
    STATE_TABLE_ENV, TOPIC_ARN_ENV,
};
use detect::handler::App;
use detect_support::{Moto, unique};
use jcwatch_aws::alerts::{DynamoAlertStore, create_alerts_table};
use jcwatch_aws::state::{DynamoStateStore, create_state_table};
use jcwatch_aws::{SnsNotifier, create_cache_table};
use jcwatch_core::ports::Clock;
use jcwatch_detection::config::Config;
use jcwatch_detection::engine;
use jcwatch_detection::store::AlertQuery;
use jcwatch_model::enrichment::{LookupOutcome, Role};
use jcwatch_simulator::{Directory, Simulator};
use serde_json::{Value, json};

const KEY: &str = "jca_detect_enrichment_key_42";

struct TestClock;

impl Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        "2024-05-06T12:00:00Z".parse().unwrap()
    }
}

const CONFIG: &str = r#"
[addresses.suspicious]
nature = "anonymising"
label = "Tor exit"
cidrs = ["198.18.0.0/24"]
raise_severity = true
"#;

struct World {
    moto: Moto,
    sim: Simulator,
    topic: String,
    queue: String,
    vars: HashMap<String, String>,
}

async fn world(with_secret: bool) -> World {
    let moto = Moto::connect().await;
    let sim = Simulator::builder()
        .api_key(KEY, "5f3c0ffee0c0ffee0c0ffee0")
        .directory(
            "5f3c0ffee0c0ffee0c0ffee0",
            Directory::sample_company("example.com"),
        )
        .start()
        .await
        .unwrap();
    let (alerts, state, cache) = (unique("alerts"), unique("state"), unique("cache"));
    create_alerts_table(&moto.dynamodb(), &alerts)
        .await
        .unwrap();
    create_state_table(&moto.dynamodb(), &state).await.unwrap();
    create_cache_table(&moto.dynamodb(), &cache).await.unwrap();
    let topic = moto.create_topic("alerts").await;
    let queue = moto.subscribe_queue(&topic).await;
    let mut vars = HashMap::from([
        (ALERTS_TABLE_ENV.to_string(), alerts),
        (STATE_TABLE_ENV.to_string(), state),
        (TOPIC_ARN_ENV.to_string(), topic.clone()),
        (CACHE_TABLE_ENV.to_string(), cache),
        (JC_BASE_URL_ENV.to_string(), sim.base_url().to_string()),
    ]);
    if with_secret {
        let secret = moto
            .create_secret("jc", &format!("{{\"api_key\": \"{KEY}\"}}"))
            .await;
        vars.insert(JC_SECRET_ARN_ENV.to_string(), secret);
    }
    World {
        moto,
        sim,
        topic,
        queue,
        vars,
    }
}

/// The function's cold start, as `main` does it, with the emulator's SDK configuration.
async fn cold_start(world: &World) -> App {
    let env = DetectEnv::from_lookup(|name| world.vars.get(name).cloned()).unwrap();
    let mut config = Config::from_toml(CONFIG).unwrap();
    let lists = detect::enrichment::load_lists(&mut config, &world.moto.sdk)
        .await
        .unwrap();
    let enricher = detect::enrichment::build(&env, &config, &lists, &world.moto.sdk).await;
    App {
        engine: Box::new(engine::build(&config).unwrap()),
        alerts: Box::new(DynamoAlertStore::new(
            world.moto.dynamodb(),
            &env.alerts_table,
        )),
        state: Box::new(DynamoStateStore::new(
            world.moto.dynamodb(),
            &env.state_table,
        )),
        notifier: Box::new(SnsNotifier::new(world.moto.sns(), &world.topic)),
        clock: Box::new(TestClock),
        config,
        enricher: Some(enricher),
    }
}

/// Twelve failed logins for jane.doe from one address: the brute-force rule's alert.
fn brute_force() -> Value {
    let events: Vec<Value> = (0..12)
        .map(|i| {
            json!({
                "id": format!("5e1d{i:020}"),
                "event_type": "user_login_attempt",
                "service": "directory",
                "timestamp": format!("2024-05-06T10:00:{:02}.250Z", i * 4),
                "client_ip": "198.18.0.9",
                "geoip": {"country_code": "RU"},
                "initiated_by": {"type": "user", "username": "jane.doe"},
                "success": false,
                "mfa": false,
            })
        })
        .collect();
    json!({"batch_id": "b-enrich", "org_id": null, "events": events})
}

#[tokio::test]
async fn the_notification_names_jobs_groups_and_the_address_and_the_store_keeps_them() {
    let world = world(true).await;
    let app = cold_start(&world).await;

    let summary = app.handle(brute_force()).await.unwrap();
    let messages = world
        .moto
        .receive(&world.queue, 1, Duration::from_secs(3))
        .await;

    assert_eq!(summary["notified"], 1);
    let text = &messages[0].body;
    for expected in [
        "Jane Doe <jane.doe@example.com>",
        "Senior Accountant, Finance",
        "All staff, Finance, VPN users",
        "Manager:  John Smith",
        "Tor exit",
        "severity raised",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    let stored = app
        .alerts
        .list(&AlertQuery {
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    let enrichment = stored[0].enrichment.clone().unwrap();
    let person = enrichment.person(Role::Actor).unwrap();
    assert_eq!(person.lookup, LookupOutcome::Found);
    assert_eq!(
        person.profile.as_ref().unwrap().department.as_deref(),
        Some("Finance")
    );
    let cached = world
        .moto
        .dynamodb()
        .scan()
        .table_name(&world.vars[CACHE_TABLE_ENV])
        .send()
        .await
        .unwrap();
    assert!(
        cached.items().iter().any(|i| i["pk"]
            .as_s()
            .unwrap()
            .starts_with("person#-#user:username:jane.doe")),
        "{:?}",
        cached.items()
    );
    assert!(!world.sim.requests().is_empty());
}

#[tokio::test]
async fn without_a_secret_alerts_still_carry_the_address_and_nobody_is_looked_up() {
    let world = world(false).await;
    let app = cold_start(&world).await;

    app.handle(brute_force()).await.unwrap();
    let messages = world
        .moto
        .receive(&world.queue, 1, Duration::from_secs(3))
        .await;

    let text = &messages[0].body;
    assert!(text.contains("Tor exit"), "{text}");
    assert!(text.contains("Acting: jane.doe"), "{text}");
    assert!(!text.contains("Senior Accountant"), "{text}");
    assert!(world.sim.requests().is_empty());
}

#[tokio::test]
async fn an_unreadable_secret_leaves_enrichment_without_look_ups_and_detection_running() {
    let mut world = world(true).await;
    world.vars.insert(
        JC_SECRET_ARN_ENV.to_string(),
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf".to_string(),
    );
    let app = cold_start(&world).await;

    let summary = app.handle(brute_force()).await.unwrap();

    assert_eq!(summary["notified"], 1);
    assert!(world.sim.requests().is_empty());
}
