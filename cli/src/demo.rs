//! `jcwatch demo`: the whole pipeline on a laptop, in seconds, with no account anywhere.
//!
//! It scripts a day at a small company (the scenario corpus: ordinary work plus an
//! intrusion in the afternoon), serves it from the Directory Insights simulator on a
//! loopback port, and runs the real poll use case against it over HTTP, with the real
//! client, the SQLite stores in a temporary directory and the real detect use case as the
//! batch sink. The day is replayed in two polls: one in the middle of the intrusion, then,
//! after two events have arrived late, one at the end of the day. It prints the alerts and
//! shows every DUET notification as the email and the Slack message would read.
//!
//! The simulator also serves the company's directory, and the detect use case enriches every
//! alert: who the person is (job title, department, manager, groups, MFA), what the source
//! address is (from the address lists a company like this would configure), and what else
//! the person did around it.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use clap::{Args, ValueEnum};
use jcwatch_core::poll::{OrgOutcome, PollPorts, PollRun, PollSettings, Poller, StopSignal};
use jcwatch_core::ports::{Clock, Notification, Notifier, NotifyError};
use jcwatch_detection::config::Config;
use jcwatch_detection::enrich::settings::AddressListConfig;
use jcwatch_detection::memory::RecordingNotifier;
use jcwatch_detection::present;
use jcwatch_detection::sink::DetectSink;
use jcwatch_detection::{AlertQuery, AlertStore};
use jcwatch_dirinsights::{Client, ClientConfig, Credential, Secret};
use jcwatch_local::{
    Db, SqliteAlertStore, SqliteCursorStore, SqliteEnrichmentCache, SqliteStateStore,
};
use jcwatch_model::{Alert, Route};
use jcwatch_simulator::scenario::{Company, attack_network, key_network};
use jcwatch_simulator::scenario::{Corpus, Scenario, ScoredAlert};
use jcwatch_simulator::{Directory, Simulator};
use serde_json::Value;

use crate::error::CliError;

/// The simulator's key for the demo; it only ever travels over loopback.
const DEMO_API_KEY: &str = "jcwatch-demo-key";

/// How long into the intrusion the first poll runs.
const FIRST_POLL_AFTER_INTRUSION: Duration = Duration::from_secs(65 * 60);

/// How many events arrive late, between the two polls.
const LATE_EVENTS: usize = 2;

/// Replay a scripted day with an intrusion through the real poll and detect path.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output: alerts and notifications for a person, or one JSON object per alert (as
    /// `jcwatch scan --format jsonl` prints them).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// Seed of the scripted day: the same seed replays the same day.
    #[arg(long, value_name = "N", default_value_t = 7)]
    seed: u64,

    /// The day to script, as YYYY-MM-DD [default: the last working day before today].
    #[arg(long, value_name = "DATE")]
    date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Jsonl,
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let today = Utc::now().date_naive();
    let date = match args.date {
        Some(date) if date >= today => {
            return Err(CliError::Usage(format!(
                "--date {date} is not in the past: the scripted day is replayed from the \
                 audit log, which holds nothing later than now ({today})"
            )));
        }
        Some(date) => date,
        None => last_working_day_before(today),
    };
    let scenario = Scenario::new(args.seed, date);
    let corpus = scenario.demo_day();
    let settings = poll_settings();
    let script = Script::plan(&corpus, scenario.intrusion_time(0), &settings);
    let org = scenario.company().org_id.clone();

    let sim = Simulator::builder()
        .api_key(DEMO_API_KEY, org.clone())
        .seed(args.seed)
        .events(org.clone(), script.initial.clone())
        .directory(org.clone(), Directory::from_company(scenario.company()))
        .start()
        .await
        .map_err(|e| CliError::Failed(format!("cannot start the simulator: {e}")))?;
    let pipeline = Pipeline::build(sim.base_url(), settings, scenario.company()).await?;

    pipeline.clock.set(script.first_poll);
    let first = pipeline.poll().await?;
    sim.add_events(&org, script.late.clone())
        .map_err(|e| CliError::Failed(format!("the simulator refused the late events: {e}")))?;
    pipeline.clock.set(script.last_poll);
    let second = pipeline.poll().await?;

    let alerts = pipeline.alerts().await?;
    let notifications = pipeline.notifier.sent();
    let summary = Summary {
        scenario: &scenario,
        corpus: &corpus,
        base_url: sim.base_url().to_owned(),
        runs: [first, second],
        late: script.late.len(),
        elapsed: started.elapsed(),
    };
    let text = match args.format {
        Format::Jsonl => alerts
            .iter()
            .map(present::json_line)
            .map(|l| l + "\n")
            .collect(),
        Format::Table => report(&summary, &alerts, &notifications),
    };
    sim.shutdown().await;

    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

