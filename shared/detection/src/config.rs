//! The one configuration file of jcwatch, read by both Lambdas and the CLI.
//!
//! ```toml
//! [poll]       # the poll window: lag, overlap, first-run backfill, ops notice interval
//! [detection]  # rules: enabled, knobs, severity and route overrides, allow-lists, suppression
//! [notify]     # which routes and severities are published (DUETs always are)
//! [enrichment] # the time and look-ups one batch may spend on context
//! [addresses.<name>]  # named address lists: corporate, VPN, cloud, anonymising ranges
//! ```
//!
//! Unknown keys are errors at every level, and a bad file is rejected with every problem
//! named by its key path, not only the first: the document is deserialised, the offending
//! key is noted and taken out, and deserialisation runs again until it succeeds; then the
//! values are checked against each other and against the rule catalogue. With no file, the
//! embedded defaults apply ([`Config::default`]).
//!
//! The `[enrichment]` and `[addresses]` sections are described in [`crate::enrich::settings`];
//! address-list files are read by [`crate::enrich::load_address_lists`] once per cold start.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use jcwatch_model::Severity;
use jcwatch_model::time::{format_duration, parse_duration};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::enrich::settings::{AddressListConfig, EnrichmentConfig};
pub use jcwatch_rules::DetectionConfig;

/// Most problems listed from one file; past this the file is probably not a jcwatch config.
const MAX_ERRORS: usize = 100;

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub poll: PollConfig,
    pub detection: DetectionConfig,
    pub notify: NotifyConfig,
    pub enrichment: EnrichmentConfig,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub addresses: BTreeMap<String, AddressListConfig>,
}

/// `[poll]`: the poll window `[high-water - overlap, now - lag)` and what the poll does on
/// its first run and on an authentication failure. Environment variables of the poll
/// Lambda (`POLL_LAG`, `POLL_OVERLAP`, `POLL_BACKFILL`) and CLI flags override these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollConfig {
    /// How far behind now the window ends, so events still being indexed are not missed.
    pub lag: Span,
    /// How far below the high-water mark the next window starts, to catch late arrivals.
    pub overlap: Span,
    /// How far back the first run of an organisation reads.
    pub backfill: Span,
    /// Least time between two operational notices for one organisation.
    pub ops_notice_interval: Span,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            lag: Span::minutes(2),
            overlap: Span::minutes(5),
            backfill: Span::minutes(24 * 60),
            ops_notice_interval: Span::minutes(6 * 60),
        }
    }
}

/// `[notify]`: which alerts are published. DUETs always are: the person who can confirm
/// them is the only one who can, so they cannot be turned off here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Least severity published on the `alert` route, or `"off"`.
    pub alert: Threshold,
    /// Least severity published on the `ops` route, or `"off"`.
    pub ops: Threshold,
    /// Who a person answers a DUET to, shown in the notification (an address or channel).
    pub contact: Option<String>,
    /// Most earlier un-notified alerts one detect run publishes again.
    pub retry_per_run: usize,
    /// How long a run holds its claim on an alert it is publishing, so that a concurrent
    /// run does not send it too; after this a crashed run's alert is retried.
    pub claim: Span,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            alert: Threshold::AtLeast(Severity::Medium),
            ops: Threshold::AtLeast(Severity::Info),
            contact: None,
            retry_per_run: 25,
            claim: Span::minutes(5),
        }
    }
}

impl NotifyConfig {
    /// Whether an alert of this route and severity is published.
    pub fn notifies(&self, route: jcwatch_model::Route, severity: Severity) -> bool {
        use jcwatch_model::Route;
        let threshold = match route {
            Route::Duet => return true,
            Route::Alert => self.alert,
            Route::Ops => self.ops,
        };
        match threshold {
            Threshold::Off => false,
            Threshold::AtLeast(least) => severity >= least,
        }
    }
}

/// A severity threshold, written as a severity name or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold {
    Off,
    AtLeast(Severity),
}

