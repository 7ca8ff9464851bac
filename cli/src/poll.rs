//! `jcwatch poll`: the poll use case against the real Directory Insights API, with the cursor
//! kept in the local state database so repeated runs continue where the last one stopped, and
//! every newly handed-over event appended once to `--events-out`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use clap::{ArgGroup, Args, ValueEnum};
use jcwatch_core::poll::window::{delta, resume_point};
use jcwatch_core::poll::{
    ErrorCategory, FanOutSink, OrgOutcome, OrgReport, PollPorts, PollRun, PollSettings, Poller,
    StopSignal,
};
use jcwatch_core::ports::{Notification, Notifier, NotifyError, SystemClock};
use jcwatch_detection::config::Config;
use jcwatch_detection::enrich::AddressLists;
use jcwatch_detection::memory::RecordingNotifier;
use jcwatch_detection::present;
use jcwatch_detection::sink::DetectSink;
use jcwatch_dirinsights::{Client, ClientConfig, Credential, Region, Secret};
use jcwatch_local::{
    Db, EventsFileSink, SqliteAlertStore, SqliteCursorStore, SqliteEnrichmentCache,
    SqliteStateStore,
};
use jcwatch_model::time::{format_duration, format_timestamp, parse_duration};
use tokio::sync::Notify;
use tracing::warn;

use crate::error::CliError;

/// The environment variables that hold the credential.
pub(crate) const ENV_API_KEY: &str = "JC_API_KEY";
pub(crate) const ENV_CLIENT_ID: &str = "JC_CLIENT_ID";
pub(crate) const ENV_CLIENT_SECRET: &str = "JC_CLIENT_SECRET";

/// How long the events file remembers ids beyond the oldest point any cursor can re-read.
const FORGET_MARGIN: TimeDelta = TimeDelta::days(1);

/// Poll Directory Insights, once or continuously.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("mode").required(true).args(["once", "follow"])))]
pub struct PollArgs {
    /// Poll once and exit.
    #[arg(long)]
    once: bool,

    /// Poll every --interval until Ctrl-C.
    #[arg(long)]
    follow: bool,

    /// API base URL, overriding --region (a proxy or a local simulator).
    #[arg(long, value_name = "URL", conflicts_with = "region")]
    base_url: Option<String>,

    /// JumpCloud region whose API host serves the organisation [default: us].
    #[arg(long, value_name = "us|eu|in", value_parser = parse_region)]
    region: Option<Region>,

    /// Organisation to poll; repeat for several (MSP keys). Default: the key's own.
    #[arg(long = "org", value_name = "ORG_ID")]
    orgs: Vec<String>,

    /// State directory [default: $XDG_STATE_HOME/jcwatch or ~/.local/state/jcwatch].
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,

    /// How far back an organisation's first run reads.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration_arg)]
    since: Duration,

    /// How long events may take to reach Directory Insights; windows end this long ago.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration_arg)]
    lag: Duration,

    /// How far each window reaches back over the last one, for late events.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration_arg)]
    overlap: Duration,

    /// Time between polls with --follow.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_duration_arg)]
    interval: Duration,

    /// Append every newly handed-over event to FILE, once, as one JSON line.
    #[arg(long, value_name = "FILE")]
    events_out: Option<PathBuf>,

    /// Where events that cannot be handed over (malformed, too large) are kept, once each
    /// [default: NAME.rejects.jsonl beside --events-out].
    #[arg(long, value_name = "FILE", requires = "events_out")]
    rejects_out: Option<PathBuf>,

    /// Output: a table, or one JSON object per organisation and poll.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,