/// The office is quiet at weekends, so the default day is the last weekday before `today`.
fn last_working_day_before(today: NaiveDate) -> NaiveDate {
    let mut day = today.pred_opt().unwrap_or(today);
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
        day = day.pred_opt().unwrap_or(day);
    }
    day
}

/// The demo's poll settings: the defaults, with a first-run backfill that reaches the start
/// of the scripted day from the first poll's clock.
fn poll_settings() -> PollSettings {
    PollSettings {
        backfill: Duration::from_secs(2 * 86_400),
        ..PollSettings::default()
    }
}

/// How the day is served: what the simulator holds at the start, what arrives late, and the
/// clock of each poll.
#[derive(Debug, Clone, PartialEq)]
struct Script {
    initial: Vec<Value>,
    late: Vec<Value>,
    /// Mid-intrusion.
    first_poll: DateTime<Utc>,
    /// Just after the end of the day.
    last_poll: DateTime<Utc>,
}

impl Script {
    /// Holds back the last events that the first poll's window would have covered, so that
    /// they reach Directory Insights after it: late, but within lag plus overlap, which is
    /// exactly what the poll's overlap exists to catch.
    fn plan(corpus: &Corpus, intrusion: DateTime<Utc>, settings: &PollSettings) -> Script {
        let first_poll = intrusion + delta(FIRST_POLL_AFTER_INTRUSION);
        let window_end = first_poll - delta(settings.lag);
        // The next window reaches back `overlap` from the newest event handed over, which
        // is at most `window_end`; half a minute of margin keeps the held events inside it.
        let catchable = window_end - delta(settings.overlap) + chrono::Duration::seconds(30);
        let late_ids: Vec<&str> = corpus
            .events()
            .iter()
            .rev()
            .filter(|e| e.at < window_end && e.at >= catchable)
            .take(LATE_EVENTS)
            .map(|e| e.id())
            .collect();
        let (late, initial): (Vec<_>, Vec<_>) = corpus
            .events()
            .iter()
            .partition(|e| late_ids.contains(&e.id()));
        let day_end = corpus.events().last().map_or(first_poll, |e| e.at);
        Script {
            initial: initial.into_iter().map(|e| e.event.clone()).collect(),
            late: late.into_iter().map(|e| e.event.clone()).collect(),
            first_poll,
            last_poll: day_end.max(first_poll) + delta(settings.lag) + chrono::Duration::minutes(5),
        }
    }
}

fn delta(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The clock the replay runs on: set to each poll's moment, so a day passes in seconds.
#[derive(Debug)]
struct ReplayClock(Mutex<DateTime<Utc>>);

impl ReplayClock {
    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }
}

impl Clock for ReplayClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// The poll and detect use cases wired to the simulator and the embedded stores.
struct Pipeline {
    poller: Poller,
    clock: Arc<ReplayClock>,
    alerts: Arc<SqliteAlertStore>,
    notifier: Arc<RecordingNotifier>,
    ops: Arc<OpsNotices>,
    /// Kept so the state directory lives as long as the stores.
    _state_dir: tempfile::TempDir,
}

