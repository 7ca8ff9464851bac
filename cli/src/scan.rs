//! `jcwatch scan`: the rules over exported events. Reads JSON arrays or JSON lines from files
//! or standard input, in any order (the engine orders them by time), reports each malformed
//! event on standard error with where it was, and prints the alerts.
//!
//! Alerts are enriched before they are printed: the configuration's address lists, each
//! person's other events in the files, and, when a JumpCloud credential is in the environment
//! (`JC_API_KEY`, or `JC_CLIENT_ID` and `JC_CLIENT_SECRET`; `JC_REGION` or `JC_BASE_URL`
//! choose the host), who each person is from JumpCloud's directory.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use jcwatch_detection::config::Config;
use jcwatch_detection::enrich::{Enricher, MemoryCache};
use jcwatch_detection::escape::clean_line;
use jcwatch_detection::export::parse_export;
use jcwatch_detection::{engine, present};
use jcwatch_dirinsights::{ClientConfig, Region};
use jcwatch_model::{Alert, Event};

use crate::error::CliError;
use crate::poll::{ENV_API_KEY, ENV_CLIENT_ID, ENV_CLIENT_SECRET, credential_from};

/// Run the detection rules over exported events and print the alerts.
///
/// Alerts say what each source address is (from the configuration's address lists) and what
/// else the person did in the files. With a JumpCloud credential in the environment
/// (JC_API_KEY, or JC_CLIENT_ID and JC_CLIENT_SECRET; JC_REGION or JC_BASE_URL for the host)
/// they also name each person's job title, department, manager and groups.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files of exported events (a JSON array or JSON lines); `-` or none reads standard input.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// The TOML configuration [default: the built-in defaults].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Output: a table, or one JSON object per alert.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Jsonl,
}

pub async fn run(args: ScanArgs) -> Result<ExitCode, CliError> {
    let mut config =
        Config::load(args.config.as_deref()).map_err(|e| CliError::Usage(e.to_string()))?;
    let lists = crate::enrichment::prepare(&mut config).await?;
    let rules = engine::build(&config).map_err(|e| CliError::Usage(e.to_string()))?;
    let enricher = crate::enrichment::enricher(
        &config,
        &lists,
        Arc::new(MemoryCache::new()),
        jumpcloud_from_env(&|name| std::env::var(name).ok())?.as_ref(),
    )?;

    let sources = if args.paths.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.paths.clone()
    };
    let mut events = Vec::new();
    let mut malformed = 0usize;
    let mut unreadable = Vec::new();
    let mut stderr = std::io::stderr().lock();
    for source in &sources {
        let (origin, text) = read_source(source)?;
        let export = parse_export(&text, &origin);
        for problem in &export.problems {
            // Problems quote the input, which may hold terminal control sequences.
            let _ = writeln!(stderr, "skipped: {}", clean_line(problem, 500));
        }
        malformed += export.problems.len();
        if export.unreadable {
            unreadable.push(origin);
        }
        events.extend(export.events);
    }
    let total = events.len();

    let parsed = events.clone();
    let mut alerts = rules.engine().scan(events);
    enrich(&enricher, &parsed, &mut alerts).await;

    let text = match args.format {
        Format::Table => present::table(&alerts),
        Format::Jsonl => alerts
            .iter()
            .map(|a| present::json_line(a) + "\n")
            .collect(),
    };
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not worth a panic.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    let _ = writeln!(
        stderr,
        "scanned {total} events, skipped {malformed} malformed, {} alert{}",
        alerts.len(),
        if alerts.len() == 1 { "" } else { "s" }
    );

    if !unreadable.is_empty() {
        return Err(CliError::Failed(format!(
            "could not read events from {}",
            unreadable.join(", ")
        )));
    }
    Ok(ExitCode::SUCCESS)
}

/// Alerts enriched a few at a time, so each group gets the whole look-up budget and the
/// per-batch bound on people.
const ALERTS_PER_ENRICHMENT: usize = 10;

async fn enrich(enricher: &Enricher, events: &[Event], alerts: &mut [Alert]) {
    let now = chrono::Utc::now();
    for group in alerts.chunks_mut(ALERTS_PER_ENRICHMENT) {
        enricher.enrich(None, events, group, now).await;
    }
}

/// JumpCloud settings from the environment: `None` when no credential variable is set.
fn jumpcloud_from_env(
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<ClientConfig>, CliError> {
    let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
    if ![ENV_API_KEY, ENV_CLIENT_ID, ENV_CLIENT_SECRET]
        .iter()
        .any(|name| set(name))
    {
        return Ok(None);
    }
    let credential = credential_from(env).map_err(CliError::Usage)?;
    let mut settings = ClientConfig::new(credential);
    if let Some(region) = env("JC_REGION").filter(|v| !v.trim().is_empty()) {
        settings.region = region
            .parse::<Region>()
            .map_err(|e| CliError::Usage(format!("JC_REGION: {e}")))?;
    }
    settings.base_url = env("JC_BASE_URL").filter(|v| !v.trim().is_empty());
    Ok(Some(settings))
}

fn read_source(path: &PathBuf) -> Result<(String, String), CliError> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Failed(format!("reading standard input: {e}")))?;
        return Ok(("stdin".to_string(), text));
    }
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CliError::Failed(format!("{origin}: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::Failed(format!("{origin}: not UTF-8 text")))?;
    Ok((origin, text))
}
