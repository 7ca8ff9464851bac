//! What one poll did: per-organisation reports, outcomes and error categories.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use crate::ports::{HandOffError, SourceError, StoreError};

/// The small vocabulary the edges map errors to: the Lambda's `error_type`, the CLI's exit
/// code, and whether a retry can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ErrorCategory {
    /// Transient: the next attempt or tick may succeed (outage, throttling, store hiccup).
    Retryable,
    /// A request or configuration the service will never accept as it is (HTTP 400, a bad
    /// organisation id): a person must change the configuration.
    BadInput,
    /// The credential or account must be fixed by a person (HTTP 401, 402, 403).
    Fatal,
}

impl ErrorCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Retryable => "Retryable",
            ErrorCategory::BadInput => "BadInput",
            ErrorCategory::Fatal => "Fatal",
        }
    }
}

/// Why one organisation's poll failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("organisation {org}: {source}")]
    Source {
        org: String,
        #[source]
        source: SourceError,
    },
    #[error("organisation {org}: {source}")]
    Store {
        org: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "organisation {org}: {source}; the cursor was not moved, the page will be fetched again"
    )]
    HandOff {
        org: String,
        #[source]
        source: HandOffError,
    },
    /// The answer cannot be paged further (a full page without `X-Search_after`, or one that
    /// repeats the previous cursor): continuing would loop or skip events.
    #[error("organisation {org}: Directory Insights paging is broken: {detail}")]
    Paging { org: String, detail: String },
}

impl PollError {
    pub fn category(&self) -> ErrorCategory {
        match self {
            PollError::Source {
                source: SourceError::Auth { .. },
                ..
            } => ErrorCategory::Fatal,
            PollError::Source {
                source: SourceError::Rejected { .. },
                ..
            } => ErrorCategory::BadInput,
            PollError::Source { .. }
            | PollError::Store { .. }
            | PollError::HandOff { .. }
            | PollError::Paging { .. } => ErrorCategory::Retryable,
        }
    }
}

/// How one organisation's poll ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum OrgOutcome {
    /// The whole window was fetched and handed over.
    Completed,
    /// `start >= end`: nothing to ask for yet; no request, cursor unchanged.
    Skipped,
    /// Stopped before the deadline; the cursor stands at the last handed-over page and the
    /// next run resumes there.
    DeadlineReached,
    /// Stopped on request (Ctrl-C); the cursor stands at the last handed-over page.
    Interrupted,
    /// Another poll saved this cursor first: it is doing this work, so this one stopped. Not
    /// a failure and not worth a retry.
    Conflict,
    /// Stopped by an error; the cursor stands at the last handed-over page.
    Failed {
        category: ErrorCategory,
        error: String,
    },
}

impl OrgOutcome {
    pub fn name(&self) -> &'static str {
        match self {
            OrgOutcome::Completed => "completed",
            OrgOutcome::Skipped => "skipped",
            OrgOutcome::DeadlineReached => "deadline_reached",
            OrgOutcome::Interrupted => "interrupted",
            OrgOutcome::Conflict => "conflict",
            OrgOutcome::Failed { .. } => "failed",
        }
    }
}

/// What one organisation's poll did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrgReport {
    /// `None` for the key's own organisation.
    pub org_id: Option<String>,
    #[serde(flatten)]
    pub outcome: OrgOutcome,
    #[serde(serialize_with = "opt_time")]
    pub window_start: Option<DateTime<Utc>>,
    #[serde(serialize_with = "opt_time")]
    pub window_end: Option<DateTime<Utc>>,
    pub pages: u64,
    /// Events received, valid or not.
    pub fetched: u64,
    pub handed_over: u64,
    /// Events dropped because they were handed over before.
    pub duplicates: u64,
    /// Events without an id or readable timestamp.
    pub malformed: u64,
    /// Events too large to hand over even alone.
    pub oversize: u64,
    pub batches: u64,
    /// `polled_until` before and after: how far the poll had asked.
    #[serde(serialize_with = "opt_time")]
    pub cursor_before: Option<DateTime<Utc>>,
    #[serde(serialize_with = "opt_time")]
    pub cursor_after: Option<DateTime<Utc>>,
    /// The newest event handed over so far (the high-water mark) after this run.
    #[serde(serialize_with = "opt_time")]
    pub high_water: Option<DateTime<Utc>>,
    /// How far `cursor_after` is behind the time the run ended; about the configured lag on a
    /// poller that keeps up.
    #[serde(serialize_with = "opt_secs")]
    pub lag: Option<Duration>,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// Whether an operational notification was sent this run.
    pub ops_notified: bool,
}

