//! What enrichment adds to the detect path, measured: the detect function's handler (real rule
//! catalogue, DynamoDB alerts, state and cache tables and an SNS topic on the local AWS
//! emulator) over batches whose alerts name people of the Directory Insights simulator's
//! directory, run three ways:
//!
//! - **baseline**: no enricher;
//! - **cold**: a fresh enricher and client (a Lambda cold start) and people never looked up;
//! - **warm**: people already in the DynamoDB cache (their alerts are new).
//!
//! Every batch has the same shape: ordinary activity plus brute-force bursts against
//! `--people` distinct accounts, so each batch raises that many new alerts. The simulator
//! answers on loopback; `--rtt-ms` adds that much delay to every JumpCloud request to stand
//! in for the internet (JumpCloud's API typically answers in tens of milliseconds).
//!
//! Enrichment runs inside the handler, between the rules and the first store, so the time of
//! that step (the enricher's own report, returned in the handler's summary) is exactly what
//! it adds to a batch; the handler's whole time is printed for context, and is dominated by
//! the emulator's DynamoDB and SNS. Per way it prints the median and 90th percentile of both,
//! the JumpCloud requests, and the DynamoDB calls of the enrichment cache per batch
//! (`BatchGetItem` reads and `BatchWriteItem` writes).
//!
//! ```text
//! eval "$(.ci/emulators start)"
//! cargo run -p jcwatch-tests --example enrichment_bench -- [--batches 15] [--people 3] [--rtt-ms 60]
//! ```
//!
//! N.B. a debug build, a local emulator and a loopback simulator: the figures show what
//! enrichment adds relative to the same detect path, not what AWS will measure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use detect::handler::App;
use jcwatch_aws::alerts::{DynamoAlertStore, create_alerts_table};
use jcwatch_aws::state::{DynamoStateStore, create_state_table};
use jcwatch_aws::{CacheStats, DynamoEnrichmentCache, SnsNotifier, create_cache_table};
use jcwatch_core::ports::Clock;
use jcwatch_detection::config::Config;
use jcwatch_detection::engine;
use jcwatch_detection::enrich::{AddressLists, Enricher, LocalFiles, load_address_lists};
use jcwatch_dirinsights::{Client, ClientConfig, Credential, RetryPolicy, Secret};
use jcwatch_model::Event;
use jcwatch_simulator::generate::{EventFactory, Person, Place};
use jcwatch_simulator::{Directory, DirectoryUser, Fault, FaultRule, Simulator, Target};
use jcwatch_tests::moto::{Moto, unique_name};
use serde_json::{Value, json};

const KEY: &str = "jca_enrichment_bench_key_000001";
const ORG: &str = "5bf6defbdcd8233029e0c598";
const DOMAIN: &str = "example.com";

const CONFIG: &str = r#"
[addresses.office]
nature = "corporate"
label = "Paris office"
cidrs = ["192.0.2.0/25"]

[addresses.tor]
nature = "anonymising"
label = "Tor exit"
cidrs = ["203.0.113.0/24"]
"#;

struct Options {
    batches: usize,
    people: usize,
    rtt: Duration,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        batches: 15,
        people: 3,
        rtt: Duration::from_millis(60),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag} {value:?} is not a whole number"))?;
        match flag.as_str() {
            "--batches" => options.batches = number.max(1) as usize,
            "--people" => options.people = number.clamp(1, 25) as usize,
            "--rtt-ms" => options.rtt = Duration::from_millis(number),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(options)
}

/// A clock at the batches' time.
struct BenchClock;

impl Clock for BenchClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        "2026-01-26T12:00:00Z".parse().unwrap()
    }
}

fn username(way: &str, batch: usize, n: usize) -> String {
    format!("{way}.b{batch:03}.p{n:02}")
}

/// Every person the run will name, in one directory, in a few groups each.
fn directory(options: &Options) -> Directory {
    let mut directory = Directory::new();
    let departments = ["Finance", "Sales", "Engineering", "Support"];
    for way in ["base", "cold", "warm"] {
        for batch in 0..options.batches {
            for n in 0..options.people {
                let person = Person::new(&username(way, batch, n), DOMAIN);
                let department = departments[(batch + n) % departments.len()];
                directory = directory
                    .user(
                        DirectoryUser::new(&person, "Bench", &format!("Person {batch}-{n}"))
                            .position("Analyst", department),
                    )
                    .group(department, &[&person])
                    .group("VPN users", &[&person]);
            }
        }
    }
    directory
        .nest("All staff", "Finance")
        .nest("All staff", "Sales")
}

