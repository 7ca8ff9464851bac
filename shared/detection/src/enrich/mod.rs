//! Enrichment: every alert of a batch gets who its people are (JumpCloud's directory), what
//! its source address is (the configured lists and the person's address history), and what
//! else the person did around it (the batch, and Directory Insights for the rest of the
//! window).
//!
//! Per detect invocation, [`Enricher::enrich`] works on all alerts of the batch together:
//! 1. it reads who each alert is about from the events behind it, and gathers the distinct
//!    people (at most `max_people`) and (person, address) pairs;
//! 2. it reads the cache once for all of them (one DynamoDB `BatchGetItem` in AWS);
//! 3. it looks up the people the cache does not hold, and queries Directory Insights for the
//!    part of each activity window the batch does not hold, a few at a time
//!    (`concurrency`), all within one time budget (`budget`) for the batch;
//! 4. it fills each alert's [`Enrichment`], raising the severity of alerts from a list marked
//!    `raise_severity`;
//! 5. it writes back what it learnt (profiles, "no such person", the addresses each person
//!    used in the batch) in one cache write.
//!
//! Enrichment never fails the batch and never holds an alert back: a look-up that fails or is
//! still running when the budget ends leaves that part empty, with a note on the alert and a
//! `warn` log line, and the alert is stored and notified as usual. The budget bounds the
//! added latency of a batch (the final cache write gets at least [`MIN_WRITE_TIME`] even when
//! the look-ups used the whole budget).

pub mod activity;
pub mod addresses;
pub mod cache;
mod people;
pub(crate) mod render;
pub mod settings;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use jcwatch_core::directory::{
    ActivityPage, ActivityQuery, ActivitySource, LookupError, PersonKey, UserDirectory,
};
use jcwatch_model::address::{AddressBook, is_internal, parse_address};
use jcwatch_model::enrichment::{
    AddressContext, Enrichment, LookupOutcome, PersonContext, Profile, Role,
};
use jcwatch_model::{Alert, Event, Severity};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tracing::{debug, warn};

use self::cache::{CacheItem, CacheKey, EnrichmentCache};
use self::people::{AlertSubject, index, subject};
use self::settings::EnrichmentConfig;
use crate::config::Span;

pub use self::addresses::{AddressLists, ListSource, LocalFiles, load_address_lists};
pub use self::cache::{CacheError, MemoryCache};

/// The final cache write's least time, even when the look-ups used up the budget.
pub const MIN_WRITE_TIME: Duration = Duration::from_millis(250);
/// Longest note kept on an alert.
const MAX_NOTE_CHARS: usize = 240;
/// The `sk` of a profile in a person's partition.
const PROFILE: &str = "profile";
/// The `sk` of the start of an organisation's address history.
const SINCE: &str = "since";

/// What one batch's enrichment did, for the per-batch log line and the benchmark.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnrichReport {
    pub alerts: usize,
    /// Distinct people the alerts name (after the `max_people` bound).
    pub people: usize,
    pub cache_hits: usize,
    /// Directory look-ups made (cache misses).
    pub lookups: usize,
    pub not_found: usize,
    pub failed: usize,
    pub timed_out: usize,
    /// People not looked up: over `max_people`, or no directory configured.
    pub skipped: usize,
    pub activity_queries: usize,
    /// (person, address) sightings recorded.
    pub sightings: usize,
    /// Calls to the cache: reads and writes.
    pub cache_reads: usize,
    pub cache_writes: usize,
    /// Cache calls that failed or ran out of time.
    pub cache_errors: usize,
    /// Alerts whose severity an address list raised.
    pub raised: usize,
    pub elapsed: Duration,
}

impl EnrichReport {
    /// Whether some context is missing because something failed or ran out of time.
    pub fn degraded(&self) -> bool {
        self.failed + self.timed_out + self.cache_errors > 0
    }
}

/// A cached directory answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CachedPerson {
    Found(Box<Profile>),
    Missing,
}

