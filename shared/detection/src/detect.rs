//! The detect use case: one batch of events in, alerts stored and notified.
//!
//! Per batch: parse each event (a malformed one is logged by id or position, counted and
//! skipped), load the rule state the events touch, run the rules, write the new
//! observations, store each alert before publishing it, publish what the configuration
//! notifies, mark it notified after; then publish again alerts that earlier runs stored but
//! could not publish (a bounded number per run).
//!
//! Failure policy, so that every new alert is notified at least once and a batch delivered
//! twice creates no second alert and no second notification:
//! - A store error fails the batch at once ([`DetectError::Store`], retryable). Every write
//!   is idempotent (observations are a set, alert ids are deterministic, merges are
//!   unions), so Lambda's retry of the whole batch is safe, and after the last retry the
//!   batch lands in the dead-letter queue, whence it can be replayed.
//! - A failed publish does not stop the batch: the alert stays stored as pending, its claim
//!   is given back, and the rest of the batch is processed. The batch then fails with
//!   [`DetectError::Publish`] (retryable), so Lambda runs it again within minutes; the
//!   retry finds the alerts already stored (no second alert) and publishes the pending
//!   ones through the retry step. Should SNS stay down past Lambda's retries, the alerts
//!   are still pending in the store and any later run, of any batch, publishes them.
//! - A redelivered batch finds its alerts already stored: recording them is a no-op merge
//!   and nothing is published from it. Only the retry step publishes, and only alerts
//!   still pending, each under a claim so that concurrent runs do not both send one.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jcwatch_core::ports::{Clock, Notifier, NotifyError};
use jcwatch_model::{Alert, Event};
use serde::Deserialize;
use serde_json::Value;
use tracing::{debug, warn};

use crate::config::NotifyConfig;
use crate::enrich::{EnrichReport, Enricher};
use crate::render::{RenderOptions, render};
use crate::store::{
    AlertStore, Delivery, LoadedState, Recorded, StateItem, StateMark, StateStore, StoreError,
};

/// What the detect use case needs from the rule engine.
pub trait RuleEngine: Send + Sync {
    /// The state keys (rule, entity, window) that these events read or write.
    fn state_keys(&self, events: &[Event]) -> Vec<String>;

    /// Runs every enabled rule over `events` (in time order) with the stored state of their
    /// keys, returning the alerts raised and the state to add.
    fn evaluate(&self, events: &[Event], state: LoadedState) -> Evaluation;
}

/// The outcome of running the rules over one batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    pub alerts: Vec<Alert>,
    pub observations: Vec<StateItem>,
    pub marks: Vec<StateMark>,
}

/// The hand-off payload as it arrives: events stay raw JSON until each one is parsed, so
/// one malformed event cannot make the whole batch unreadable.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RawBatch {
    pub batch_id: String,
    #[serde(default)]
    pub org_id: Option<String>,
    pub events: Vec<Value>,
}

impl RawBatch {
    /// Reads the payload of a detect invocation.
    pub fn from_value(payload: Value) -> Result<RawBatch, DetectError> {
        serde_json::from_value(payload).map_err(|e| DetectError::BadInput {
            detail: format!("the payload is not a batch {{batch_id, org_id, events}}: {e}"),
        })
    }
}

/// What one batch did, for the per-batch log line and the CLI.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchReport {
    pub batch_id: String,
    pub events: usize,
    pub malformed: usize,
    /// Alerts the rules raised in this batch whose id was new.
    pub alerts_new: usize,
    /// Alerts the rules raised in this batch that were already stored.
    pub alerts_repeat: usize,
    /// New alerts published by this run.
    pub notified: usize,
    /// Earlier pending alerts published by this run.
    pub republished: usize,
    /// Publishes that failed (those alerts stay pending).
    pub publish_failed: usize,
    pub duration: Duration,
    /// The alerts the rules raised in this batch, as evaluated and enriched.
    pub alerts: Vec<Alert>,
    /// What enrichment did, when an enricher is configured.
    pub enrichment: Option<EnrichReport>,
}