/// One batch: 150 quiet events, then a burst of 12 failed logins against each person.
fn batch(way: &str, batch: usize, options: &Options) -> Value {
    let factory = EventFactory::new(ORG);
    let start: chrono::DateTime<chrono::Utc> = "2026-01-26T09:00:00Z".parse().unwrap();
    // Quiet background: staff signing in to an application from the office, which no rule
    // alerts on, so the batch's alerts are the bursts below.
    let app_names = ["Slack", "Google Workspace", "Zoom"];
    let mut events: Vec<Value> = (0..150)
        .map(|i| {
            let user = Person::new(&format!("staff{:03}", i % 40), DOMAIN);
            let at = start + chrono::Duration::seconds(20 * i as i64);
            factory.sso_auth(at, &user, app_names[i % 3], &Place::paris(), true)
        })
        .collect();
    for n in 0..options.people {
        let person = Person::new(&username(way, batch, n), DOMAIN);
        for i in 0..12 {
            let at = start + chrono::Duration::minutes(55) + chrono::Duration::seconds(i * 5);
            events.push(factory.user_login_attempt(at, &person, &Place::lagos(), false));
        }
    }
    json!({"batch_id": format!("{way}-{batch}"), "org_id": null, "events": events})
}

struct Stack {
    moto: Moto,
    sim: Simulator,
    config: Config,
    lists: AddressLists,
    topic: String,
    cache_table: String,
}

impl Stack {
    /// A detect handler on fresh alert and state tables.
    async fn new_app(&self, enricher: Option<Enricher>) -> App {
        let dynamodb = self.moto.dynamodb();
        let alerts = unique_name("bench-alerts");
        let state = unique_name("bench-state");
        create_alerts_table(&dynamodb, &alerts)
            .await
            .expect("alerts table");
        create_state_table(&dynamodb, &state)
            .await
            .expect("state table");
        App {
            engine: Box::new(engine::build(&self.config).expect("engine")),
            alerts: Box::new(DynamoAlertStore::new(dynamodb.clone(), alerts)),
            state: Box::new(DynamoStateStore::new(dynamodb, state)),
            notifier: Box::new(SnsNotifier::new(self.moto.sns(), &self.topic)),
            clock: Box::new(BenchClock),
            config: self.config.clone(),
            enricher,
        }
    }

    /// Points `app` at new, empty alert and state tables.
    async fn fresh_tables(&self, app: &mut App) {
        let fresh = self.new_app(None).await;
        app.alerts = fresh.alerts;
        app.state = fresh.state;
    }

    /// A fresh enricher and client, as a cold start builds them, on the shared cache table.
    fn enricher(&self) -> (Enricher, Arc<CacheStats>) {
        let cache = DynamoEnrichmentCache::new(self.moto.dynamodb(), &self.cache_table);
        let stats = cache.stats();
        let mut settings = ClientConfig::new(Credential::ApiKey(Secret::new(KEY)));
        settings.base_url = Some(self.sim.base_url().to_string());
        let budget = self.config.enrichment.budget.as_duration();
        settings.request_timeout = budget;
        settings.retry = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            max_total: budget,
        };
        let client = Arc::new(Client::new(settings).expect("client"));
        let enricher = Enricher::new(self.config.enrichment.clone(), &self.lists, Arc::new(cache))
            .with_directory(client.clone())
            .with_activity_source(client);
        (enricher, stats)
    }
}

#[derive(Default)]
struct Samples {
    total: Vec<Duration>,
    enrich: Vec<Duration>,
    jumpcloud_requests: Vec<usize>,
    reads: Vec<u64>,
    items_read: Vec<u64>,
    writes: Vec<u64>,
    alerts: Vec<usize>,
    lookups: Vec<usize>,
    hits: Vec<usize>,
    degraded: usize,
}

fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn mean<T: Copy + Into<f64>>(values: &[T]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().map(|v| (*v).into()).sum::<f64>() / values.len() as f64
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1_000.0)
}

async fn run_batch(
    stack: &Stack,
    app: &App,
    payload: Value,
    stats: Option<&CacheStats>,
    samples: &mut Samples,
) {
    let before = stats.map(CacheStats::snapshot).unwrap_or_default();
    let requests_before = stack.sim.requests().len();
    let started = Instant::now();
    let summary = app.handle(payload).await.expect("batch");
    samples.total.push(started.elapsed());
    eprint!(".");
    samples
        .jumpcloud_requests
        .push(stack.sim.requests().len() - requests_before);
    samples
        .alerts
        .push(summary["alerts_new"].as_u64().unwrap_or_default() as usize);

    let enrichment = &summary["enrichment"];
    if let Some(elapsed) = enrichment["elapsed_ms"].as_f64() {
        samples
            .enrich
            .push(Duration::from_secs_f64(elapsed / 1_000.0));
        let count = |name: &str| enrichment[name].as_u64().unwrap_or_default() as usize;
        samples.lookups.push(count("lookups"));
        samples.hits.push(count("cache_hits"));
        if count("failed") + count("timed_out") > 0 {
            samples.degraded += 1;
        }
    }
    if let Some(stats) = stats {
        let after = stats.snapshot();
        samples.reads.push(after.0 - before.0);
        samples.items_read.push(after.1 - before.1);
        samples.writes.push(after.2 - before.2);
    }
}