/// How one person's look-up ended in this batch.
#[derive(Debug, Clone)]
enum Outcome {
    Found {
        profile: Box<Profile>,
        cached: bool,
    },
    Missing {
        cached: bool,
    },
    Failed(String),
    TimedOut,
    /// Not looked up; the reason is noted on the alert when it is worth a note.
    Skipped(Option<String>),
}

/// A look-up or a query to run within the budget.
enum Job {
    Person(String, PersonKey),
    Activity(usize, ActivityQuery),
}

enum Done {
    Person(String, Result<Option<Box<Profile>>, LookupError>),
    Activity(usize, Result<ActivityPage, LookupError>),
}

type Running<'a> = FuturesUnordered<Pin<Box<dyn Future<Output = (usize, Done)> + Send + 'a>>>;

/// Who a batch's alerts name: the people to look up (cache key and how to find them), and
/// those past `max_people`.
#[derive(Debug, Default)]
struct Plan {
    people: Vec<(String, PersonKey)>,
    over_limit: HashSet<String>,
}

/// What filling one alert reads from its batch.
struct BatchContext<'a> {
    org: &'a str,
    events: &'a [Event],
    /// Events Directory Insights answered for the activity windows.
    extra: &'a [Event],
    cached: &'a HashMap<CacheKey, String>,
    /// When the organisation's address history began.
    since: DateTime<Utc>,
    outcomes: &'a HashMap<String, Outcome>,
}

/// The enrichment use case with its ports. Built once per cold start and shared by every
/// invocation.
pub struct Enricher {
    settings: EnrichmentConfig,
    book: AddressBook,
    raising: BTreeSet<String>,
    cache: Arc<dyn EnrichmentCache>,
    directory: Option<Arc<dyn UserDirectory>>,
    activity: Option<Arc<dyn ActivitySource>>,
    /// When each organisation's address history began, once read.
    history_since: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher")
            .field("settings", &self.settings)
            .field("lists", &self.book.lists().count())
            .field("directory", &self.directory.is_some())
            .field("activity", &self.activity.is_some())
            .finish()
    }
}

impl Enricher {
    /// An enricher with address context and history only; add the JumpCloud ports with
    /// [`Enricher::with_directory`] and [`Enricher::with_activity_source`].
    pub fn new(
        settings: EnrichmentConfig,
        addresses: &AddressLists,
        cache: Arc<dyn EnrichmentCache>,
    ) -> Self {
        Enricher {
            settings,
            book: addresses.book.clone(),
            raising: addresses.raising(),
            cache,
            directory: None,
            activity: None,
            history_since: Mutex::new(HashMap::new()),
        }
    }

    /// Looks people up in `directory` (unless `[enrichment] directory = false`).
    pub fn with_directory(mut self, directory: Arc<dyn UserDirectory>) -> Self {
        if self.settings.directory {
            self.directory = Some(directory);
        }
        self
    }

    /// Reads the rest of an activity window from `source` (unless `activity_query = false`).
    pub fn with_activity_source(mut self, source: Arc<dyn ActivitySource>) -> Self {
        if self.settings.activity_query {
            self.activity = Some(source);
        }
        self
    }

    pub fn has_directory(&self) -> bool {
        self.directory.is_some()
    }