    /// The TOML configuration for detection [default: the built-in defaults].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Jsonl,
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

fn parse_region(text: &str) -> Result<Region, String> {
    text.parse::<Region>().map_err(|e| e.to_string())
}

/// Runs the command.
pub async fn run(args: PollArgs) -> Result<ExitCode, CliError> {
    let env = |name: &str| std::env::var(name).ok();
    let mut setup = Setup::from_args(&args, env)?;
    setup.lists = crate::enrichment::prepare(&mut setup.detection).await?;
    let poller = setup.poller()?;
    let stop = StopSignal::new();
    let wake = Arc::new(Notify::new());
    watch_ctrl_c(stop.clone(), wake.clone());

    if args.once {
        let run = poller.run_until(&setup.orgs, None, &stop).await;
        setup.after_round(&run).await;
        print_run(&run, args.format, &setup);
        setup.print_alerts(args.format).await;
        if stop.is_stopped() {
            return Ok(ExitCode::from(130));
        }
        return outcome_of(&run).map(|()| ExitCode::SUCCESS);
    }

    loop {
        let run = poller.run_until(&setup.orgs, None, &stop).await;
        setup.after_round(&run).await;
        print_run(&run, args.format, &setup);
        setup.print_alerts(args.format).await;
        match outcome_of(&run) {
            Err(err @ (CliError::Fatal(_) | CliError::Usage(_))) => return Err(err),
            // An outage may pass: say so and try again next round.
            Err(err) => eprintln!(
                "error: {err}; polling again in {}",
                format_duration(args.interval)
            ),
            Ok(()) => {}
        }
        if stop.is_stopped() {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::time::sleep(args.interval) => {}
            _ = wake.notified() => return Ok(ExitCode::SUCCESS),
        }
    }
}

/// The first Ctrl-C asks the poll to stop after the page in hand (the cursor stays
/// consistent); a second one quits at once, which is still safe (nothing is lost or repeated:
/// see the events file's recovery), only less tidy.
fn watch_ctrl_c(stop: StopSignal, wake: Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            if stop.is_stopped() {
                eprintln!("jcwatch: stopping now");
                std::process::exit(130);
            }
            eprintln!("jcwatch: stopping after the current page (Ctrl-C again to quit now)");
            stop.stop();
            wake.notify_one();
        }
    });
}

/// Everything the command line and environment decided, checked before any request.
struct Setup {
    orgs: Vec<Option<String>>,
    state_dir: PathBuf,
    client: ClientConfig,
    settings: PollSettings,
    events_out: Option<PathBuf>,
    rejects_out: Option<PathBuf>,
    /// Set once the sink is built.
    sink: std::sync::OnceLock<Option<EventsFileSink>>,
    cursors: std::sync::OnceLock<SqliteCursorStore>,
    /// Detection runs on every batch the poll hands over.
    detection: Config,
    detect: std::sync::OnceLock<Arc<DetectSink>>,
    /// The configuration's address lists, loaded before the first poll.
    lists: AddressLists,
}

