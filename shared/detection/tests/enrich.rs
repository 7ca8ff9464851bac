//! Enrichment of a batch's alerts against the Directory Insights simulator over loopback:
//! directory profiles with groups, cache hits and misses, people who do not exist, failures
//! and look-ups past the time budget, address lists and history, related activity, and the
//! wiring into the detect use case.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jcwatch_core::ports::Clock;
use jcwatch_detection::config::NotifyConfig;
use jcwatch_detection::enrich::settings::{AddressListConfig, EnrichmentConfig};
use jcwatch_detection::enrich::{
    AddressLists, EnrichReport, Enricher, LocalFiles, MemoryCache, load_address_lists,
};
use jcwatch_detection::memory::{MemoryAlertStore, MemoryStateStore, RecordingNotifier};
use jcwatch_detection::store::{AlertStore, LoadedState};
use jcwatch_detection::{Detector, Evaluation, RuleEngine};
use jcwatch_dirinsights::{Client, ClientConfig, Credential, RetryPolicy, Secret};
use jcwatch_model::enrichment::{AccountKind, LookupOutcome, Role};
use jcwatch_model::time::parse_timestamp;
use jcwatch_model::{Alert, Area, Event, Route, Severity, Source};
use jcwatch_simulator::generate::{EventFactory, Person, Place};
use jcwatch_simulator::{Directory, Fault, FaultRule, Simulator, Target};
use serde_json::{Value, json};

const KEY: &str = "jca_enrichment_test_key_0001";
const ORG: &str = "5bf6defbdcd8233029e0c598";
const DOMAIN: &str = "example.com";

fn t(text: &str) -> DateTime<Utc> {
    parse_timestamp(text).unwrap()
}

fn now() -> DateTime<Utc> {
    t("2026-01-26T10:05:00Z")
}

fn jane() -> Person {
    Person::new("jane.doe", DOMAIN)
}

/// Earlier activity Directory Insights holds: ten failed logins from Lagos, then a success.
fn earlier_activity() -> Vec<Value> {
    let factory = EventFactory::new(ORG);
    let mut events: Vec<Value> = (0..10)
        .map(|i| {
            factory.user_login_attempt(
                t("2026-01-26T09:20:00Z") + chrono::Duration::seconds(i * 30),
                &jane(),
                &Place::lagos(),
                false,
            )
        })
        .collect();
    events.push(factory.user_login_attempt(
        t("2026-01-26T09:30:00Z"),
        &jane(),
        &Place::lagos(),
        true,
    ));
    events.push(factory.user_login_attempt(
        t("2026-01-26T09:25:00Z"),
        &Person::new("john.smith", DOMAIN),
        &Place::paris(),
        true,
    ));
    events
}

async fn simulator() -> Simulator {
    Simulator::builder()
        .api_key(KEY, ORG)
        .directory(ORG, Directory::sample_company(DOMAIN))
        .events(ORG, earlier_activity())
        .start()
        .await
        .unwrap()
}

fn client(sim: &Simulator) -> Arc<Client> {
    let mut config = ClientConfig::new(Credential::ApiKey(Secret::new(KEY)));
    config.base_url = Some(sim.base_url().to_owned());
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
        max_total: Duration::from_secs(5),
    };
    Arc::new(Client::new(config).unwrap())
}

fn list(nature: &str, cidrs: &[&str], label: &str, raise: bool) -> AddressListConfig {
    AddressListConfig {
        nature: nature.into(),
        label: Some(label.into()),
        cidrs: cidrs.iter().map(|c| c.to_string()).collect(),
        file: None,
        allow_in: vec![],
        raise_severity: raise,
    }
}

async fn address_lists() -> AddressLists {
    let config = BTreeMap::from([
        (
            "office".to_string(),
            list("corporate", &["192.0.2.0/25"], "Paris office", false),
        ),
        (
            "tor".to_string(),
            list("anonymising", &["203.0.113.45"], "Tor exit", true),
        ),
    ]);
    load_address_lists(&config, &LocalFiles).await.unwrap()
}

struct Setup {
    sim: Simulator,
    cache: Arc<MemoryCache>,
    enricher: Enricher,
}