    /// Adds context to every alert of one batch; see the module docs. `events` are the
    /// batch's parsed events, `now` the invocation's time.
    pub async fn enrich(
        &self,
        org_id: Option<&str>,
        events: &[Event],
        alerts: &mut [Alert],
        now: DateTime<Utc>,
    ) -> EnrichReport {
        let started = Instant::now();
        let deadline = started + self.settings.budget.as_duration();
        let org = org_id.unwrap_or("-");
        let mut report = EnrichReport {
            alerts: alerts.len(),
            ..EnrichReport::default()
        };
        let index = index(events);
        let subjects: Vec<AlertSubject> = alerts.iter().map(|a| subject(a, &index)).collect();

        let plan = self.plan(&subjects);
        report.people = plan.people.len();
        let cached = self
            .read_cache(org, &plan, &subjects, now, deadline, &mut report)
            .await;
        // The history reaches back to the earliest event it has seen, this batch included.
        let earliest_in_batch = events.iter().map(|e| e.timestamp).min();
        let since = self.history_start(org, &cached, now);
        let since = earliest_in_batch.map_or(since, |earliest| earliest.min(since));

        let (mut outcomes, mut jobs) = self.person_jobs(org, &plan, &cached, &mut report);
        let windows: Vec<(DateTime<Utc>, DateTime<Utc>)> =
            alerts.iter().map(|a| self.window(a)).collect();
        let query_of = self.activity_jobs(
            org_id,
            &plan,
            &subjects,
            &windows,
            earliest_in_batch,
            &mut jobs,
        );
        let pages = self
            .look_up(org_id, jobs, deadline, &mut outcomes, &mut report)
            .await;

        let extra: Vec<Event> = pages
            .values()
            .filter_map(|p| p.as_ref().ok())
            .flat_map(|p| p.events.iter())
            .filter_map(|raw| Event::from_value(raw.clone()).ok())
            .collect();
        let batch = BatchContext {
            org,
            events,
            extra: &extra,
            cached: &cached,
            since,
            outcomes: &outcomes,
        };
        for (i, alert) in alerts.iter_mut().enumerate() {
            let page = query_of[i].and_then(|q| pages.get(&q));
            if self.fill(alert, &subjects[i], windows[i], page, &batch) {
                report.raised += 1;
            }
        }

        let items = self.items_to_keep(org, &outcomes, &plan.people, events, now, since, &cached);
        self.write_cache(&items, deadline, &mut report).await;

        report.elapsed = started.elapsed();
        debug!(
            alerts = report.alerts,
            people = report.people,
            cache_hits = report.cache_hits,
            lookups = report.lookups,
            failed = report.failed,
            timed_out = report.timed_out,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "enriched a batch"
        );
        report
    }

    /// The distinct people of the batch's alerts, the actor of each alert first, at most
    /// `max_people`; the rest are named but not looked up.
    fn plan(&self, subjects: &[AlertSubject]) -> Plan {
        let mut plan = Plan::default();
        for subject in subjects {
            for person in [&subject.actor, &subject.target].into_iter().flatten() {
                let key = person.key.cache_key();
                if plan.people.iter().any(|(k, _)| *k == key) || plan.over_limit.contains(&key) {
                    continue;
                }
                if plan.people.len() >= self.settings.max_people {
                    plan.over_limit.insert(key);
                } else {
                    plan.people.push((key, person.key.clone()));
                }
            }
        }
        plan
    }

    /// One cache read for every profile, address sighting and history start the batch needs.
    async fn read_cache(
        &self,
        org: &str,
        plan: &Plan,
        subjects: &[AlertSubject],
        now: DateTime<Utc>,
        deadline: Instant,
        report: &mut EnrichReport,
    ) -> HashMap<CacheKey, String> {
        let mut keys: Vec<CacheKey> = plan
            .people
            .iter()
            .map(|(key, _)| profile_key(org, key))
            .collect();
        if self.settings.address_history && !subjects.is_empty() {
            for subject in subjects {
                if let (Some(who), Some(ip)) = (&subject.actor_identity, &subject.source_ip) {
                    keys.push(sighting_key(org, who, ip));
                }
            }
            if self.known_history_start(org).is_none() {
                keys.push(CacheKey::new(history_pk(org), SINCE));
            }
        }
        keys.sort();
        keys.dedup();
        if keys.is_empty() {
            return HashMap::new();
        }

        report.cache_reads += 1;
        match tokio::time::timeout_at(deadline, self.cache.get_many(&keys, now)).await {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => {
                report.cache_errors += 1;
                warn!(error = %error, "enrichment cache unreadable; looking everything up");
                HashMap::new()
            }
            Err(_) => {
                report.cache_errors += 1;
                warn!("enrichment cache read ran out of time; looking everything up");
                HashMap::new()
            }
        }
    }

