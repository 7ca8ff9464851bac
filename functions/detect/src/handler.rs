//! One detect invocation: run the use case on the payload, write the per-batch log line,
//! and map failures to Lambda's `error_type` vocabulary so retries and alarms mean
//! something (`Retryable` makes Lambda retry and then dead-letter the batch; `BadInput`
//! and `Fatal` say a person must look).

use jcwatch_core::ports::{Clock, Notifier};
use jcwatch_detection::config::Config;
use jcwatch_detection::store::{AlertStore, StateStore};
use jcwatch_detection::{BatchReport, DetectError, Detector, EnrichReport, Enricher, RuleEngine};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};
use tracing::{error, info};

/// Everything an invocation needs, built once per cold start.
pub struct App {
    pub engine: Box<dyn RuleEngine>,
    pub alerts: Box<dyn AlertStore>,
    pub state: Box<dyn StateStore>,
    pub notifier: Box<dyn Notifier>,
    pub clock: Box<dyn Clock>,
    pub config: Config,
    /// Adds who, where from and what else to each alert (see [`crate::enrichment`]).
    pub enricher: Option<Enricher>,
}

/// A failed invocation as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct FunctionError {
    pub error_type: &'static str,
    pub message: String,
}

impl From<FunctionError> for Diagnostic {
    fn from(error: FunctionError) -> Diagnostic {
        Diagnostic {
            error_type: error.error_type.to_string(),
            error_message: error.message,
        }
    }
}

impl App {
    fn detector(&self) -> Detector<'_> {
        Detector {
            engine: self.engine.as_ref(),
            alerts: self.alerts.as_ref(),
            state: self.state.as_ref(),
            notifier: self.notifier.as_ref(),
            clock: self.clock.as_ref(),
            notify: &self.config.notify,
            enricher: self.enricher.as_ref(),
        }
    }

    /// Handles one payload and returns the batch's counts.
    pub async fn handle(&self, payload: Value) -> Result<Value, FunctionError> {
        let org_id = payload
            .get("org_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match self.detector().handle(payload).await {
            Ok(report) => {
                log_batch(&report, &org_id, "batch done");
                Ok(summary(&report))
            }
            Err(failure) => {
                if let DetectError::Publish { report, .. } = &failure {
                    log_batch(report, &org_id, "batch done, some notifications pending");
                }
                let category = failure.category();
                error!(error_type = category.as_str(), error = %failure, "batch failed");
                Err(FunctionError {
                    error_type: category.as_str(),
                    message: failure.to_string(),
                })
            }
        }
    }
}

/// The one info line per batch.
fn log_batch(report: &BatchReport, org_id: &str, message: &str) {
    let enrich = report.enrichment.clone().unwrap_or_default();
    info!(
        batch_id = %report.batch_id,
        org_id,
        events = report.events,
        malformed = report.malformed,
        alerts_new = report.alerts_new,
        alerts_repeat = report.alerts_repeat,
        notified = report.notified,
        republished = report.republished,
        publish_failed = report.publish_failed,
        duration_ms = report.duration.as_millis() as u64,
        enrich_people = enrich.people,
        enrich_cache_hits = enrich.cache_hits,
        enrich_lookups = enrich.lookups,
        enrich_failed = enrich.failed,
        enrich_timed_out = enrich.timed_out,
        enrich_ms = enrich.elapsed.as_millis() as u64,
        "{message}"
    );
    log_degraded(&enrich);
}

/// A `warn` line when some context is missing, so an alarm can watch it.
fn log_degraded(enrich: &EnrichReport) {
    if enrich.degraded() {
        tracing::warn!(
            failed = enrich.failed,
            timed_out = enrich.timed_out,
            cache_errors = enrich.cache_errors,
            "some alerts went out without part of their enrichment"
        );
    }
}

fn summary(report: &BatchReport) -> Value {
    json!({
        "batch_id": report.batch_id,
        "events": report.events,
        "malformed": report.malformed,
        "alerts_new": report.alerts_new,
        "alerts_repeat": report.alerts_repeat,
        "notified": report.notified,
        "republished": report.republished,
        "alert_ids": report.alerts.iter().map(|a| a.alert_id.as_str()).collect::<Vec<_>>(),
        "enrichment": report.enrichment.as_ref().map(|e| json!({
            "people": e.people,
            "cache_hits": e.cache_hits,
            "lookups": e.lookups,
            "failed": e.failed,
            "timed_out": e.timed_out,
            "activity_queries": e.activity_queries,
            "sightings": e.sightings,
            "cache_reads": e.cache_reads,
            "cache_writes": e.cache_writes,
            "elapsed_ms": e.elapsed.as_secs_f64() * 1_000.0,
        })),
    })
}