async fn setup(settings: EnrichmentConfig) -> Setup {
    let sim = simulator().await;
    let cache = Arc::new(MemoryCache::new());
    let client = client(&sim);
    let enricher = Enricher::new(settings, &address_lists().await, cache.clone())
        .with_directory(client.clone())
        .with_activity_source(client);
    Setup {
        sim,
        cache,
        enricher,
    }
}

fn event(value: Value) -> Event {
    Event::from_value(value).unwrap()
}

/// A batch: `person` logs in from `place` at 09:58, and an alert of the kind a rule raises
/// about it.
fn batch_for(person: &Person, place: &Place) -> (Vec<Event>, Alert) {
    let factory = EventFactory::new(ORG);
    let login = event(factory.user_login_attempt(t("2026-01-26T09:58:00Z"), person, place, true));
    let alert = Alert {
        alert_id: format!("alert-{}", person.username),
        rule_id: "test.suspicious_login".into(),
        title: format!("Suspicious login by {}", person.username),
        severity: Severity::Medium,
        area: Area::SuspiciousLogin,
        route: Route::Duet,
        org: Some(ORG.into()),
        actor: login.actor(),
        target: None,
        source: Source {
            ip: login.client_ip.clone(),
            country: Some(place.country_code.clone()),
            ..Source::default()
        },
        changes: vec![],
        event_ids: vec![login.id.clone()],
        first_seen: login.timestamp,
        last_seen: login.timestamp,
        count: 1,
        notified: false,
        first_action: "Ask the person.".into(),
        technique: "T1078".into(),
        details: Default::default(),
        enrichment: None,
    };
    (vec![login], alert)
}

async fn enrich_one(enricher: &Enricher, person: &Person, place: &Place) -> (Alert, EnrichReport) {
    let (events, alert) = batch_for(person, place);
    let mut alerts = vec![alert];
    let report = enricher
        .enrich(Some(ORG), &events, &mut alerts, now())
        .await;
    (alerts.remove(0), report)
}

#[tokio::test]
async fn an_alert_about_jane_names_her_job_department_groups_and_the_tor_exit() {
    let setup = setup(EnrichmentConfig::default()).await;

    let (alert, report) = enrich_one(&setup.enricher, &jane(), &Place::lagos()).await;

    let enrichment = alert.enrichment.as_ref().unwrap();
    let actor = enrichment.person(Role::Actor).unwrap();
    assert_eq!(actor.lookup, LookupOutcome::Found);
    let profile = actor.profile.as_ref().unwrap();
    assert_eq!(profile.job_title.as_deref(), Some("Senior Accountant"));
    assert_eq!(profile.department.as_deref(), Some("Finance"));
    assert_eq!(
        profile.group_names(5).as_deref(),
        Some("All staff, Finance, VPN users")
    );
    let address = enrichment.address.as_ref().unwrap();
    assert_eq!(address.lists[0].label, "Tor exit");
    assert_eq!(address.seen_before, Some(false));
    assert_eq!(alert.severity, Severity::High);
    assert!(
        enrichment.notes[0].contains("severity raised from medium to high"),
        "{:?}",
        enrichment.notes
    );
    assert_eq!(
        (report.lookups, report.cache_hits, report.raised),
        (1, 0, 1)
    );
    assert!(
        enrichment.notes.iter().all(|n| !n.contains("failed")),
        "{:?}",
        enrichment.notes
    );
}

#[tokio::test]
async fn related_activity_reaches_back_through_directory_insights() {
    let setup = setup(EnrichmentConfig::default()).await;

    let (alert, report) = enrich_one(&setup.enricher, &jane(), &Place::lagos()).await;

    let activity = alert.enrichment.unwrap().activity.unwrap();
    assert!(activity.queried_directory_insights);
    assert_eq!((activity.logins_failed, activity.logins_succeeded), (10, 1));
    assert_eq!(activity.countries, ["NG"]);
    assert_eq!(report.activity_queries, 1);
    let query = setup.sim.requests_to(Target::Events)[0]
        .body
        .clone()
        .unwrap();
    assert_eq!(query["end_time"], "2026-01-26T09:58:00Z");
    assert_eq!(query["start_time"], "2026-01-26T08:58:00Z");
}