    /// What the cache already answers, and a look-up for everyone else (when a directory is
    /// configured).
    fn person_jobs(
        &self,
        org: &str,
        plan: &Plan,
        cached: &HashMap<CacheKey, String>,
        report: &mut EnrichReport,
    ) -> (HashMap<String, Outcome>, VecDeque<Job>) {
        let mut outcomes = HashMap::new();
        let mut jobs = VecDeque::new();
        for (key, person) in &plan.people {
            let hit = cached
                .get(&profile_key(org, key))
                .and_then(|v| serde_json::from_str::<CachedPerson>(v).ok());
            let outcome = match hit {
                Some(CachedPerson::Found(profile)) => {
                    report.cache_hits += 1;
                    Outcome::Found {
                        profile,
                        cached: true,
                    }
                }
                Some(CachedPerson::Missing) => {
                    report.cache_hits += 1;
                    Outcome::Missing { cached: true }
                }
                None if self.directory.is_some() => {
                    jobs.push_back(Job::Person(key.clone(), person.clone()));
                    continue;
                }
                None => {
                    report.skipped += 1;
                    // No directory configured is a choice, not a failure: no note.
                    Outcome::Skipped(None)
                }
            };
            outcomes.insert(key.clone(), outcome);
        }
        for key in &plan.over_limit {
            report.skipped += 1;
            outcomes.insert(
                key.clone(),
                Outcome::Skipped(Some(format!(
                    "not looked up: more than {} people in one batch",
                    self.settings.max_people
                ))),
            );
        }
        (outcomes, jobs)
    }

    /// One Directory Insights query per actor (their alerts' windows are close; the first
    /// one's is used), for actors within the batch's bound. Returns, per alert, the index of
    /// the query whose answer it uses.
    fn activity_jobs(
        &self,
        org_id: Option<&str>,
        plan: &Plan,
        subjects: &[AlertSubject],
        windows: &[(DateTime<Utc>, DateTime<Utc>)],
        earliest_in_batch: Option<DateTime<Utc>>,
        jobs: &mut VecDeque<Job>,
    ) -> Vec<Option<usize>> {
        let mut query_of: Vec<Option<usize>> = vec![None; subjects.len()];
        if self.activity.is_none() {
            return query_of;
        }
        let mut by_names: HashMap<String, usize> = HashMap::new();
        for (i, subject) in subjects.iter().enumerate() {
            let within_bound = subject
                .actor
                .as_ref()
                .is_some_and(|a| !plan.over_limit.contains(&a.key.cache_key()));
            if !within_bound {
                continue;
            }
            let Some(query) = self.activity_query(org_id, subject, windows[i], earliest_in_batch)
            else {
                continue;
            };
            let names = query.identities.join("|");
            if let Some(&first) = by_names.get(&names) {
                query_of[i] = Some(first);
                continue;
            }
            by_names.insert(names, i);
            query_of[i] = Some(i);
            jobs.push_back(Job::Activity(i, query));
        }
        query_of
    }

