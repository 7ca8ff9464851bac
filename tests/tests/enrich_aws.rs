//! Enrichment's AWS adapters against the local AWS emulator: the DynamoDB cache (batched
//! reads and writes, expiry, one read call per batch of people) and address lists read from
//! S3, and the enricher running on them against the Directory Insights simulator.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jcwatch_aws::{DynamoEnrichmentCache, S3ConfigLoader, S3ListSource, create_cache_table};
use jcwatch_detection::enrich::cache::{CacheItem, CacheKey, EnrichmentCache};
use jcwatch_detection::enrich::settings::{AddressListConfig, EnrichmentConfig};
use jcwatch_detection::enrich::{Enricher, load_address_lists};
use jcwatch_dirinsights::{Client, ClientConfig, Credential, RetryPolicy, Secret};
use jcwatch_model::enrichment::{LookupOutcome, Role};
use jcwatch_model::time::parse_timestamp;
use jcwatch_model::{Alert, Area, Event, Route, Severity, Source};
use jcwatch_simulator::generate::{EventFactory, Person, Place};
use jcwatch_simulator::{Directory, Simulator, Target};
use jcwatch_tests::moto::Moto;

const KEY: &str = "jca_enrich_aws_test_key";
const ORG: &str = "5bf6defbdcd8233029e0c598";

fn t(text: &str) -> DateTime<Utc> {
    parse_timestamp(text).unwrap()
}

async fn cache() -> (DynamoEnrichmentCache, aws_sdk_dynamodb::Client, String) {
    let moto = Moto::connect().await;
    let client = moto.dynamodb();
    let table = jcwatch_tests::moto::unique_name("cache");
    create_cache_table(&client, &table)
        .await
        .expect("cache table");
    (
        DynamoEnrichmentCache::new(client.clone(), &table),
        client,
        table,
    )
}

fn item(pk: &str, sk: &str, value: &str, expires_at: DateTime<Utc>) -> CacheItem {
    CacheItem {
        key: CacheKey::new(pk, sk),
        value: value.into(),
        expires_at,
    }
}

#[tokio::test]
async fn values_are_read_back_until_they_expire_and_carry_a_ttl() {
    let (cache, client, table) = cache().await;
    cache
        .put_many(&[
            item(
                "person#o#user:id:1",
                "profile",
                "{\"found\":{}}",
                t("2026-01-26T12:00:00Z"),
            ),
            item(
                "seen#o#jane",
                "203.0.113.45",
                "2026-01-26T09:00:00Z",
                t("2026-01-26T11:00:00Z"),
            ),
        ])
        .await
        .unwrap();
    let keys = [
        CacheKey::new("person#o#user:id:1", "profile"),
        CacheKey::new("seen#o#jane", "203.0.113.45"),
        CacheKey::new("seen#o#jane", "192.0.2.1"),
    ];

    let early = cache
        .get_many(&keys, t("2026-01-26T10:00:00Z"))
        .await
        .unwrap();
    let later = cache
        .get_many(&keys, t("2026-01-26T11:30:00Z"))
        .await
        .unwrap();

    assert_eq!(early.len(), 2);
    assert_eq!(later.len(), 1);
    assert!(later.contains_key(&keys[0]));
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description().unwrap().attribute_name(),
        Some("expires_at")
    );
}

#[tokio::test]
async fn many_keys_take_one_read_call_per_hundred_and_repeats_are_asked_once() {
    let (cache, _, _) = cache().await;
    let later = t("2030-01-01T00:00:00Z");
    let items: Vec<CacheItem> = (0..130)
        .map(|i| item(&format!("person#o#user:id:{i}"), "profile", "v", later))
        .collect();
    cache.put_many(&items).await.unwrap();
    let mut keys: Vec<CacheKey> = items.iter().map(|i| i.key.clone()).collect();
    keys.push(keys[0].clone());
    let (reads_before, _, writes, written) = cache.stats().snapshot();

    let found = cache
        .get_many(&keys, t("2026-01-26T10:00:00Z"))
        .await
        .unwrap();

    let (reads_after, items_read, _, _) = cache.stats().snapshot();
    assert_eq!(found.len(), 130);
    assert_eq!(reads_after - reads_before, 2);
    assert_eq!(items_read, 130);
    assert_eq!((writes, written), (6, 130));
}

#[tokio::test]
async fn a_missing_table_is_a_cache_error_naming_it() {
    let moto = Moto::connect().await;
    let cache = DynamoEnrichmentCache::new(moto.dynamodb(), "no-such-cache-table");

    let error = cache
        .get_many(&[CacheKey::new("a", "b")], Utc::now())
        .await
        .unwrap_err();

    assert!(error.to_string().contains("no-such-cache-table"), "{error}");
}