#[tokio::test]
async fn a_second_batch_reads_the_person_from_the_cache_without_asking_jumpcloud() {
    let setup = setup(EnrichmentConfig::default()).await;
    enrich_one(&setup.enricher, &jane(), &Place::lagos()).await;
    let directory_requests = setup.sim.requests_to(Target::Directory).len()
        + setup.sim.requests_to(Target::Users).len()
        + setup.sim.requests_to(Target::Groups).len();

    let (alert, report) = enrich_one(&setup.enricher, &jane(), &Place::paris()).await;

    assert_eq!((report.cache_hits, report.lookups), (1, 0));
    assert_eq!(report.cache_reads, 1);
    let actor = alert
        .enrichment
        .as_ref()
        .unwrap()
        .person(Role::Actor)
        .unwrap()
        .clone();
    assert!(actor.cached);
    assert_eq!(
        actor.profile.unwrap().department.as_deref(),
        Some("Finance")
    );
    let after = setup.sim.requests_to(Target::Directory).len()
        + setup.sim.requests_to(Target::Users).len()
        + setup.sim.requests_to(Target::Groups).len();
    assert_eq!(after, directory_requests);
}

#[tokio::test]
async fn a_person_jumpcloud_does_not_know_is_named_as_such_and_remembered() {
    let setup = setup(EnrichmentConfig::default()).await;
    let ghost = Person::new("no.such.user", DOMAIN);

    let (first, first_report) = enrich_one(&setup.enricher, &ghost, &Place::paris()).await;
    let (_, second_report) = enrich_one(&setup.enricher, &ghost, &Place::paris()).await;

    let actor = first
        .enrichment
        .as_ref()
        .unwrap()
        .person(Role::Actor)
        .unwrap()
        .clone();
    assert_eq!(actor.lookup, LookupOutcome::NotFound);
    assert!(actor.describe().contains("not in the JumpCloud directory"));
    assert_eq!(first_report.not_found, 1);
    assert_eq!((second_report.lookups, second_report.cache_hits), (0, 1));
}

#[tokio::test]
async fn a_failing_directory_leaves_the_alert_plain_with_a_note() {
    let setup = setup(EnrichmentConfig::default()).await;
    setup.sim.push_fault(
        FaultRule::new(Fault::server_error(500))
            .on(Target::Directory)
            .always(),
    );

    let (alert, report) = enrich_one(&setup.enricher, &jane(), &Place::lagos()).await;

    let enrichment = alert.enrichment.as_ref().unwrap();
    let actor = enrichment.person(Role::Actor).unwrap();
    assert_eq!(actor.lookup, LookupOutcome::Failed);
    assert!(actor.profile.is_none());
    assert!(
        enrichment.notes.iter().any(
            |n| n.contains("directory look-up of jane.doe failed") && n.contains("unavailable")
        ),
        "{:?}",
        enrichment.notes
    );
    assert_eq!(
        enrichment.address.as_ref().unwrap().lists[0].label,
        "Tor exit"
    );
    assert!(report.degraded());
    assert!(
        !setup
            .cache
            .keys()
            .iter()
            .any(|k| k.pk.starts_with("person#"))
    );
    assert!(!format!("{enrichment:?}").contains(KEY));
}

#[tokio::test]
async fn a_look_up_past_the_budget_is_dropped_and_the_batch_is_not_held_up() {
    let settings = EnrichmentConfig {
        budget: jcwatch_detection::config::Span(Duration::from_millis(300)),
        ..EnrichmentConfig::default()
    };
    let setup = setup(settings).await;
    setup.sim.push_fault(
        FaultRule::new(Fault::Delay(Duration::from_secs(5)))
            .on(Target::Users)
            .always(),
    );

    let started = Instant::now();
    let (alert, report) = enrich_one(&setup.enricher, &jane(), &Place::lagos()).await;
    let took = started.elapsed();

    assert!(
        took < Duration::from_millis(1_000),
        "enrichment took {took:?}"
    );
    let enrichment = alert.enrichment.as_ref().unwrap();
    assert_eq!(
        enrichment.person(Role::Actor).unwrap().lookup,
        LookupOutcome::TimedOut
    );
    assert!(
        enrichment
            .notes
            .iter()
            .any(|n| n.contains("did not finish within the batch's time budget")),
        "{:?}",
        enrichment.notes
    );
    assert_eq!(report.timed_out, 1);
    assert_eq!(
        enrichment.address.as_ref().unwrap().lists[0].label,
        "Tor exit"
    );
}