    /// Runs the look-ups and queries within the budget: each person's outcome goes into
    /// `outcomes`, each query's answer (or why there is none) is returned.
    async fn look_up(
        &self,
        org_id: Option<&str>,
        jobs: VecDeque<Job>,
        deadline: Instant,
        outcomes: &mut HashMap<String, Outcome>,
        report: &mut EnrichReport,
    ) -> HashMap<usize, Result<ActivityPage, String>> {
        let mut pages = HashMap::new();
        let unfinished = self
            .run_jobs(org_id, jobs, deadline, report, |done, report| match done {
                Done::Person(key, result) => {
                    let outcome = match result {
                        Ok(Some(profile)) => Outcome::Found {
                            profile,
                            cached: false,
                        },
                        Ok(None) => {
                            report.not_found += 1;
                            Outcome::Missing { cached: false }
                        }
                        Err(error) => {
                            report.failed += 1;
                            warn!(person = %key, error = %error, "directory look-up failed");
                            Outcome::Failed(error.to_string())
                        }
                    };
                    outcomes.insert(key, outcome);
                }
                Done::Activity(i, result) => {
                    if let Err(error) = &result {
                        report.failed += 1;
                        warn!(error = %error, "related-activity query failed");
                    }
                    pages.insert(i, result.map_err(|e| e.to_string()));
                }
            })
            .await;

        for job in unfinished {
            report.timed_out += 1;
            match job {
                Job::Person(key, _) => {
                    outcomes.insert(key, Outcome::TimedOut);
                }
                Job::Activity(i, _) => {
                    pages.insert(
                        i,
                        Err(format!(
                            "Directory Insights did not answer within the {} budget",
                            budget_text(self.settings.budget.as_duration())
                        )),
                    );
                }
            }
        }
        if report.timed_out > 0 {
            warn!(
                timed_out = report.timed_out,
                budget_ms = self.settings.budget.as_duration().as_millis() as u64,
                "enrichment look-ups ran out of time; those alerts go out without them"
            );
        }
        pages
    }

    /// Fills one alert's enrichment; true when its severity was raised.
    fn fill(
        &self,
        alert: &mut Alert,
        subject: &AlertSubject,
        window: (DateTime<Utc>, DateTime<Utc>),
        page: Option<&Result<ActivityPage, String>>,
        batch: &BatchContext<'_>,
    ) -> bool {
        let mut enrichment = alert.enrichment.take().unwrap_or_default();

        for (role, person) in [
            (Role::Actor, &subject.actor),
            (Role::Target, &subject.target),
        ] {
            let Some(person) = person else { continue };
            let outcome = batch
                .outcomes
                .get(&person.key.cache_key())
                .cloned()
                .unwrap_or(Outcome::Skipped(None));
            enrichment.people.push(person_context(
                role,
                &person.identity,
                outcome,
                &mut enrichment.notes,
            ));
        }

        enrichment.address = subject
            .source_ip
            .as_deref()
            .and_then(|ip| self.address_context(ip, alert, subject, batch));

        if let Some(Err(reason)) = page {
            enrichment.notes.push(bounded(&format!(
                "related activity is incomplete: {reason}"
            )));
        }
        if let Some(actor) = &subject.actor {
            let own: HashSet<&str> = alert.event_ids.iter().map(String::as_str).collect();
            let (queried, truncated) = match page {
                Some(Ok(page)) => (true, page.truncated),
                _ => (false, false),
            };
            enrichment.activity = Some(activity::summarise(
                &actor.identity,
                &subject.actor_names,
                &own,
                batch.events.iter().chain(batch.extra.iter()),
                window,
                queried,
                truncated,
            ));
        }

        let raised = self.raise(alert, &enrichment);
        if let Some(note) = &raised {
            enrichment.notes.push(note.clone());
        }
        enrichment.notes.dedup();
        alert.enrichment = (!enrichment.is_empty()).then_some(enrichment);
        raised.is_some()
    }