impl Setup {
    fn from_args(args: &PollArgs, env: impl Fn(&str) -> Option<String>) -> Result<Self, CliError> {
        let mut problems = Vec::new();

        let detection = Config::load(args.config.as_deref()).unwrap_or_else(|e| {
            problems.push(e.to_string());
            Config::default()
        });

        let credential = match credential_from(&env) {
            Ok(c) => Some(c),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        if matches!(credential, Some(Credential::ServiceAccount { .. })) && args.orgs.is_empty() {
            problems.push(format!(
                "a service account ({ENV_CLIENT_ID}/{ENV_CLIENT_SECRET}) must name the \
                 organisation: add --org ORG_ID"
            ));
        }
        for org in &args.orgs {
            if org.trim().is_empty() || org.chars().any(|c| c.is_control() || c.is_whitespace()) {
                problems.push(format!("--org {org:?} is not an organisation id"));
            }
        }
        if args.follow && args.interval.is_zero() {
            problems.push("--interval must be longer than 0s".to_owned());
        }
        let state_dir = match state_dir(args.state.as_deref(), &env) {
            Ok(dir) => Some(dir),
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        let (Some(credential), Some(state_dir), true) =
            (credential, state_dir, problems.is_empty())
        else {
            return Err(CliError::Usage(problems.join("\n       ")));
        };

        let mut client = ClientConfig::new(credential);
        client.region = args.region.unwrap_or_default();
        client.base_url = args.base_url.clone();
        let settings = PollSettings {
            lag: args.lag,
            overlap: args.overlap,
            backfill: args.since,
            ..PollSettings::default()
        };
        let rejects_out = args
            .rejects_out
            .clone()
            .or_else(|| args.events_out.as_deref().map(default_rejects_path));
        let mut orgs: Vec<Option<String>> = args
            .orgs
            .iter()
            .map(|o| Some(o.trim().to_owned()))
            .collect();
        if orgs.is_empty() {
            orgs.push(None);
        }

        Ok(Setup {
            orgs,
            state_dir,
            client,
            settings,
            events_out: args.events_out.clone(),
            rejects_out,
            sink: std::sync::OnceLock::new(),
            cursors: std::sync::OnceLock::new(),
            detection,
            detect: std::sync::OnceLock::new(),
            lists: AddressLists::default(),
        })
    }

    /// Builds the client, opens the state database and the events file, and wires the poll.
    fn poller(&self) -> Result<Poller, CliError> {
        let client = Client::new(self.client.clone())
            .map_err(|e| CliError::Usage(format!("bad Directory Insights settings: {e}")))?;
        let db = Db::open_in(&self.state_dir).map_err(|e| CliError::Failed(e.to_string()))?;
        let cursors =
            SqliteCursorStore::new(db.clone()).map_err(|e| CliError::Failed(e.to_string()))?;

        let db_for_detection = db.clone();
        let mut sink = FanOutSink::default();
        let events = match &self.events_out {
            Some(path) => {
                let events = EventsFileSink::open(db, path, self.rejects_out.as_deref())
                    .map_err(|e| CliError::Failed(e.to_string()))?;
                sink.push(Arc::new(events.clone()));
                Some(events)
            }
            None => {
                warn!(
                    "no --events-out: events are counted but not kept, and the cursor still moves past them"
                );
                None
            }
        };
        let _ = self.sink.set(events);
        let _ = self.cursors.set(cursors.clone());

        let detect = Arc::new(self.detect_sink(db_for_detection)?);
        sink.push(detect.clone());
        let _ = self.detect.set(detect);

        Ok(Poller::new(
            PollPorts {
                source: Arc::new(client),
                cursors: Arc::new(cursors),
                sink: Arc::new(sink),
                notifier: Arc::new(StderrNotifier),
                clock: Arc::new(SystemClock),
            },
            self.settings.clone(),
        ))
    }

    /// Detection over the state database: alerts, rule state and the enrichment cache beside
    /// the cursors; people are looked up with the poll's own credential.
    fn detect_sink(&self, db: Db) -> Result<DetectSink, CliError> {
        let engine = jcwatch_detection::engine::build(&self.detection)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let failed = |e: jcwatch_local::LocalError| CliError::Failed(e.to_string());
        let enricher = crate::enrichment::enricher(
            &self.detection,
            &self.lists,
            Arc::new(SqliteEnrichmentCache::new(db.clone()).map_err(failed)?),
            Some(&self.client),
        )?;
        Ok(DetectSink::new(
            Arc::new(engine),
            Arc::new(SqliteAlertStore::new(db.clone()).map_err(failed)?),
            Arc::new(SqliteStateStore::new(db).map_err(failed)?),
            Arc::new(RecordingNotifier::new()),
            Arc::new(SystemClock),
            self.detection.notify.clone(),
        )
        .with_enricher(enricher))
    }

    /// Prints the alerts this round raised or extended, the way `jcwatch scan` does.
    async fn print_alerts(&self, format: Format) {
        let Some(detect) = self.detect.get() else {
            return;
        };
        let alerts = match detect.take_touched_alerts().await {
            Ok(alerts) => alerts,
            Err(e) => {
                warn!(error = %e, "could not read back this round's alerts");
                return;
            }
        };
        let text = match format {
            Format::Jsonl => alerts
                .iter()
                .map(|a| present::json_line(a) + "\n")
                .collect(),
            Format::Table if alerts.is_empty() => String::new(),
            Format::Table => present::table(&alerts),
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn events_sink(&self) -> Option<&EventsFileSink> {
        self.sink.get().and_then(Option::as_ref)
    }

    /// Housekeeping after each poll: the events file forgets ids no cursor can fetch again.
    async fn after_round(&self, _run: &PollRun) {
        let (Some(sink), Some(cursors)) = (self.events_sink(), self.cursors.get()) else {
            return;
        };
        let Some(horizon) = forget_horizon(cursors, self.settings.overlap).await else {
            return;
        };
        if let Err(err) = sink.forget_before(horizon).await {
            warn!(error = %err, "could not trim the record of written events; it only grows");
        }
    }
}

/// The oldest time any stored cursor can still fetch, less a margin; ids of events before it
/// can be forgotten. `None` when no cursor has a position yet.
async fn forget_horizon(cursors: &SqliteCursorStore, overlap: Duration) -> Option<DateTime<Utc>> {
    let all = cursors.list().await.ok()?;
    all.iter()
        .filter_map(resume_point)
        .min()
        .map(|oldest| oldest - delta(overlap) - FORGET_MARGIN)
}

/// `events.jsonl` → `events.rejects.jsonl` in the same directory.
fn default_rejects_path(events: &Path) -> PathBuf {
    let stem = events
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "events".to_owned());
    events.with_file_name(format!("{stem}.rejects.jsonl"))
}

/// The credential from the environment: an API key, or a service account's id and secret.
pub(crate) fn credential_from(env: &impl Fn(&str) -> Option<String>) -> Result<Credential, String> {
    let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(key) = get(ENV_API_KEY) {
        return Ok(Credential::ApiKey(Secret::new(key)));
    }
    match (get(ENV_CLIENT_ID), get(ENV_CLIENT_SECRET)) {
        (Some(client_id), Some(secret)) => Ok(Credential::ServiceAccount {
            client_id: client_id.trim().to_owned(),
            client_secret: Secret::new(secret),
        }),
        (Some(_), None) => Err(format!(
            "{ENV_CLIENT_ID} is set but {ENV_CLIENT_SECRET} is not"
        )),
        (None, Some(_)) => Err(format!(
            "{ENV_CLIENT_SECRET} is set but {ENV_CLIENT_ID} is not"
        )),
        (None, None) => Err(format!(
            "no JumpCloud credential: set {ENV_API_KEY} to an administrator's API key, or \
             {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} to a service account's"
        )),
    }
}

/// `--state`, else `$XDG_STATE_HOME/jcwatch`, else `~/.local/state/jcwatch`.
fn state_dir(
    flag: Option<&Path>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<PathBuf, String> {
    if let Some(dir) = flag {
        return Ok(dir.to_owned());
    }
    // The XDG specification says to ignore a relative value.
    if let Some(xdg) = env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return Ok(xdg.join("jcwatch"));
    }
    match env("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/state/jcwatch")),
        None => Err(
            "no state directory: HOME and XDG_STATE_HOME are unset; pass --state DIR".to_owned(),
        ),
    }
}

/// The command's result from the per-organisation outcomes: a fatal answer (auth, a request
/// the API refuses) outranks an outage.
fn outcome_of(run: &PollRun) -> Result<(), CliError> {
    let failures: Vec<&str> = run
        .orgs
        .iter()
        .filter_map(|r| match &r.outcome {
            OrgOutcome::Failed { error, .. } => Some(error.as_str()),
            _ => None,
        })
        .collect();
    let message = failures.join("\n       ");
    match run.worst_failure() {
        None => Ok(()),
        Some((ErrorCategory::Fatal | ErrorCategory::BadInput, _)) => Err(CliError::Fatal(message)),
        Some((ErrorCategory::Retryable, _)) => Err(CliError::Failed(message)),
    }
}

fn print_run(run: &PollRun, format: Format, setup: &Setup) {
    let mut out = std::io::stdout().lock();
    let text = match format {
        Format::Jsonl => run
            .orgs
            .iter()
            .filter_map(|r| serde_json::to_string(r).ok())
            .map(|line| line + "\n")
            .collect::<String>(),
        Format::Table => {
            let mut text = table(&run.orgs);
            if let Some(sink) = setup.events_sink() {
                text.push_str(&format!(
                    "{} new events written to {}",
                    sink.written(),
                    sink.events_file().path().display()
                ));
                if sink.rejected() > 0 {
                    let rejects = sink.rejects_file().map(|f| f.path().display().to_string());
                    text.push_str(&format!(
                        "; {} rejected events kept in {}",
                        sink.rejected(),
                        rejects.unwrap_or_default()
                    ));
                }
                text.push('\n');
            }
            text
        }
    };
    // A closed pipe (`| head`) is not worth a panic.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// One row per organisation with its counts.
fn table(reports: &[OrgReport]) -> String {
    let header = [
        "ORG",
        "STATUS",
        "PAGES",
        "FETCHED",
        "HANDED",
        "DUPES",
        "MALFORMED",
        "OVERSIZE",
        "CURSOR",
        "LAG",
    ];
    let rows: Vec<[String; 10]> = reports
        .iter()
        .map(|r| {
            [
                r.org_label().to_owned(),
                r.outcome.name().to_owned(),
                r.pages.to_string(),
                r.fetched.to_string(),
                r.handed_over.to_string(),
                r.duplicates.to_string(),
                r.malformed.to_string(),
                r.oversize.to_string(),
                r.cursor_after
                    .map(format_timestamp)
                    .unwrap_or_else(|| "-".into()),
                r.lag
                    .map(|l| format_duration(Duration::from_secs(l.as_secs())))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut text = line(header.to_vec());
    for row in &rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

/// The CLI's notifier: an operational notice goes to standard error, where the person running
/// the command reads it (standard output stays the command's result).
struct StderrNotifier;

#[async_trait]
impl Notifier for StderrNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        let text = format!(
            "[{} {}] {}\n{}\n",
            notification.route, notification.severity, notification.subject, notification.text
        );
        std::io::stderr()
            .write_all(text.as_bytes())
            .map_err(|e| NotifyError {
                rule_id: notification.rule_id.clone(),
                detail: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use jcwatch_core::poll::{DEFAULT_LAG, DEFAULT_OVERLAP};
    use std::collections::HashMap;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: PollArgs,
    }

    fn parse(args: &[&str]) -> Result<PollArgs, clap::Error> {
        Wrapper::try_parse_from(std::iter::once("poll").chain(args.iter().copied())).map(|w| w.args)
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn once_or_follow_is_required_and_they_exclude_each_other() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["--once", "--follow"]).is_err());
        assert!(parse(&["--once"]).is_ok());
    }

    #[test]
    fn durations_read_like_people_write_them_and_bad_ones_are_named() {
        let args = parse(&[
            "--once",
            "--since",
            "90s",
            "--lag",
            "10m",
            "--overlap",
            "24h",
        ])
        .unwrap();

        assert_eq!(args.since, Duration::from_secs(90));
        assert_eq!(args.lag, Duration::from_secs(600));
        assert_eq!(args.overlap, Duration::from_secs(86_400));
        let err = parse(&["--once", "--lag", "ten minutes"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--lag"), "{err}");
    }

    #[test]
    fn the_flag_defaults_match_the_poll_defaults() {
        let args = parse(&["--once"]).unwrap();

        assert_eq!(args.lag, DEFAULT_LAG);
        assert_eq!(args.overlap, DEFAULT_OVERLAP);
    }

    #[test]
    fn base_url_and_region_exclude_each_other_and_a_bad_region_is_named() {
        assert!(parse(&["--once", "--base-url", "http://x", "--region", "eu"]).is_err());
        let err = parse(&["--once", "--region", "mars"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mars") && err.contains("us, eu or in"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_key_names_the_environment_variables() {
        let args = parse(&["--once", "--state", "/tmp/x"]).unwrap();

        let Err(CliError::Usage(message)) = Setup::from_args(&args, env(&[])) else {
            panic!("expected a usage error");
        };

        assert!(message.contains("JC_API_KEY"), "{message}");
        assert!(message.contains("JC_CLIENT_ID") && message.contains("JC_CLIENT_SECRET"));
    }

    #[test]
    fn a_half_configured_service_account_and_a_missing_org_are_both_reported() {
        let only_id = parse(&["--once", "--state", "/tmp/x"]).unwrap();
        let no_org = parse(&["--once", "--state", "/tmp/x"]).unwrap();

        let half = Setup::from_args(&only_id, env(&[("JC_CLIENT_ID", "id")]))
            .err()
            .unwrap();
        let missing_org = Setup::from_args(
            &no_org,
            env(&[("JC_CLIENT_ID", "id"), ("JC_CLIENT_SECRET", "s3cr3t-value")]),
        )
        .err()
        .unwrap();

        assert!(
            half.to_string().contains("JC_CLIENT_SECRET is not"),
            "{half}"
        );
        assert!(missing_org.to_string().contains("--org"), "{missing_org}");
        assert!(!missing_org.to_string().contains("s3cr3t-value"));
    }

    #[test]
    fn the_state_directory_follows_the_flag_then_xdg_then_home() {
        let flag = state_dir(Some(Path::new("/s")), &env(&[("HOME", "/h")])).unwrap();
        let xdg = state_dir(None, &env(&[("XDG_STATE_HOME", "/x"), ("HOME", "/h")])).unwrap();
        let relative_xdg =
            state_dir(None, &env(&[("XDG_STATE_HOME", "x"), ("HOME", "/h")])).unwrap();
        let home = state_dir(None, &env(&[("HOME", "/h")])).unwrap();

        assert_eq!(flag, PathBuf::from("/s"));
        assert_eq!(xdg, PathBuf::from("/x/jcwatch"));
        assert_eq!(relative_xdg, PathBuf::from("/h/.local/state/jcwatch"));
        assert_eq!(home, PathBuf::from("/h/.local/state/jcwatch"));
        assert!(state_dir(None, &env(&[])).unwrap_err().contains("--state"));
    }

    #[test]
    fn the_rejects_file_sits_beside_the_events_file() {
        assert_eq!(
            default_rejects_path(Path::new("/out/events.jsonl")),
            PathBuf::from("/out/events.rejects.jsonl")
        );
    }

    #[test]
    fn the_table_has_one_row_per_organisation() {
        let mut a = OrgReport::new(Some("org-a".into()));
        a.fetched = 12;
        a.handed_over = 10;
        let mut b = OrgReport::new(None);
        b.outcome = OrgOutcome::Conflict;

        let text = table(&[a, b]);

        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ORG"));
        assert!(
            lines[1].starts_with("org-a") && lines[1].contains("12") && lines[1].contains("10")
        );
        assert!(lines[2].starts_with("(own)") && lines[2].contains("conflict"));
    }
}