#[tokio::test]
async fn an_unreadable_cache_does_not_stop_the_look_ups() {
    let setup = setup(EnrichmentConfig::default()).await;
    setup.cache.fail_with(Some("table not found"));

    let (alert, report) = enrich_one(&setup.enricher, &jane(), &Place::lagos()).await;

    assert_eq!(report.cache_errors, 2);
    assert_eq!(report.lookups, 1);
    let actor = alert.enrichment.unwrap().people.remove(0);
    assert_eq!(actor.lookup, LookupOutcome::Found);
}

#[tokio::test]
async fn more_people_than_the_limit_are_named_without_look_ups() {
    let settings = EnrichmentConfig {
        max_people: 1,
        ..EnrichmentConfig::default()
    };
    let setup = setup(settings).await;
    let (mut events, first) = batch_for(&jane(), &Place::paris());
    let (more, second) = batch_for(&Person::new("john.smith", DOMAIN), &Place::paris());
    events.extend(more);
    let mut alerts = vec![first, second];

    let report = setup
        .enricher
        .enrich(Some(ORG), &events, &mut alerts, now())
        .await;

    assert_eq!((report.people, report.lookups, report.skipped), (1, 1, 1));
    assert_eq!(report.activity_queries, 1);
    let skipped = alerts[1].enrichment.as_ref().unwrap();
    assert_eq!(skipped.people[0].lookup, LookupOutcome::Skipped);
    assert!(
        skipped.notes[0].contains("more than 1 people"),
        "{:?}",
        skipped.notes
    );
}

#[tokio::test]
async fn an_address_a_person_used_in_an_earlier_batch_is_not_first_seen() {
    let setup = setup(EnrichmentConfig::default()).await;
    let factory = EventFactory::new(ORG);
    let earlier = vec![event(factory.user_login_attempt(
        t("2026-01-26T08:00:00Z"),
        &jane(),
        &Place::paris(),
        true,
    ))];
    setup
        .enricher
        .enrich(Some(ORG), &earlier, &mut [], now())
        .await;

    let (from_paris, _) = enrich_one(&setup.enricher, &jane(), &Place::paris()).await;
    let (from_lagos, _) = enrich_one(&setup.enricher, &jane(), &Place::lagos()).await;

    let paris = from_paris.enrichment.unwrap().address.unwrap();
    assert_eq!(paris.seen_before, Some(true));
    assert!(
        paris
            .describe()
            .contains("Paris office; used by this person before"),
        "{}",
        paris.describe()
    );
    assert_eq!(
        from_lagos.enrichment.unwrap().address.unwrap().seen_before,
        Some(false)
    );
}

#[tokio::test]
async fn a_redelivered_batch_still_calls_its_address_first_seen() {
    let setup = setup(EnrichmentConfig::default()).await;

    let (first, _) = enrich_one(&setup.enricher, &jane(), &Place::dublin()).await;
    let (again, _) = {
        let (events, alert) = batch_for(&jane(), &Place::dublin());
        let mut alerts = vec![alert];
        let report = setup
            .enricher
            .enrich(Some(ORG), &events, &mut alerts, now())
            .await;
        (alerts.remove(0), report)
    };

    assert_eq!(
        first.enrichment.unwrap().address.unwrap().seen_before,
        Some(false)
    );
    assert_eq!(
        again.enrichment.unwrap().address.unwrap().seen_before,
        Some(false)
    );
}

#[tokio::test]
async fn an_administrator_acting_on_a_user_gives_both_profiles() {
    let setup = setup(EnrichmentConfig::default()).await;
    let factory = EventFactory::new(ORG);
    let admin = Person::new("it.admin", DOMAIN);
    let change = event(factory.user_update(
        t("2026-01-26T09:58:00Z"),
        &admin,
        &Person::new("sam.contractor", DOMAIN),
        &Place::boston(),
        vec![jcwatch_simulator::generate::change(
            "mfa.exclusion",
            json!(false),
            json!(true),
        )],
    ));
    let (_, mut alert) = batch_for(&admin, &Place::boston());
    alert.event_ids = vec![change.id.clone()];
    alert.actor = change.actor();
    alert.target = change.target();
    let mut alerts = vec![alert];

    setup
        .enricher
        .enrich(Some(ORG), &[change], &mut alerts, now())
        .await;

    let enrichment = alerts[0].enrichment.as_ref().unwrap();
    let actor = enrichment
        .person(Role::Actor)
        .unwrap()
        .profile
        .clone()
        .unwrap();
    let target = enrichment
        .person(Role::Target)
        .unwrap()
        .profile
        .clone()
        .unwrap();
    assert_eq!(actor.kind, AccountKind::Administrator);
    assert_eq!(actor.job_title.as_deref(), Some("IT Manager"));
    assert_eq!(target.employee_type.as_deref(), Some("Contractor"));
    assert!(target.warnings().contains(&"no MFA"));
}