    /// One cache write for what was learnt; it gets at least [`MIN_WRITE_TIME`].
    async fn write_cache(&self, items: &[CacheItem], deadline: Instant, report: &mut EnrichReport) {
        report.sightings = items
            .iter()
            .filter(|i| i.key.pk.starts_with("seen#") && i.key.sk != SINCE)
            .count();
        if items.is_empty() {
            return;
        }
        report.cache_writes += 1;
        let write_deadline = deadline.max(Instant::now() + MIN_WRITE_TIME);
        match tokio::time::timeout_at(write_deadline, self.cache.put_many(items)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                report.cache_errors += 1;
                warn!(error = %error, "enrichment cache write failed; next batch looks up again");
            }
            Err(_) => {
                report.cache_errors += 1;
                warn!("enrichment cache write ran out of time");
            }
        }
    }

    /// Runs jobs a few at a time until all finished or the deadline passed; returns the jobs
    /// that did not finish (running or not started).
    async fn run_jobs<F>(
        &self,
        org_id: Option<&str>,
        mut jobs: VecDeque<Job>,
        deadline: Instant,
        report: &mut EnrichReport,
        mut finish: F,
    ) -> Vec<Job>
    where
        F: FnMut(Done, &mut EnrichReport),
    {
        let mut running: Running<'_> = FuturesUnordered::new();
        // What each running job is, to report it as unfinished.
        let mut in_flight: Vec<Option<Job>> = Vec::new();
        let concurrency = self.settings.concurrency.max(1);
        loop {
            while running.len() < concurrency
                && let Some(job) = jobs.pop_front()
            {
                let slot = in_flight.len();
                running.push(self.start(org_id, &job, slot, report));
                in_flight.push(Some(job));
            }
            if running.is_empty() {
                return Vec::new();
            }
            match tokio::time::timeout_at(deadline, running.next()).await {
                Ok(Some((slot, done))) => {
                    in_flight[slot] = None;
                    finish(done, report);
                }
                Ok(None) => return Vec::new(),
                Err(_) => {
                    // Dropping the futures cancels their requests.
                    drop(running);
                    let mut left: Vec<Job> = in_flight.into_iter().flatten().collect();
                    left.extend(jobs);
                    return left;
                }
            }
        }
    }

    fn start<'a>(
        &'a self,
        org_id: Option<&'a str>,
        job: &Job,
        slot: usize,
        report: &mut EnrichReport,
    ) -> Pin<Box<dyn Future<Output = (usize, Done)> + Send + 'a>> {
        match job {
            Job::Person(key, person) => {
                report.lookups += 1;
                let directory = self.directory.clone();
                let (key, person) = (key.clone(), person.clone());
                Box::pin(async move {
                    let result = match directory {
                        Some(directory) => directory
                            .lookup(org_id, &person)
                            .await
                            .map(|found| found.map(Box::new)),
                        None => Ok(None),
                    };
                    (slot, Done::Person(key, result))
                })
            }
            Job::Activity(i, query) => {
                report.activity_queries += 1;
                let source = self.activity.clone();
                let (i, query) = (*i, query.clone());
                Box::pin(async move {
                    let result = match source {
                        Some(source) => source.person_events(&query).await,
                        None => Ok(ActivityPage::default()),
                    };
                    (slot, Done::Activity(i, result))
                })
            }
        }
    }

    /// The activity window of an alert: `activity_window` before its first event and after
    /// its last.
    fn window(&self, alert: &Alert) -> (DateTime<Utc>, DateTime<Utc>) {
        let span = chrono::Duration::from_std(self.settings.activity_window.as_duration())
            .unwrap_or(chrono::Duration::hours(1));
        (alert.first_seen - span, alert.last_seen + span)
    }

    /// The Directory Insights query for the part of the window before the batch's first
    /// event, when the batch does not reach back that far.
    fn activity_query(
        &self,
        org_id: Option<&str>,
        subject: &AlertSubject,
        window: (DateTime<Utc>, DateTime<Utc>),
        earliest_in_batch: Option<DateTime<Utc>>,
    ) -> Option<ActivityQuery> {
        subject.actor.as_ref()?;
        let end = earliest_in_batch.unwrap_or(window.1).min(window.1);
        if end <= window.0 {
            return None;
        }
        // Ids are not searchable names; the email and username are.
        let identities: Vec<String> = subject
            .actor_names
            .iter()
            .filter(|n| !looks_like_object_id(n))
            .cloned()
            .collect();
        if identities.is_empty() {
            return None;
        }
        Some(ActivityQuery {
            org_id: org_id.map(str::to_owned),
            identities,
            start: window.0,
            end,
            limit: self.settings.activity_limit,
        })
    }

    fn known_history_start(&self, org: &str) -> Option<DateTime<Utc>> {
        self.history_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(org)
            .copied()
    }

    /// When the organisation's address history began: remembered, else read from the cache,
    /// else now (and written with this batch).
    fn history_start(
        &self,
        org: &str,
        cached: &HashMap<CacheKey, String>,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        if let Some(since) = self.known_history_start(org) {
            return since;
        }
        let since = cached
            .get(&CacheKey::new(history_pk(org), SINCE))
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.with_timezone(&Utc));
        if let Some(since) = since {
            self.history_since
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(org.to_owned(), since);
            return since;
        }
        now
    }

    fn address_context(
        &self,
        ip: &str,
        alert: &Alert,
        subject: &AlertSubject,
        batch: &BatchContext<'_>,
    ) -> Option<AddressContext> {
        let parsed = parse_address(ip)?;
        let mut context = AddressContext {
            ip: ip.to_string(),
            lists: self.book.lookup(parsed),
            internal: is_internal(parsed),
            ..AddressContext::default()
        };
        if !self.settings.address_history {
            return Some(context);
        }
        let Some(who) = &subject.actor_identity else {
            return Some(context);
        };
        let earlier_in_batch = batch.events.iter().any(|e| {
            e.timestamp < alert.first_seen
                && sighting(e).is_some_and(|(w, a)| w == *who && a == parsed.to_string())
        });
        // A sighting stamped before the alert means the person used the address before; one
        // stamped at or after it was written by this very activity (a redelivered batch).
        let earlier_in_cache = batch
            .cached
            .get(&sighting_key(batch.org, who, &parsed.to_string()))
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .is_some_and(|t| t.with_timezone(&Utc) < alert.first_seen);
        context.seen_before = Some(earlier_in_batch || earlier_in_cache);
        context.history_since = Some(batch.since);
        Some(context)
    }

    /// Raises the alert's severity one level when its address is on a raising list; the note
    /// says why.
    fn raise(&self, alert: &mut Alert, enrichment: &Enrichment) -> Option<String> {
        let address = enrichment.address.as_ref()?;
        let list = address
            .lists
            .iter()
            .find(|m| self.raising.contains(&m.list))?;
        let before = alert.severity;
        let after = match before {
            Severity::Info => Severity::Low,
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        };
        if after == before {
            return None;
        }
        alert.severity = after;
        Some(format!(
            "severity raised from {before} to {after}: the source address is on the list {} ({})",
            list.list, list.label
        ))
    }

    /// The cache items this batch learnt: fresh profiles and "no such person", the addresses
    /// people used (bounded), and the start of the address history when it was not stored.
    #[allow(clippy::too_many_arguments)]
    fn items_to_keep(
        &self,
        org: &str,
        outcomes: &HashMap<String, Outcome>,
        people: &[(String, PersonKey)],
        events: &[Event],
        now: DateTime<Utc>,
        since: DateTime<Utc>,
        cached: &HashMap<CacheKey, String>,
    ) -> Vec<CacheItem> {
        let ttl = |span: Span| {
            now + chrono::Duration::from_std(span.as_duration())
                .unwrap_or(chrono::Duration::hours(1))
        };
        let mut items = Vec::new();
        for (key, _) in people {
            let value = match outcomes.get(key) {
                Some(Outcome::Found {
                    profile,
                    cached: false,
                }) => (
                    CachedPerson::Found(profile.clone()),
                    self.settings.profile_ttl,
                ),
                Some(Outcome::Missing { cached: false }) => {
                    (CachedPerson::Missing, self.settings.missing_ttl)
                }
                _ => continue,
            };
            if let Ok(text) = serde_json::to_string(&value.0) {
                items.push(CacheItem {
                    key: profile_key(org, key),
                    value: text,
                    expires_at: ttl(value.1),
                });
            }
        }

        if self.settings.address_history {
            let mut latest: HashMap<(String, String), DateTime<Utc>> = HashMap::new();
            for event in events {
                if let Some(pair) = sighting(event) {
                    let at = latest.entry(pair).or_insert(event.timestamp);
                    *at = (*at).max(event.timestamp);
                }
            }
            let mut sightings: Vec<((String, String), DateTime<Utc>)> =
                latest.into_iter().collect();
            sightings.sort();
            for ((who, ip), at) in sightings.into_iter().take(self.settings.max_sightings) {
                items.push(CacheItem {
                    key: sighting_key(org, &who, &ip),
                    value: at.to_rfc3339(),
                    expires_at: ttl(self.settings.history_ttl),
                });
            }
            let stored = cached.contains_key(&CacheKey::new(history_pk(org), SINCE))
                || self.known_history_start(org).is_some();
            if !stored && !items.is_empty() {
                items.push(CacheItem {
                    key: CacheKey::new(history_pk(org), SINCE),
                    value: since.to_rfc3339(),
                    // Refreshed whenever it is read back missing; ten years is "for good".
                    expires_at: now + chrono::Duration::days(3_650),
                });
                self.history_since
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(org.to_owned(), since);
            }
        }
        items
    }
}