fn report(name: &str, samples: &Samples) {
    println!(
        "{name:<9} detect handler per batch: median {:>10}, p90 {:>10}; new alerts/batch {:.1}",
        ms(percentile(&samples.total, 0.5)),
        ms(percentile(&samples.total, 0.9)),
        mean(&counts(&samples.alerts)),
    );
    if samples.enrich.is_empty() {
        return;
    }
    println!(
        "          enrichment step (added to the path): median {:>9}, p90 {:>9}, max {:>9}",
        ms(percentile(&samples.enrich, 0.5)),
        ms(percentile(&samples.enrich, 0.9)),
        ms(percentile(&samples.enrich, 1.0)),
    );
    println!(
        "          per batch: JumpCloud requests {:.1}, directory look-ups {:.1}, cache hits {:.1}; \
         degraded batches {}",
        mean(&counts(&samples.jumpcloud_requests)),
        mean(&counts(&samples.lookups)),
        mean(&counts(&samples.hits)),
        samples.degraded,
    );
    println!(
        "          DynamoDB cache calls per batch: BatchGetItem {:.2} ({:.1} items read), \
         BatchWriteItem {:.2}",
        mean(&samples.reads.iter().map(|&n| n as u32).collect::<Vec<_>>()),
        mean(
            &samples
                .items_read
                .iter()
                .map(|&n| n as u32)
                .collect::<Vec<_>>()
        ),
        mean(&samples.writes.iter().map(|&n| n as u32).collect::<Vec<_>>()),
    );
}

fn counts(values: &[usize]) -> Vec<u32> {
    values.iter().map(|&n| n as u32).collect()
}

/// Puts the people of `payload` in the cache, as an earlier batch on another instance would.
async fn warm_up(enricher: &Enricher, app: &App, payload: &Value) {
    let events: Vec<Event> = payload["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| Event::from_value(e.clone()).ok())
        .collect();
    let mut alerts = app.engine.evaluate(&events, Default::default()).alerts;
    enricher
        .enrich(None, &events, &mut alerts, BenchClock.now())
        .await;
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = options()?;
    let moto = Moto::connect().await;
    let sim = Simulator::builder()
        .api_key(KEY, ORG)
        .directory(ORG, directory(&options))
        .start()
        .await
        .map_err(|e| e.to_string())?;
    if !options.rtt.is_zero() {
        sim.push_fault(
            FaultRule::new(Fault::Delay(options.rtt))
                .on(Target::Any)
                .always(),
        );
    }
    let mut config = Config::from_toml(CONFIG).map_err(|e| e.to_string())?;
    let lists = load_address_lists(&config.addresses, &LocalFiles)
        .await
        .map_err(|e| e.to_string())?;
    config.detection = lists
        .feed_allow_lists(&config.detection)
        .map_err(|e| e.to_string())?;
    let cache_table = unique_name("bench-cache");
    create_cache_table(&moto.dynamodb(), &cache_table).await?;
    let topic = moto.create_topic("bench").await;
    let stack = Stack {
        moto,
        sim,
        config,
        lists,
        topic,
        cache_table,
    };

    println!(
        "enrichment bench: {} batches per way, {} events and {} alerting people per batch, \
         JumpCloud round trip {} (simulated), DynamoDB on the local emulator, debug build",
        options.batches,
        150 + 12 * options.people,
        options.people,
        ms(options.rtt)
    );

    // Baseline: the same detect path without enrichment.
    // N.B. every batch gets fresh alert and state tables: the emulator's queries slow down as
    // a table fills, which would drown the figures in the emulator's own cost.
    let mut baseline = Samples::default();
    let mut app = stack.new_app(None).await;
    for b in 0..options.batches {
        stack.fresh_tables(&mut app).await;
        run_batch(
            &stack,
            &app,
            batch("base", b, &options),
            None,
            &mut baseline,
        )
        .await;
    }

    // Cold: each batch on a fresh enricher and client (a cold start), people never looked up.
    let mut cold = Samples::default();
    for b in 0..options.batches {
        let (enricher, stats) = stack.enricher();
        let app = stack.new_app(Some(enricher)).await;
        run_batch(
            &stack,
            &app,
            batch("cold", b, &options),
            Some(&stats),
            &mut cold,
        )
        .await;
    }

    // Warm: one long-lived instance; each batch's people are already in the cache.
    let mut warm = Samples::default();
    let (enricher, stats) = stack.enricher();
    let (warmer, _) = stack.enricher();
    let mut app = stack.new_app(Some(enricher)).await;
    let scratch = stack.new_app(None).await;
    for b in 0..options.batches {
        let payload = batch("warm", b, &options);
        warm_up(&warmer, &scratch, &payload).await;
        stack.fresh_tables(&mut app).await;
        run_batch(&stack, &app, payload, Some(&stats), &mut warm).await;
    }

    eprintln!();
    report("baseline", &baseline);
    report("cold", &cold);
    report("warm", &warm);
    println!(
        "added latency per batch (the enrichment step, median / p90): cold {} / {}, warm {} / {}",
        ms(percentile(&cold.enrich, 0.5)),
        ms(percentile(&cold.enrich, 0.9)),
        ms(percentile(&warm.enrich, 0.5)),
        ms(percentile(&warm.enrich, 0.9)),
    );
    Ok(())
}