impl Pipeline {
    async fn build(
        base_url: &str,
        settings: PollSettings,
        company: &Company,
    ) -> Result<Pipeline, CliError> {
        let state_dir =
            tempfile::tempdir().map_err(failed("cannot make a temporary state directory"))?;
        let db = Db::open_in(state_dir.path()).map_err(failed("cannot open the state database"))?;
        let cursors = SqliteCursorStore::new(db.clone()).map_err(failed("cursor store"))?;
        let alerts = Arc::new(SqliteAlertStore::new(db.clone()).map_err(failed("alert store"))?);
        let cache = SqliteEnrichmentCache::new(db.clone()).map_err(failed("enrichment cache"))?;
        let state = SqliteStateStore::new(db).map_err(failed("rule-state store"))?;

        let mut config = Config {
            addresses: demo_address_lists(company),
            ..Config::default()
        };
        let lists = crate::enrichment::prepare(&mut config).await?;
        let engine = jcwatch_detection::engine::build(&config)
            .map_err(|e| CliError::Failed(format!("the rule catalogue does not load: {e}")))?;
        let mut client =
            ClientConfig::new(Credential::ApiKey(Secret::new(DEMO_API_KEY.to_owned())));
        client.base_url = Some(base_url.to_owned());
        // Alerts name who each person is (the simulator serves the company's directory) and
        // what each address is (the lists below).
        let enricher =
            crate::enrichment::enricher(&config, &lists, Arc::new(cache), Some(&client))?;
        let clock = Arc::new(ReplayClock(Mutex::new(Utc::now())));
        let notifier = Arc::new(RecordingNotifier::new());
        let sink = DetectSink::new(
            Arc::new(engine),
            alerts.clone(),
            Arc::new(state),
            notifier.clone(),
            clock.clone(),
            config.notify.clone(),
        )
        .with_enricher(enricher);

        let client = Client::new(client).map_err(failed("the Directory Insights client"))?;
        let ops = Arc::new(OpsNotices::default());
        let poller = Poller::new(
            PollPorts {
                source: Arc::new(client),
                cursors: Arc::new(cursors),
                sink: Arc::new(sink),
                notifier: ops.clone(),
                clock: clock.clone(),
            },
            settings,
        );
        Ok(Pipeline {
            poller,
            clock,
            alerts,
            notifier,
            ops,
            _state_dir: state_dir,
        })
    }

    /// One poll of the key's own organisation; a failed poll fails the demo, with the
    /// operational notice if the poll sent one.
    async fn poll(&self) -> Result<PollRun, CliError> {
        let run = self
            .poller
            .run_until(&[None], None, &StopSignal::new())
            .await;
        for report in &run.orgs {
            if let OrgOutcome::Failed { error, .. } = &report.outcome {
                let notices = self.ops.0.lock().expect("ops lock").join("\n");
                return Err(CliError::Failed(format!(
                    "the demo's poll failed: {error}\n{notices}"
                )));
            }
        }
        Ok(run)
    }

    async fn alerts(&self) -> Result<Vec<Alert>, CliError> {
        let query = AlertQuery {
            limit: 10_000,
            ..AlertQuery::default()
        };
        let mut alerts = self
            .alerts
            .list(&query)
            .await
            .map_err(|e| CliError::Failed(format!("cannot read the alerts back: {e}")))?;
        alerts.sort_by(|a, b| (a.first_seen, &a.alert_id).cmp(&(b.first_seen, &b.alert_id)));
        Ok(alerts)
    }
}

/// The address lists a company like this one would configure: its offices, the phone
/// network its salespeople use, its integrations and build server, and the hosting ranges
/// nobody at the company works from.
fn demo_address_lists(company: &Company) -> BTreeMap<String, AddressListConfig> {
    let list = |nature: &str, label: &str, cidrs: Vec<String>| AddressListConfig {
        nature: nature.to_owned(),
        label: Some(label.to_owned()),
        cidrs,
        file: None,
        allow_in: Vec::new(),
        raise_severity: false,
    };
    let slash24 = |ip: &str| {
        let mut octets: Vec<&str> = ip.split('.').collect();
        octets.truncate(3);
        format!("{}.0/24", octets.join("."))
    };
    BTreeMap::from([
        (
            "offices".to_owned(),
            list(
                "corporate",
                "Larkfield office",
                vec![
                    company.london_office.ip.clone(),
                    company.manchester_office.ip.clone(),
                ],
            ),
        ),
        (
            "mobile".to_owned(),
            list("other", "mobile network", vec![slash24(&company.mobile.ip)]),
        ),
        (
            "integrations".to_owned(),
            list(
                "automation",
                "HR and payroll integrations",
                vec![
                    company.hr_sync.network.ip.clone(),
                    company.scim.network.ip.clone(),
                ],
            ),
        ),
        (
            "build".to_owned(),
            list(
                "automation",
                "build server",
                vec![company.build_server.ip.clone()],
            ),
        ),
        (
            "hosting".to_owned(),
            list(
                "cloud",
                "VPS hosting provider",
                vec![slash24(&key_network().ip), slash24(&attack_network().ip)],
            ),
        ),
    ])
}