/// The error categories Lambda reports as `error_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCategory {
    /// Worth a retry: a store or SNS was unavailable.
    Retryable,
    /// Retrying will not help until someone fixes something.
    Fatal,
    /// The input itself is unusable.
    BadInput,
}

impl ErrorCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Retryable => "Retryable",
            ErrorCategory::Fatal => "Fatal",
            ErrorCategory::BadInput => "BadInput",
        }
    }
}

/// Why a batch failed.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("bad batch: {detail}")]
    BadInput { detail: String },
    #[error("batch {batch_id}: {source}")]
    Store {
        batch_id: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "batch {batch_id}: {failed} notification(s) could not be published and stay pending \
         for the next run; first failure: {first}"
    )]
    Publish {
        batch_id: String,
        failed: usize,
        first: NotifyError,
        /// The work that was done before the failure, for the log line.
        report: Box<BatchReport>,
    },
}

impl DetectError {
    pub fn category(&self) -> ErrorCategory {
        match self {
            DetectError::BadInput { .. } => ErrorCategory::BadInput,
            DetectError::Store { source, .. } => match source {
                StoreError::Corrupt { .. } => ErrorCategory::Fatal,
                StoreError::Unavailable { .. } | StoreError::Contended { .. } => {
                    ErrorCategory::Retryable
                }
            },
            DetectError::Publish { .. } => ErrorCategory::Retryable,
        }
    }
}

/// The detect use case with its ports.
pub struct Detector<'a> {
    pub engine: &'a dyn RuleEngine,
    pub alerts: &'a dyn AlertStore,
    pub state: &'a dyn StateStore,
    pub notifier: &'a dyn Notifier,
    pub clock: &'a dyn Clock,
    pub notify: &'a NotifyConfig,
    /// Adds who, where from and what else to each alert before it is stored; `None` stores
    /// alerts as the rules raised them.
    pub enricher: Option<&'a Enricher>,
}