impl FromStr for Threshold {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("off") {
            return Ok(Threshold::Off);
        }
        s.parse::<Severity>()
            .map(Threshold::AtLeast)
            .map_err(|e| format!("{e}, or off"))
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Off => f.write_str("off"),
            Threshold::AtLeast(s) => f.write_str(s.as_str()),
        }
    }
}

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A duration written like `90s`, `10m`, `24h` or `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl Span {
    pub const fn minutes(n: u64) -> Self {
        Span(Duration::from_secs(n * 60))
    }

    pub fn as_duration(self) -> Duration {
        self.0
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(Span)
            .map_err(serde::de::Error::custom)
    }
}

/// One problem with the configuration, at a key path like `detection.rules.x.threshold`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted key path; empty for the file as a whole.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// Where the text came from (a path, an S3 URL, `embedded defaults`).
    pub origin: String,
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "configuration {} has {n} problem{}:",
            self.origin,
            if n == 1 { "" } else { "s" }
        )?;
        for error in &self.errors {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

impl Config {
    /// Reads a configuration from TOML text, reporting every problem at once.
    pub fn from_toml(text: &str) -> Result<Config, ConfigErrors> {
        Self::from_toml_named(text, "text")
    }

    /// Reads a configuration file; `None` gives the embedded defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigErrors> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            origin: origin.clone(),
            errors: vec![ConfigError {
                path: String::new(),
                message: format!("cannot be read: {e}"),
            }],
        })?;
        Self::from_toml_named(&text, &origin)
    }

    /// As [`Config::from_toml`], naming where the text came from in the error.
    pub fn from_toml_named(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
        let fail = |errors| ConfigErrors {
            origin: origin.to_string(),
            errors,
        };

        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            fail(vec![ConfigError {
                path: String::new(),
                message: format!("is not valid TOML: {}", e.to_string().trim()),
            }])
        })?;

        let (config, mut errors) = deserialize_all(toml::Value::Table(table));
        if let Some(config) = &config {
            errors.extend(config.check());
        }
        match config {
            Some(config) if errors.is_empty() => Ok(config),
            _ => Err(fail(errors)),
        }
    }

    /// Checks values against each other and against the rule catalogue.
    fn check(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut bad = |path: &str, message: String| {
            errors.push(ConfigError {
                path: path.to_string(),
                message,
            })
        };

        let poll = &self.poll;
        if poll.overlap.0.is_zero() {
            bad(
                "poll.overlap",
                "must be more than zero, or events arriving late are missed".into(),
            );
        }
        if poll.lag.0 > Duration::from_secs(3_600) {
            bad("poll.lag", "must be at most 1h".into());
        }
        if poll.backfill.0 > Duration::from_secs(90 * 86_400) {
            bad(
                "poll.backfill",
                "must be at most 90d (Directory Insights keeps 90 days)".into(),
            );
        }
        if poll.ops_notice_interval.0 < Duration::from_secs(60) {
            bad("poll.ops_notice_interval", "must be at least 1m".into());
        }

        let notify = &self.notify;
        if !(1..=500).contains(&notify.retry_per_run) {
            bad(
                "notify.retry_per_run",
                format!("{} is outside 1..=500", notify.retry_per_run),
            );
        }
        if notify.claim.0 < Duration::from_secs(30) || notify.claim.0 > Duration::from_secs(3_600) {
            bad("notify.claim", "must be between 30s and 1h".into());
        }
        if let Some(contact) = &notify.contact
            && (contact.trim().is_empty()
                || contact.len() > 200
                || contact.chars().any(char::is_control))
        {
            bad(
                "notify.contact",
                "must be one line of at most 200 characters".into(),
            );
        }

        if let Err(problems) = self.detection.validate(&jcwatch_rules::catalogue()) {
            for problem in problems {
                bad(&format!("detection.{}", problem.path), problem.message);
            }
        }
        errors.extend(crate::enrich::settings::check(
            &self.enrichment,
            &self.addresses,
        ));
        errors
    }
}

/// Deserialises the document, taking out each key that fails and trying again, so that
/// every problem is found in one pass over the file.
fn deserialize_all(mut document: toml::Value) -> (Option<Config>, Vec<ConfigError>) {
    let mut errors = Vec::new();
    while errors.len() < MAX_ERRORS {
        let error = match serde_path_to_error::deserialize::<_, Config>(document.clone()) {
            Ok(config) => return (Some(config), errors),
            Err(error) => error,
        };
        let segments: Vec<String> = error.path().iter().map(segment_text).collect();
        errors.push(ConfigError {
            path: segments.join("."),
            message: error.inner().to_string(),
        });
        if !remove_at(&mut document, &segments) {
            break;
        }
    }
    (None, errors)
}

fn segment_text(segment: &serde_path_to_error::Segment) -> String {
    use serde_path_to_error::Segment;
    match segment {
        Segment::Seq { index } => index.to_string(),
        Segment::Map { key } => key.clone(),
        Segment::Enum { variant } => variant.clone(),
        Segment::Unknown => "?".to_string(),
    }
}

/// Removes the value at `path`; false when there is nothing to remove (an error about the
/// document as a whole), which ends the search.
fn remove_at(document: &mut toml::Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = document;
    for segment in parents {
        current = match current {
            toml::Value::Table(table) => match table.get_mut(segment) {
                Some(next) => next,
                None => return false,
            },
            toml::Value::Array(items) => match segment.parse::<usize>().ok() {
                Some(i) if i < items.len() => &mut items[i],
                _ => return false,
            },
            _ => return false,
        };
    }
    match current {
        toml::Value::Table(table) => table.remove(last).is_some(),
        toml::Value::Array(items) => match last.parse::<usize>().ok() {
            Some(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jcwatch_model::Route;

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config = Config::from_toml("").unwrap();

        assert_eq!(config, Config::default());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_key_path() {
        let text = r#"
            colour = "blue"
            [poll]
            lag = "5 minutes"
            overlap = "0s"
            extra = 1
            [notify]
            alert = "urgent"
            retry_per_run = 0
        "#;

        let errors = Config::from_toml(text).unwrap_err();

        let paths: Vec<&str> = errors.errors.iter().map(|e| e.path.as_str()).collect();
        for expected in [
            "colour",
            "poll.lag",
            "poll.extra",
            "notify.alert",
            "poll.overlap",
            "notify.retry_per_run",
        ] {
            assert!(
                paths.contains(&expected),
                "{expected} missing from {errors}"
            );
        }
        assert!(errors.to_string().contains("unknown unit"), "{errors}");
    }

    #[test]
    fn broken_toml_is_rejected_with_the_parser_message() {
        let errors = Config::from_toml("[poll\nlag = 1").unwrap_err();

        assert_eq!(errors.errors.len(), 1);
        assert!(errors.to_string().contains("not valid TOML"), "{errors}");
    }

    #[test]
    fn duets_always_notify_and_alerts_follow_the_threshold() {
        let config = Config::from_toml("[notify]\nalert = \"high\"\nops = \"off\"").unwrap();

        assert!(config.notify.notifies(Route::Duet, Severity::Info));
        assert!(config.notify.notifies(Route::Alert, Severity::Critical));
        assert!(!config.notify.notifies(Route::Alert, Severity::Medium));
        assert!(!config.notify.notifies(Route::Ops, Severity::Critical));
    }

    #[test]
    fn the_defaults_serialise_to_a_file_that_reads_back_the_same() {
        let text = toml::to_string(&Config::default()).unwrap();

        assert_eq!(Config::from_toml(&text).unwrap(), Config::default());
    }
}