/// Maps a setup error to a failure that says which part failed.
fn failed<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> CliError {
    move |e| CliError::Failed(format!("{what}: {e}"))
}

/// Operational notices from the poll (a rejected key, for one); the demo shows them if the
/// poll fails.
#[derive(Debug, Default)]
struct OpsNotices(Mutex<Vec<String>>);

#[async_trait]
impl Notifier for OpsNotices {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.0
            .lock()
            .expect("ops lock")
            .push(format!("{}\n{}", notification.subject, notification.text));
        Ok(())
    }
}

struct Summary<'a> {
    scenario: &'a Scenario,
    corpus: &'a Corpus,
    base_url: String,
    runs: [PollRun; 2],
    late: usize,
    elapsed: Duration,
}

/// The table output: what happened, the alerts, then each DUET as it would arrive.
fn report(summary: &Summary<'_>, alerts: &[Alert], notifications: &[Notification]) -> String {
    let mut out = String::new();
    let company = summary.scenario.company();
    out.push_str(&format!(
        "jcwatch demo: one day at Larkfield Analytics ({} people, {}), seed {}\n",
        company.people.len(),
        summary.scenario.start(),
        summary.scenario.seed()
    ));
    out.push_str(&format!(
        "  {} events served by the Directory Insights simulator at {}\n",
        summary.corpus.len() - summary.late,
        summary.base_url
    ));
    for (i, run) in summary.runs.iter().enumerate() {
        let (fetched, handed, pages, batches) = run.orgs.iter().fold((0, 0, 0, 0), |acc, r| {
            (
                acc.0 + r.fetched,
                acc.1 + r.handed_over,
                acc.2 + r.pages,
                acc.3 + r.batches,
            )
        });
        let label = if i == 0 {
            "poll 1 (mid-afternoon)"
        } else {
            "poll 2 (end of day)   "
        };
        out.push_str(&format!(
            "  {label}: {fetched} events fetched in {pages} page(s), {handed} handed to detection in {batches} batch(es)\n"
        ));
    }
    out.push_str(&format!(
        "  {} event(s) arrived late between the polls, stamped before the first poll's window \
         ended, and were still caught by the overlap\n",
        summary.late
    ));
    let duets = notifications
        .iter()
        .filter(|n| n.route == Route::Duet)
        .count();
    out.push_str(&format!(
        "  {} alert(s), {} notification(s) published ({duets} DUET), in {:.1}s\n\n",
        alerts.len(),
        notifications.len(),
        summary.elapsed.as_secs_f64()
    ));

    out.push_str("ALERTS\n");
    out.push_str(&present::table(alerts));
    out.push('\n');
    out.push_str(&scorecard(summary.corpus, alerts));
    out.push('\n');

    // In the order the activity happened (publishing follows the batches).
    let first_seen = |note: &Notification| {
        let id = note.chat["id"].as_str().unwrap_or_default();
        alerts
            .iter()
            .find(|a| a.alert_id == id)
            .map(|a| a.first_seen)
    };
    let mut duet_notes: Vec<&Notification> = notifications
        .iter()
        .filter(|n| n.route == Route::Duet)
        .collect();
    duet_notes.sort_by_key(|n| first_seen(n));
    if duet_notes.is_empty() {
        out.push_str("No DUET (\"did you expect this?\") notifications.\n");
        return out;
    }
    out.push_str(&format!(
        "DUET NOTIFICATIONS ({}): each goes to the person who can confirm it, by email and Slack\n",
        duet_notes.len()
    ));
    for (i, note) in duet_notes.iter().enumerate() {
        out.push_str(&format!(
            "\n=== DUET {} of {} ===\n",
            i + 1,
            duet_notes.len()
        ));
        out.push_str(&email_view(note));
        out.push('\n');
        out.push_str(&slack_view(&note.chat));
    }
    out
}