impl Detector<'_> {
    /// Handles one detect invocation's payload.
    pub async fn handle(&self, payload: Value) -> Result<BatchReport, DetectError> {
        self.detect(RawBatch::from_value(payload)?).await
    }

    /// Runs the rules over one batch, stores and notifies the alerts, and retries earlier
    /// un-notified ones.
    pub async fn detect(&self, batch: RawBatch) -> Result<BatchReport, DetectError> {
        let started = Instant::now();
        let batch_id = batch.batch_id.clone();
        let store_failed = |source| DetectError::Store {
            batch_id: batch_id.clone(),
            source,
        };
        let mut report = BatchReport {
            batch_id: batch.batch_id.clone(),
            events: batch.events.len(),
            ..BatchReport::default()
        };

        let events = parse_events(&batch, &mut report);

        let now = self.clock.now();
        let keys = self.engine.state_keys(&events);
        let state = self.state.load(&keys, now).await.map_err(store_failed)?;
        let evaluation = self.engine.evaluate(&events, state);
        self.state
            .add(&evaluation.observations)
            .await
            .map_err(store_failed)?;
        self.state
            .raise(&evaluation.marks)
            .await
            .map_err(store_failed)?;

        // Enrichment is bounded in time and never fails, so it cannot hold an alert back.
        let mut alerts = evaluation.alerts;
        if let Some(enricher) = self.enricher {
            report.enrichment = Some(
                enricher
                    .enrich(batch.org_id.as_deref(), &events, &mut alerts, now)
                    .await,
            );
        }

        let mut first_failure = None;
        let mut failed_here = HashSet::new();
        for alert in &alerts {
            let notify = self.notify.notifies(alert.route, alert.severity);
            let delivery = if notify {
                Delivery::Notify {
                    claim_until: self.claim_end(now),
                }
            } else {
                Delivery::StoreOnly
            };
            match self
                .alerts
                .record(alert, delivery)
                .await
                .map_err(store_failed)?
            {
                Recorded::Merged { .. } => report.alerts_repeat += 1,
                Recorded::Created => {
                    report.alerts_new += 1;
                    if notify {
                        match self.publish(alert).await.map_err(store_failed)? {
                            Ok(()) => report.notified += 1,
                            Err(e) => {
                                report.publish_failed += 1;
                                first_failure.get_or_insert(e);
                                failed_here.insert(alert.alert_id.clone());
                            }
                        }
                    }
                }
            }
        }
        report.alerts = alerts;

        self.republish(now, &failed_here, &mut report, &mut first_failure)
            .await
            .map_err(store_failed)?;

        report.duration = started.elapsed();
        match first_failure {
            None => Ok(report),
            Some(first) => Err(DetectError::Publish {
                batch_id,
                failed: report.publish_failed,
                first,
                report: Box::new(report),
            }),
        }
    }

    fn claim_end(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let claim = chrono::Duration::from_std(self.notify.claim.as_duration())
            .unwrap_or(chrono::Duration::minutes(5));
        now + claim
    }

    /// Publishes one stored, claimed alert: marked notified after, or its claim given back.
    /// The outer error is the store's; the inner one the notifier's.
    async fn publish(&self, alert: &Alert) -> Result<Result<(), NotifyError>, StoreError> {
        let options = RenderOptions {
            contact: self.notify.contact.clone(),
        };
        let notification = render(alert, &options);
        match self.notifier.publish(&notification).await {
            Ok(()) => {
                self.alerts.mark_notified(&alert.alert_id).await?;
                debug!(alert_id = %alert.alert_id, rule_id = %alert.rule_id, "alert notified");
                Ok(Ok(()))
            }
            Err(e) => {
                warn!(
                    alert_id = %alert.alert_id,
                    rule_id = %alert.rule_id,
                    error = %e,
                    "publishing failed; the alert stays pending"
                );
                self.alerts.release(&alert.alert_id).await?;
                Ok(Err(e))
            }
        }
    }

    /// Publishes alerts stored by earlier runs that are still pending. Alerts whose publish
    /// just failed in this run wait for the next one instead of hitting the topic again.
    async fn republish(
        &self,
        now: DateTime<Utc>,
        failed_here: &HashSet<String>,
        report: &mut BatchReport,
        first_failure: &mut Option<NotifyError>,
    ) -> Result<(), StoreError> {
        let pending = self
            .alerts
            .list_pending(now, self.notify.retry_per_run)
            .await?;
        for alert in pending {
            if failed_here.contains(&alert.alert_id) {
                continue;
            }
            if !self
                .alerts
                .claim(&alert.alert_id, now, self.claim_end(now))
                .await?
            {
                continue;
            }
            match self.publish(&alert).await? {
                Ok(()) => report.republished += 1,
                Err(e) => {
                    report.publish_failed += 1;
                    first_failure.get_or_insert(e);
                }
            }
        }
        Ok(())
    }
}

/// Parses each raw event; a malformed one is logged by its id (or position) and counted.
fn parse_events(batch: &RawBatch, report: &mut BatchReport) -> Vec<Event> {
    let mut events = Vec::with_capacity(batch.events.len());
    for (position, raw) in batch.events.iter().enumerate() {
        match Event::from_value(raw.clone()) {
            Ok(event) => events.push(event),
            Err(error) => {
                report.malformed += 1;
                let id = raw
                    .get("id")
                    .and_then(Value::as_str)
                    .map(|id| id.chars().take(64).collect::<String>());
                warn!(
                    batch_id = %batch.batch_id,
                    position,
                    event_id = id.as_deref().unwrap_or("unknown"),
                    error = %error,
                    "skipping a malformed event"
                );
            }
        }
    }
    // The same event twice in one batch counts once.
    let mut seen = HashSet::new();
    events.retain(|e| seen.insert(e.id.clone()));
    events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    events
}