fn person_context(
    role: Role,
    identity: &str,
    outcome: Outcome,
    notes: &mut Vec<String>,
) -> PersonContext {
    let (lookup, profile, cached) = match outcome {
        Outcome::Found { profile, cached } => (LookupOutcome::Found, Some(*profile), cached),
        Outcome::Missing { cached } => (LookupOutcome::NotFound, None, cached),
        Outcome::Failed(reason) => {
            notes.push(bounded(&format!(
                "directory look-up of {identity} failed: {reason}"
            )));
            (LookupOutcome::Failed, None, false)
        }
        Outcome::TimedOut => {
            notes.push(bounded(&format!(
                "directory look-up of {identity} did not finish within the batch's time budget"
            )));
            (LookupOutcome::TimedOut, None, false)
        }
        Outcome::Skipped(reason) => {
            if let Some(reason) = reason {
                notes.push(bounded(&format!("{identity}: {reason}")));
            }
            (LookupOutcome::Skipped, None, false)
        }
    };
    PersonContext {
        role,
        identity: identity.chars().take(200).collect(),
        lookup,
        profile,
        cached,
    }
}

/// The (person, address) an event shows a person using, if it does: a successful or neutral
/// event with an actor and a readable address. Failed attempts do not make an address known.
fn sighting(event: &Event) -> Option<(String, String)> {
    if event.succeeded() == Some(false) {
        return None;
    }
    let who = event.actor()?;
    let ip = parse_address(event.client_ip.as_deref()?)?;
    Some((who, ip.to_string()))
}

fn profile_key(org: &str, person: &str) -> CacheKey {
    CacheKey::new(format!("person#{org}#{person}"), PROFILE)
}

fn history_pk(org: &str) -> String {
    format!("seen#{org}")
}

fn sighting_key(org: &str, who: &str, ip: &str) -> CacheKey {
    let ip = parse_address(ip).map_or_else(|| ip.to_string(), |a| a.to_string());
    CacheKey::new(format!("seen#{org}#{}", who.to_lowercase()), ip)
}

fn looks_like_object_id(name: &str) -> bool {
    name.len() == 24 && name.chars().all(|c| c.is_ascii_hexdigit())
}

fn budget_text(budget: Duration) -> String {
    jcwatch_model::time::format_duration(budget)
}

fn bounded(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if cleaned.chars().count() <= MAX_NOTE_CHARS {
        return cleaned;
    }
    let mut cut: String = cleaned.chars().take(MAX_NOTE_CHARS - 1).collect();
    cut.push('…');
    cut
}