impl OrgReport {
    pub fn new(org_id: Option<String>) -> Self {
        OrgReport {
            org_id,
            outcome: OrgOutcome::Completed,
            window_start: None,
            window_end: None,
            pages: 0,
            fetched: 0,
            handed_over: 0,
            duplicates: 0,
            malformed: 0,
            oversize: 0,
            batches: 0,
            cursor_before: None,
            cursor_after: None,
            high_water: None,
            lag: None,
            duration: Duration::ZERO,
            ops_notified: false,
        }
    }

    /// The organisation as logs and tables show it.
    pub fn org_label(&self) -> &str {
        org_label(self.org_id.as_deref())
    }
}

/// `"(own)"` for the key's own organisation.
pub fn org_label(org_id: Option<&str>) -> &str {
    org_id.unwrap_or("(own)")
}

/// One invocation over all organisations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PollRun {
    pub orgs: Vec<OrgReport>,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
}

impl PollRun {
    /// The most serious failure among the organisations (`Fatal` over `BadInput` over
    /// `Retryable`) with its message; `None` when none failed. Conflicts, skips and deadline
    /// stops are not failures.
    pub fn worst_failure(&self) -> Option<(ErrorCategory, &str)> {
        self.orgs
            .iter()
            .filter_map(|r| match &r.outcome {
                OrgOutcome::Failed { category, error } => Some((*category, error.as_str())),
                _ => None,
            })
            .max_by_key(|(category, _)| *category)
    }

    pub fn total_handed_over(&self) -> u64 {
        self.orgs.iter().map(|r| r.handed_over).sum()
    }
}

fn opt_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&jcwatch_model::time::format_timestamp(*t)),
        None => s.serialize_none(),
    }
}

fn secs<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

fn opt_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => secs(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_errors_are_fatal_rejections_bad_input_and_outages_retryable() {
        let auth = PollError::Source {
            org: "o".into(),
            source: SourceError::Auth {
                status: 401,
                hint: "h".into(),
            },
        };
        let rejected = PollError::Source {
            org: "o".into(),
            source: SourceError::Rejected {
                status: 400,
                detail: "d".into(),
            },
        };
        let outage = PollError::Source {
            org: "o".into(),
            source: SourceError::Unavailable {
                attempts: 5,
                detail: "d".into(),
            },
        };

        assert_eq!(auth.category(), ErrorCategory::Fatal);
        assert_eq!(rejected.category(), ErrorCategory::BadInput);
        assert_eq!(outage.category(), ErrorCategory::Retryable);
    }

    #[test]
    fn the_worst_failure_ranks_fatal_first_and_ignores_conflicts() {
        let mut a = OrgReport::new(Some("a".into()));
        a.outcome = OrgOutcome::Failed {
            category: ErrorCategory::Retryable,
            error: "outage".into(),
        };
        let mut b = OrgReport::new(Some("b".into()));
        b.outcome = OrgOutcome::Failed {
            category: ErrorCategory::Fatal,
            error: "key revoked".into(),
        };
        let mut c = OrgReport::new(Some("c".into()));
        c.outcome = OrgOutcome::Conflict;
        let run = PollRun {
            orgs: vec![a, b, c],
            duration: Duration::ZERO,
        };

        assert_eq!(
            run.worst_failure(),
            Some((ErrorCategory::Fatal, "key revoked"))
        );
    }

    #[test]
    fn a_report_serialises_with_its_status_and_readable_times() {
        let mut report = OrgReport::new(None);
        report.outcome = OrgOutcome::Failed {
            category: ErrorCategory::Fatal,
            error: "refused".into(),
        };
        report.lag = Some(Duration::from_millis(120_500));

        let json = serde_json::to_value(&report).unwrap();

        assert_eq!(json["status"], "failed");
        assert_eq!(json["category"], "Fatal");
        assert_eq!(json["lag"], 120.5);
        assert_eq!(json["org_id"], serde_json::Value::Null);
    }
}
