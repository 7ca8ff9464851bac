//! Detection as a [`BatchSink`]: the CLI's poll hands each batch straight to the detect use
//! case in the same process, with whatever stores and notifier it was given.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jcwatch_core::ports::{BatchSink, Clock, HandOffError, Notifier};
use jcwatch_model::{Alert, Batch};
use tracing::warn;

use crate::config::NotifyConfig;
use crate::detect::{DetectError, Detector, RawBatch, RuleEngine};
use crate::enrich::Enricher;
use crate::store::{AlertStore, StateStore, StoreError};

/// Runs detection on every batch handed to it and remembers which alerts it touched.
pub struct DetectSink {
    pub engine: Arc<dyn RuleEngine>,
    pub alerts: Arc<dyn AlertStore>,
    pub state: Arc<dyn StateStore>,
    pub notifier: Arc<dyn Notifier>,
    pub clock: Arc<dyn Clock>,
    pub notify: NotifyConfig,
    /// Adds context to the alerts before they are stored; see [`DetectSink::with_enricher`].
    pub enricher: Option<Arc<Enricher>>,
    touched: Mutex<BTreeSet<String>>,
}

impl DetectSink {
    pub fn new(
        engine: Arc<dyn RuleEngine>,
        alerts: Arc<dyn AlertStore>,
        state: Arc<dyn StateStore>,
        notifier: Arc<dyn Notifier>,
        clock: Arc<dyn Clock>,
        notify: NotifyConfig,
    ) -> Self {
        DetectSink {
            engine,
            alerts,
            state,
            notifier,
            clock,
            notify,
            enricher: None,
            touched: Mutex::new(BTreeSet::new()),
        }
    }

    /// Enriches every batch's alerts with `enricher` before they are stored and notified.
    pub fn with_enricher(mut self, enricher: Arc<Enricher>) -> Self {
        self.enricher = Some(enricher);
        self
    }

    /// The alerts raised or extended since the last call, as stored now.
    pub async fn take_touched_alerts(&self) -> Result<Vec<Alert>, StoreError> {
        let ids: Vec<String> = std::mem::take(&mut *self.touched.lock().expect("touched lock"))
            .into_iter()
            .collect();
        let mut alerts = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(alert) = self.alerts.get(&id).await? {
                alerts.push(alert);
            }
        }
        Ok(alerts)
    }
}

#[async_trait]
impl BatchSink for DetectSink {
    async fn hand_off(&self, batch: &Batch) -> Result<(), HandOffError> {
        let raw = RawBatch {
            batch_id: batch.batch_id.clone(),
            org_id: batch.org_id.clone(),
            events: batch
                .events
                .iter()
                .filter_map(|e| serde_json::to_value(e).ok())
                .collect(),
        };
        let detector = Detector {
            engine: self.engine.as_ref(),
            alerts: self.alerts.as_ref(),
            state: self.state.as_ref(),
            notifier: self.notifier.as_ref(),
            clock: self.clock.as_ref(),
            notify: &self.notify,
            enricher: self.enricher.as_deref(),
        };
        let report = match detector.detect(raw).await {
            Ok(report) => report,
            // The alerts are stored and pending; the next batch publishes them.
            Err(DetectError::Publish { report, first, .. }) => {
                warn!(batch_id = %batch.batch_id, error = %first, "a notification stays pending");
                *report
            }
            Err(other) => {
                return Err(HandOffError {
                    batch_id: batch.batch_id.clone(),
                    detail: other.to_string(),
                });
            }
        };
        self.touched
            .lock()
            .expect("touched lock")
            .extend(report.alerts.iter().map(|a| a.alert_id.clone()));
        Ok(())
    }
}
