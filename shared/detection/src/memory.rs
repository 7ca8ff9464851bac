//! In-memory adapters of the detect ports, for unit tests and one-shot local runs (`jcwatch
//! scan`). They follow the same semantics as the DynamoDB and SQLite stores.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jcwatch_core::ports::{Notification, Notifier, NotifyError};
use jcwatch_model::Alert;

use crate::store::{
    AlertQuery, AlertStore, Delivery, LoadedState, Recorded, StateItem, StateMark, StateStore,
    StoreError, bound_event_ids, merge_alert,
};

#[derive(Debug, Clone)]
struct StoredAlert {
    alert: Alert,
    pending: bool,
    claim_until: Option<DateTime<Utc>>,
}

/// Alerts in a map.
#[derive(Debug, Default)]
pub struct MemoryAlertStore {
    alerts: Mutex<BTreeMap<String, StoredAlert>>,
}

impl MemoryAlertStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored alert, in id order.
    pub fn all(&self) -> Vec<Alert> {
        let alerts = self.alerts.lock().expect("alert map lock");
        alerts.values().map(|s| s.alert.clone()).collect()
    }
}

#[async_trait]
impl AlertStore for MemoryAlertStore {
    async fn record(&self, alert: &Alert, delivery: Delivery) -> Result<Recorded, StoreError> {
        let mut alerts = self.alerts.lock().expect("alert map lock");
        if let Some(stored) = alerts.get_mut(&alert.alert_id) {
            let changed = merge_alert(&mut stored.alert, alert);
            return Ok(Recorded::Merged { changed });
        }

        let mut fresh = alert.clone();
        fresh.notified = false;
        bound_event_ids(&mut fresh);
        let (pending, claim_until) = match delivery {
            Delivery::Notify { claim_until } => (true, Some(claim_until)),
            Delivery::StoreOnly => (false, None),
        };
        alerts.insert(
            alert.alert_id.clone(),
            StoredAlert {
                alert: fresh,
                pending,
                claim_until,
            },
        );
        Ok(Recorded::Created)
    }

    async fn mark_notified(&self, alert_id: &str) -> Result<(), StoreError> {
        let mut alerts = self.alerts.lock().expect("alert map lock");
        if let Some(stored) = alerts.get_mut(alert_id) {
            stored.alert.notified = true;
            stored.pending = false;
            stored.claim_until = None;
        }
        Ok(())
    }

    async fn release(&self, alert_id: &str) -> Result<(), StoreError> {
        let mut alerts = self.alerts.lock().expect("alert map lock");
        if let Some(stored) = alerts.get_mut(alert_id) {
            stored.claim_until = None;
        }
        Ok(())
    }

    async fn list_pending(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Alert>, StoreError> {
        let alerts = self.alerts.lock().expect("alert map lock");
        let mut pending: Vec<Alert> = alerts
            .values()
            .filter(|s| s.pending && s.claim_until.is_none_or(|until| until <= now))
            .map(|s| s.alert.clone())
            .collect();
        pending.sort_by(|a, b| (a.first_seen, &a.alert_id).cmp(&(b.first_seen, &b.alert_id)));
        pending.truncate(limit);
        Ok(pending)
    }

    async fn claim(
        &self,
        alert_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut alerts = self.alerts.lock().expect("alert map lock");
        let Some(stored) = alerts.get_mut(alert_id) else {
            return Ok(false);
        };
        if !stored.pending || stored.claim_until.is_some_and(|held| held > now) {
            return Ok(false);
        }
        stored.claim_until = Some(until);
        Ok(true)
    }

    async fn list(&self, query: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        let alerts = self.alerts.lock().expect("alert map lock");
        let mut found: Vec<Alert> = alerts
            .values()
            .map(|s| &s.alert)
            .filter(|a| query.org.is_none() || a.org == query.org)
            .filter(|a| query.since.is_none_or(|since| a.first_seen >= since))
            .filter(|a| query.until.is_none_or(|until| a.first_seen < until))
            .cloned()
            .collect();
        found.sort_by(|a, b| (b.first_seen, &b.alert_id).cmp(&(a.first_seen, &a.alert_id)));
        found.truncate(query.limit);
        Ok(found)
    }

    async fn get(&self, alert_id: &str) -> Result<Option<Alert>, StoreError> {
        let alerts = self.alerts.lock().expect("alert map lock");
        Ok(alerts.get(alert_id).map(|s| s.alert.clone()))
    }
}

/// Rule state in maps keyed by `(key, id)` and by key.
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    entries: Mutex<BTreeMap<(String, String), StateItem>>,
    marks: Mutex<BTreeMap<String, StateMark>>,
}

impl MemoryStateStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many observations are held (expired ones included).
    pub fn len(&self) -> usize {
        self.entries.lock().expect("state map lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl StateStore for MemoryStateStore {
    async fn load(&self, keys: &[String], now: DateTime<Utc>) -> Result<LoadedState, StoreError> {
        let entries = self.entries.lock().expect("state map lock");
        let marks = self.marks.lock().expect("mark map lock");
        let mut unique = keys.to_vec();
        unique.sort();
        unique.dedup();
        let mut loaded = LoadedState::default();
        for key in &unique {
            let range = (key.clone(), String::new())..;
            loaded.items.extend(
                entries
                    .range(range)
                    .take_while(|((k, _), _)| k == key)
                    .map(|(_, e)| e)
                    .filter(|e| e.expires_at > now)
                    .cloned(),
            );
            loaded
                .marks
                .extend(marks.get(key).filter(|m| m.expires_at > now).cloned());
        }
        Ok(loaded)
    }

    async fn add(&self, new: &[StateItem]) -> Result<(), StoreError> {
        let mut entries = self.entries.lock().expect("state map lock");
        for entry in new {
            entries.insert((entry.key.clone(), entry.id.clone()), entry.clone());
        }
        Ok(())
    }

    async fn raise(&self, new: &[StateMark]) -> Result<(), StoreError> {
        let mut marks = self.marks.lock().expect("mark map lock");
        for mark in new {
            let stored = marks
                .entry(mark.key.clone())
                .or_insert_with(|| mark.clone());
            if mark.at > stored.at {
                stored.at = mark.at;
            }
            stored.expires_at = stored.expires_at.max(mark.expires_at);
        }
        Ok(())
    }
}

/// A notifier that keeps what it was given, for tests and for the CLI to print afterwards.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    sent: Mutex<Vec<Notification>>,
}

impl RecordingNotifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything published so far, in order.
    pub fn sent(&self) -> Vec<Notification> {
        self.sent.lock().expect("notifier lock").clone()
    }

    /// Takes everything published so far, leaving none.
    pub fn take(&self) -> Vec<Notification> {
        std::mem::take(&mut *self.sent.lock().expect("notifier lock"))
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.sent
            .lock()
            .expect("notifier lock")
            .push(notification.clone());
        Ok(())
    }
}
