//! The CLI's alert store: one row per alert in the state database, the alert as JSON beside
//! the columns the store works with. Same semantics as the DynamoDB store: a new id is
//! created, a known one merged ([`merge_alert`]) inside one immediate transaction, pending
//! alerts are claimed before they are published.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jcwatch_detection::store::{
    AlertQuery, AlertStore, Delivery, Recorded, StoreError, bound_event_ids, merge_alert,
};
use jcwatch_model::Alert;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::db::{Db, LocalError, sql_error};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alerts (
    alert_id    TEXT PRIMARY KEY,
    org         TEXT,
    first_seen  TEXT NOT NULL,
    notified    INTEGER NOT NULL DEFAULT 0,
    pending     INTEGER NOT NULL DEFAULT 0,
    claim_until INTEGER,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_first_seen ON alerts (first_seen);
CREATE INDEX IF NOT EXISTS alerts_pending ON alerts (pending, first_seen);
";

/// Alerts kept in the state database.
#[derive(Debug, Clone)]
pub struct SqliteAlertStore {
    db: Db,
}

impl SqliteAlertStore {
    pub fn new(db: Db) -> Result<Self, LocalError> {
        db.ensure_schema(SCHEMA)?;
        Ok(SqliteAlertStore { db })
    }

    fn failed(&self, error: LocalError) -> StoreError {
        let store = format!("sqlite {}", self.db.path().display());
        match error {
            LocalError::Corrupt { what, detail, .. } => StoreError::Corrupt {
                store,
                key: what,
                detail,
            },
            other => StoreError::Unavailable {
                store,
                detail: other.to_string(),
            },
        }
    }
}

/// A time as fixed-width text, so that text order is time order.
fn sort_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

fn encode(path: &std::path::Path, alert: &Alert) -> Result<String, LocalError> {
    let mut body = alert.clone();
    body.notified = false;
    serde_json::to_string(&body).map_err(|e| LocalError::Corrupt {
        path: path.to_owned(),
        what: format!("alert {}", alert.alert_id),
        detail: e.to_string(),
    })
}

fn decode(path: &std::path::Path, body: &str, notified: bool) -> Result<Alert, LocalError> {
    let mut alert: Alert = serde_json::from_str(body).map_err(|e| LocalError::Corrupt {
        path: path.to_owned(),
        what: "alert".into(),
        detail: e.to_string(),
    })?;
    alert.notified = notified;
    Ok(alert)
}

#[async_trait]
impl AlertStore for SqliteAlertStore {
    async fn record(&self, alert: &Alert, delivery: Delivery) -> Result<Recorded, StoreError> {
        let mut fresh = alert.clone();
        bound_event_ids(&mut fresh);
        self.db
            .call(move |conn, path| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error(path, "starting an alert write"))?;
                let stored: Option<String> = tx
                    .query_row(
                        "SELECT body FROM alerts WHERE alert_id = ?1",
                        params![fresh.alert_id],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(sql_error(path, "reading an alert"))?;

                let outcome = match stored {
                    Some(body) => {
                        let mut current = decode(path, &body, false)?;
                        let changed = merge_alert(&mut current, &fresh);
                        if changed {
                            tx.execute(
                                "UPDATE alerts SET body = ?2 WHERE alert_id = ?1",
                                params![current.alert_id, encode(path, &current)?],
                            )
                            .map_err(sql_error(path, "merging an alert"))?;
                        }
                        Recorded::Merged { changed }
                    }
                    None => {
                        let (pending, claim) = match delivery {
                            Delivery::Notify { claim_until } => {
                                (true, Some(claim_until.timestamp_millis()))
                            }
                            Delivery::StoreOnly => (false, None),
                        };
                        tx.execute(
                            "INSERT INTO alerts (alert_id, org, first_seen, notified, pending, \
                             claim_until, body) VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)",
                            params![
                                fresh.alert_id,
                                fresh.org,
                                sort_time(fresh.first_seen),
                                pending,
                                claim,
                                encode(path, &fresh)?
                            ],
                        )
                        .map_err(sql_error(path, "creating an alert"))?;
                        Recorded::Created
                    }
                };
                tx.commit()
                    .map_err(sql_error(path, "committing an alert"))?;
                Ok(outcome)
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn mark_notified(&self, alert_id: &str) -> Result<(), StoreError> {
        let id = alert_id.to_owned();
        self.db
            .call(move |conn, path| {
                conn.execute(
                    "UPDATE alerts SET notified = 1, pending = 0, claim_until = NULL \
                     WHERE alert_id = ?1",
                    params![id],
                )
                .map_err(sql_error(path, "marking an alert notified"))?;
                Ok(())
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn release(&self, alert_id: &str) -> Result<(), StoreError> {
        let id = alert_id.to_owned();
        self.db
            .call(move |conn, path| {
                conn.execute(
                    "UPDATE alerts SET claim_until = NULL WHERE alert_id = ?1 AND pending = 1",
                    params![id],
                )
                .map_err(sql_error(path, "releasing an alert"))?;
                Ok(())
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn list_pending(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Alert>, StoreError> {
        let now = now.timestamp_millis();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call(move |conn, path| {
                let mut stmt = conn
                    .prepare(
                        "SELECT body FROM alerts WHERE pending = 1 \
                         AND (claim_until IS NULL OR claim_until <= ?1) \
                         ORDER BY first_seen, alert_id LIMIT ?2",
                    )
                    .map_err(sql_error(path, "listing pending alerts"))?;
                let bodies = stmt
                    .query_map(params![now, limit], |row| row.get::<_, String>(0))
                    .map_err(sql_error(path, "listing pending alerts"))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sql_error(path, "listing pending alerts"))?;
                bodies.iter().map(|b| decode(path, b, false)).collect()
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn claim(
        &self,
        alert_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let id = alert_id.to_owned();
        self.db
            .call(move |conn, path| {
                let changed = conn
                    .execute(
                        "UPDATE alerts SET claim_until = ?3 WHERE alert_id = ?1 AND pending = 1 \
                         AND (claim_until IS NULL OR claim_until <= ?2)",
                        params![id, now.timestamp_millis(), until.timestamp_millis()],
                    )
                    .map_err(sql_error(path, "claiming an alert"))?;
                Ok(changed == 1)
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn list(&self, query: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        let org = query.org.clone();
        let since = query.since.map(sort_time).unwrap_or_default();
        let until = query
            .until
            .map(sort_time)
            .unwrap_or_else(|| "9".to_string());
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        self.db
            .call(move |conn, path| {
                let mut stmt = conn
                    .prepare(
                        "SELECT body, notified FROM alerts \
                         WHERE (?1 IS NULL OR org = ?1) AND first_seen >= ?2 AND first_seen < ?3 \
                         ORDER BY first_seen DESC, alert_id DESC LIMIT ?4",
                    )
                    .map_err(sql_error(path, "listing alerts"))?;
                let rows = stmt
                    .query_map(params![org, since, until, limit], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?))
                    })
                    .map_err(sql_error(path, "listing alerts"))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sql_error(path, "listing alerts"))?;
                rows.iter()
                    .map(|(body, notified)| decode(path, body, *notified))
                    .collect()
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn get(&self, alert_id: &str) -> Result<Option<Alert>, StoreError> {
        let id = alert_id.to_owned();
        self.db
            .call(move |conn, path| {
                let row: Option<(String, bool)> = conn
                    .query_row(
                        "SELECT body, notified FROM alerts WHERE alert_id = ?1",
                        params![id],
                        |row| Ok((row.get(0)?, row.get(1)?)),
                    )
                    .optional()
                    .map_err(sql_error(path, "reading an alert"))?;
                row.map(|(body, notified)| decode(path, &body, notified))
                    .transpose()
            })
            .await
            .map_err(|e| self.failed(e))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;
    use jcwatch_model::{Area, Route, Severity, Source};

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 6, 10, minute, 0).unwrap()
    }

    fn alert(id: &str, events: &[&str], minute: u32) -> Alert {
        Alert {
            alert_id: id.into(),
            rule_id: "auth.brute_force_user".into(),
            title: "Brute force".into(),
            severity: Severity::High,
            area: Area::AuthAndAdmin,
            route: Route::Alert,
            org: Some("org-1".into()),
            actor: Some("alice".into()),
            target: None,
            source: Source::default(),
            changes: Vec::new(),
            event_ids: events.iter().map(|e| e.to_string()).collect(),
            first_seen: at(minute),
            last_seen: at(minute),
            count: events.len() as u64,
            notified: false,
            first_action: "Reset the password.".into(),
            technique: "T1110".into(),
            details: BTreeMap::new(),
            enrichment: None,
        }
    }

    fn store() -> (SqliteAlertStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_in(dir.path()).unwrap();
        (SqliteAlertStore::new(db).unwrap(), dir)
    }

    #[tokio::test]
    async fn a_repeat_merges_and_a_redelivery_changes_nothing() {
        let (store, _dir) = store();
        let claim = Delivery::Notify { claim_until: at(5) };

        let created = store.record(&alert("a", &["e1"], 0), claim).await.unwrap();
        let merged = store.record(&alert("a", &["e2"], 3), claim).await.unwrap();
        let again = store.record(&alert("a", &["e2"], 3), claim).await.unwrap();

        assert_eq!(created, Recorded::Created);
        assert_eq!(merged, Recorded::Merged { changed: true });
        assert_eq!(again, Recorded::Merged { changed: false });
        let stored = store.get("a").await.unwrap().unwrap();
        assert_eq!(stored.event_ids, ["e1", "e2"]);
        assert_eq!((stored.first_seen, stored.last_seen), (at(0), at(3)));
    }

    #[tokio::test]
    async fn pending_alerts_are_claimed_once_and_leave_when_notified() {
        let (store, _dir) = store();
        let claim = Delivery::Notify { claim_until: at(5) };
        store.record(&alert("a", &["e1"], 0), claim).await.unwrap();
        store
            .record(&alert("b", &["e2"], 1), Delivery::StoreOnly)
            .await
            .unwrap();

        let hidden = store.list_pending(at(1), 10).await.unwrap();
        let visible = store.list_pending(at(6), 10).await.unwrap();
        let first = store.claim("a", at(6), at(11)).await.unwrap();
        let second = store.claim("a", at(7), at(12)).await.unwrap();
        store.mark_notified("a").await.unwrap();

        assert!(hidden.is_empty());
        assert_eq!(visible.len(), 1);
        assert!(first && !second);
        assert!(store.list_pending(at(30), 10).await.unwrap().is_empty());
        assert!(store.get("a").await.unwrap().unwrap().notified);
    }

    #[tokio::test]
    async fn alerts_survive_reopening_the_database_and_list_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteAlertStore::new(Db::open_in(dir.path()).unwrap()).unwrap();
            for (id, minute) in [("a", 1), ("b", 9), ("c", 5)] {
                store
                    .record(&alert(id, &["e"], minute), Delivery::StoreOnly)
                    .await
                    .unwrap();
            }
        }

        let store = SqliteAlertStore::new(Db::open_in(dir.path()).unwrap()).unwrap();
        let listed = store
            .list(&AlertQuery {
                since: Some(at(2)),
                limit: 10,
                ..AlertQuery::default()
            })
            .await
            .unwrap();

        let ids: Vec<&str> = listed.iter().map(|a| a.alert_id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
    }
}