#[tokio::test]
async fn address_lists_load_from_s3_objects() {
    let moto = Moto::connect().await;
    let bucket = moto.create_bucket("lists").await;
    moto.put_object(
        &bucket,
        "tor.txt",
        "# exits\n203.0.113.45\nExitAddress 203.0.113.46 2026-01-01\n",
    )
    .await;
    let source = S3ListSource::new(S3ConfigLoader::new(moto.s3()));
    let config = BTreeMap::from([(
        "tor".to_string(),
        AddressListConfig {
            nature: "anonymising".into(),
            label: Some("Tor exit".into()),
            cidrs: vec![],
            file: Some(format!("s3://{bucket}/tor.txt")),
            allow_in: vec![],
            raise_severity: false,
        },
    )]);
    let missing = BTreeMap::from([(
        "gone".to_string(),
        AddressListConfig {
            file: Some(format!("s3://{bucket}/nope.txt")),
            ..config["tor"].clone()
        },
    )]);

    let loaded = load_address_lists(&config, &source).await.unwrap();
    let error = load_address_lists(&missing, &source).await.unwrap_err();

    assert_eq!(loaded.networks(), 2);
    assert_eq!(loaded.book.lookup_text("203.0.113.46")[0].label, "Tor exit");
    assert!(error.to_string().contains("addresses.gone.file"), "{error}");
    assert!(error.to_string().contains("does not exist"), "{error}");
}

fn login_alert(person: &Person, at: &str) -> (Vec<Event>, Alert) {
    let login = Event::from_value(EventFactory::new(ORG).user_login_attempt(
        t(at),
        person,
        &Place::lagos(),
        true,
    ))
    .unwrap();
    let alert = Alert {
        alert_id: format!("a-{}", login.id),
        rule_id: "test.login".into(),
        title: "Login".into(),
        severity: Severity::Medium,
        area: Area::SuspiciousLogin,
        route: Route::Duet,
        org: Some(ORG.into()),
        actor: login.actor(),
        target: None,
        source: Source {
            ip: login.client_ip.clone(),
            ..Source::default()
        },
        changes: vec![],
        event_ids: vec![login.id.clone()],
        first_seen: login.timestamp,
        last_seen: login.timestamp,
        count: 1,
        notified: false,
        first_action: String::new(),
        technique: String::new(),
        details: Default::default(),
        enrichment: None,
    };
    (vec![login], alert)
}

#[tokio::test]
async fn the_enricher_on_dynamodb_reads_once_per_batch_and_hits_the_cache_the_second_time() {
    let (cache, _, _) = cache().await;
    let stats = cache.stats();
    let sim = Simulator::builder()
        .api_key(KEY, ORG)
        .directory(ORG, Directory::sample_company("example.com"))
        .start()
        .await
        .unwrap();
    let mut config = ClientConfig::new(Credential::ApiKey(Secret::new(KEY)));
    config.base_url = Some(sim.base_url().to_owned());
    config.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_total: Duration::from_secs(2),
    };
    let client = Arc::new(Client::new(config).unwrap());
    let enricher = Enricher::new(
        EnrichmentConfig::default(),
        &Default::default(),
        Arc::new(cache),
    )
    .with_directory(client.clone())
    .with_activity_source(client);
    let jane = Person::new("jane.doe", "example.com");
    let now = t("2026-01-26T10:05:00Z");

    let (events, alert) = login_alert(&jane, "2026-01-26T09:58:00Z");
    let mut first = vec![alert];
    let cold = enricher.enrich(Some(ORG), &events, &mut first, now).await;
    let (reads_cold, ..) = stats.snapshot();
    let users_asked = sim.requests_to(Target::Users).len();
    let (events, alert) = login_alert(&jane, "2026-01-26T09:59:00Z");
    let mut second = vec![alert];
    let warm = enricher.enrich(Some(ORG), &events, &mut second, now).await;
    let (reads_warm, ..) = stats.snapshot();

    assert_eq!((cold.lookups, cold.cache_hits), (1, 0));
    assert_eq!((warm.lookups, warm.cache_hits), (0, 1));
    assert_eq!(reads_cold, 1);
    assert_eq!(reads_warm - reads_cold, 1);
    assert_eq!(sim.requests_to(Target::Users).len(), users_asked);
    let person = second[0]
        .enrichment
        .as_ref()
        .unwrap()
        .person(Role::Actor)
        .unwrap();
    assert_eq!(person.lookup, LookupOutcome::Found);
    assert!(person.cached);
    let address = second[0]
        .enrichment
        .as_ref()
        .unwrap()
        .address
        .clone()
        .unwrap();
    assert_eq!(address.seen_before, Some(true));
}