/// How the alerts compare with the script: the demo knows which events were the intrusion,
/// so it can say which attack steps were caught and whether anything ordinary was flagged.
fn scorecard(corpus: &Corpus, alerts: &[Alert]) -> String {
    let scored: Vec<ScoredAlert> = alerts
        .iter()
        .filter_map(|a| serde_json::to_value(a).ok())
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    let score = corpus.score(&scored);
    let steps = score.steps.len();
    let caught = steps - score.missed_steps().len();
    let mut out =
        String::from("AGAINST THE SCRIPT (the demo knows which events were the intrusion)\n");
    out.push_str(&format!("  intrusion steps caught: {caught} of {steps}\n"));
    for (area, (caught, total)) in score.recall_by_area() {
        out.push_str(&format!("    {:<46} {caught} of {total}\n", area.title()));
    }
    for step in score.missed_steps() {
        out.push_str(&format!("  missed: {}\n", step.as_str()));
    }
    out.push_str(&format!(
        "  alerts on ordinary activity: {}\n",
        score.false_positives.len()
    ));
    for miss in &score.false_positives {
        out.push_str(&format!("    {} on {:?}\n", miss.rule_id, miss.activities));
    }
    if !score.confirmable_duets.is_empty() {
        out.push_str(&format!(
            "  DUETs asking an admin to confirm a change they made: {}\n",
            score.confirmable_duets.len()
        ));
    }
    out
}

/// The notification as an email client shows it.
fn email_view(note: &Notification) -> String {
    let mut out = String::from("--- email ---\n");
    out.push_str(&format!("Subject: {}\n\n", note.subject));
    out.push_str(note.text.trim_end());
    out.push('\n');
    out
}

/// The Chatbot custom notification as Slack lays it out: the title in bold, the description,
/// then the next steps, inside a left bar.
fn slack_view(chat: &Value) -> String {
    let content = &chat["content"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut lines = vec![format!("*{}*", text(&content["title"]))];
    lines.extend(text(&content["description"]).lines().map(str::to_owned));
    if let Some(steps) = content["nextSteps"].as_array().filter(|s| !s.is_empty()) {
        lines.push("Next steps:".into());
        lines.extend(steps.iter().map(|s| format!("  • {}", text(s))));
    }
    if let Some(keywords) = content["keywords"].as_array() {
        let tags: Vec<String> = keywords.iter().map(|k| format!("`{}`", text(k))).collect();
        lines.push(tags.join(" "));
    }
    let mut out = String::from("--- slack ---\n");
    for line in lines {
        out.push_str("┃ ");
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 9).unwrap()
    }

    #[test]
    fn the_late_events_fall_inside_the_second_polls_reach_and_nothing_is_lost() {
        let scenario = Scenario::new(7, monday());
        let corpus = scenario.demo_day();
        let settings = poll_settings();

        let script = Script::plan(&corpus, scenario.intrusion_time(0), &settings);

        assert_eq!(script.late.len(), LATE_EVENTS);
        assert_eq!(script.initial.len() + script.late.len(), corpus.len());
        let window_end = script.first_poll - delta(settings.lag);
        for event in &script.late {
            let at = jcwatch_model::Event::from_value(event.clone())
                .unwrap()
                .timestamp;
            assert!(
                at < window_end,
                "late event {at} is inside the first window"
            );
            assert!(
                at >= window_end - delta(settings.overlap),
                "late event {at} is beyond the overlap"
            );
        }
        assert!(script.last_poll > corpus.events().last().unwrap().at + delta(settings.lag));
    }

    #[test]
    fn the_default_day_is_the_last_weekday_before_today() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();

        assert_eq!(
            last_working_day_before(day("2025-06-11")),
            day("2025-06-10")
        );
        assert_eq!(
            last_working_day_before(day("2025-06-09")),
            day("2025-06-06")
        );
        assert_eq!(
            last_working_day_before(day("2025-06-08")),
            day("2025-06-06")
        );
    }

    #[test]
    fn the_slack_view_shows_title_description_and_next_steps() {
        let chat = serde_json::json!({
            "content": {"title": "[HIGH] Did you expect this? Admin created",
                        "description": "Who: a\nFrom: b",
                        "nextSteps": ["Ask them"], "keywords": ["high", "duet"]}
        });

        let view = slack_view(&chat);

        assert!(view.contains("┃ *[HIGH] Did you expect this? Admin created*"));
        assert!(view.contains("┃ From: b"));
        assert!(view.contains("┃   • Ask them"));
        assert!(view.contains("`duet`"));
    }
}