/// Raises one alert for each successful login, as a rule would.
struct EveryLogin;

impl RuleEngine for EveryLogin {
    fn state_keys(&self, _: &[Event]) -> Vec<String> {
        Vec::new()
    }

    fn evaluate(&self, events: &[Event], _: LoadedState) -> Evaluation {
        let alerts = events
            .iter()
            .filter(|e| e.succeeded() == Some(true))
            .map(|e| {
                let person = Person::new(
                    e.initiated_by
                        .as_ref()
                        .unwrap()
                        .username
                        .as_deref()
                        .unwrap(),
                    DOMAIN,
                );
                let (_, mut alert) = batch_for(&person, &Place::lagos());
                alert.alert_id = format!("login-{}", e.id);
                alert.event_ids = vec![e.id.clone()];
                alert.first_seen = e.timestamp;
                alert.last_seen = e.timestamp;
                alert.source.ip = e.client_ip.clone();
                alert
            })
            .collect();
        Evaluation {
            alerts,
            ..Evaluation::default()
        }
    }
}

struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        now()
    }
}

#[tokio::test]
async fn the_detect_use_case_stores_and_notifies_enriched_alerts() {
    let setup = setup(EnrichmentConfig::default()).await;
    let (alerts, state, notifier) = (
        MemoryAlertStore::new(),
        MemoryStateStore::new(),
        RecordingNotifier::new(),
    );
    let notify = NotifyConfig::default();
    let detector = Detector {
        engine: &EveryLogin,
        alerts: &alerts,
        state: &state,
        notifier: &notifier,
        clock: &FixedClock,
        notify: &notify,
        enricher: Some(&setup.enricher),
    };
    let (events, _) = batch_for(&jane(), &Place::lagos());
    let payload = json!({"batch_id": "b1", "org_id": ORG, "events": [events[0].clone()]});

    let report = detector.handle(payload).await.unwrap();

    assert_eq!(report.enrichment.as_ref().unwrap().lookups, 1);
    let stored = alerts.all().remove(0);
    let profile = stored.enrichment.as_ref().unwrap().people[0]
        .profile
        .clone()
        .unwrap();
    assert_eq!(profile.job_title.as_deref(), Some("Senior Accountant"));
    let sent = notifier.sent().remove(0);
    for expected in [
        "Senior Accountant, Finance",
        "All staff, Finance, VPN users",
        "Tor exit",
    ] {
        assert!(
            sent.text.contains(expected),
            "{expected} missing from:\n{}",
            sent.text
        );
    }
    assert_eq!(sent.severity, Severity::High);
    assert!(
        alerts
            .get(&stored.alert_id)
            .await
            .unwrap()
            .unwrap()
            .notified
    );
}

#[tokio::test]
async fn a_failed_enrichment_never_holds_back_the_notification() {
    let setup = setup(EnrichmentConfig::default()).await;
    setup
        .sim
        .push_fault(FaultRule::new(Fault::Drop).on(Target::Any).always());
    let (alerts, state, notifier) = (
        MemoryAlertStore::new(),
        MemoryStateStore::new(),
        RecordingNotifier::new(),
    );
    let notify = NotifyConfig::default();
    let detector = Detector {
        engine: &EveryLogin,
        alerts: &alerts,
        state: &state,
        notifier: &notifier,
        clock: &FixedClock,
        notify: &notify,
        enricher: Some(&setup.enricher),
    };
    let (events, _) = batch_for(&jane(), &Place::lagos());
    let payload = json!({"batch_id": "b1", "org_id": ORG, "events": [events[0].clone()]});

    let report = detector.handle(payload).await.unwrap();

    assert_eq!(report.notified, 1);
    assert!(report.enrichment.unwrap().degraded());
    let sent = notifier.sent().remove(0);
    assert!(sent.text.contains("Enrichment notes"), "{}", sent.text);
    assert!(sent.text.contains("Tor exit"), "{}", sent.text);
}
