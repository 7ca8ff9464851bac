//! The CLI's rule-state store: one row per observation, keyed by (state key, observation
//! id), so adding is an idempotent `INSERT OR REPLACE` and reading a key is one index range;
//! each key's mark is one row that an upsert only ever moves later.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use jcwatch_detection::store::{LoadedState, StateItem, StateMark, StateStore, StoreError};
use rusqlite::{OptionalExtension, params};

use crate::db::{Db, LocalError, sql_error};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS rule_state (
    key           TEXT NOT NULL,
    id            TEXT NOT NULL,
    value         TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (key, id)
);
CREATE INDEX IF NOT EXISTS rule_state_expiry ON rule_state (expires_at_ms);
CREATE TABLE IF NOT EXISTS rule_marks (
    key           TEXT PRIMARY KEY,
    at_ms         INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
";

/// Rule state kept in the state database.
#[derive(Debug, Clone)]
pub struct SqliteStateStore {
    db: Db,
}

impl SqliteStateStore {
    pub fn new(db: Db) -> Result<Self, LocalError> {
        db.ensure_schema(SCHEMA)?;
        Ok(SqliteStateStore { db })
    }

    fn failed(&self, error: LocalError) -> StoreError {
        StoreError::Unavailable {
            store: format!("sqlite {}", self.db.path().display()),
            detail: error.to_string(),
        }
    }
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn load(&self, keys: &[String], now: DateTime<Utc>) -> Result<LoadedState, StoreError> {
        let keys = keys.to_vec();
        let now = now.timestamp_millis();
        self.db
            .call(move |conn, path| {
                // Expired observations are dropped here, the one place that knows the time.
                conn.execute(
                    "DELETE FROM rule_state WHERE expires_at_ms <= ?1",
                    params![now],
                )
                .map_err(sql_error(path, "dropping expired rule state"))?;
                conn.execute(
                    "DELETE FROM rule_marks WHERE expires_at_ms <= ?1",
                    params![now],
                )
                .map_err(sql_error(path, "dropping expired rule marks"))?;
                let mut marks = Vec::new();
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, value, expires_at_ms FROM rule_state WHERE key = ?1 \
                         AND expires_at_ms > ?2 ORDER BY id",
                    )
                    .map_err(sql_error(path, "reading rule state"))?;
                let mut entries = Vec::new();
                let mut unique = keys;
                unique.sort();
                unique.dedup();
                for key in unique {
                    let rows = stmt
                        .query_map(params![key, now], |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, i64>(2)?,
                            ))
                        })
                        .map_err(sql_error(path, "reading rule state"))?;
                    for row in rows {
                        let (id, value, millis) =
                            row.map_err(sql_error(path, "reading rule state"))?;
                        let expires_at =
                            Utc.timestamp_millis_opt(millis).single().ok_or_else(|| {
                                LocalError::Corrupt {
                                    path: path.to_owned(),
                                    what: format!("rule state {key}/{id}"),
                                    detail: format!("expiry {millis} is out of range"),
                                }
                            })?;
                        entries.push(StateItem {
                            key: key.clone(),
                            id,
                            value,
                            expires_at,
                        });
                    }
                    let mark: Option<(i64, i64)> = conn
                        .query_row(
                            "SELECT at_ms, expires_at_ms FROM rule_marks WHERE key = ?1",
                            params![key],
                            |row| Ok((row.get(0)?, row.get(1)?)),
                        )
                        .optional()
                        .map_err(sql_error(path, "reading a rule mark"))?;
                    if let Some((at, expires)) = mark {
                        marks.push(StateMark {
                            key: key.clone(),
                            at: millis(path, &key, at)?,
                            expires_at: millis(path, &key, expires)?,
                        });
                    }
                }
                Ok(LoadedState {
                    items: entries,
                    marks,
                })
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn add(&self, entries: &[StateItem]) -> Result<(), StoreError> {
        let entries = entries.to_vec();
        self.db
            .call(move |conn, path| {
                let tx = conn
                    .transaction()
                    .map_err(sql_error(path, "starting a rule-state write"))?;
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "INSERT OR REPLACE INTO rule_state (key, id, value, expires_at_ms) \
                             VALUES (?1, ?2, ?3, ?4)",
                        )
                        .map_err(sql_error(path, "writing rule state"))?;
                    for e in &entries {
                        stmt.execute(params![
                            e.key,
                            e.id,
                            e.value,
                            e.expires_at.timestamp_millis()
                        ])
                        .map_err(sql_error(path, "writing rule state"))?;
                    }
                }
                tx.commit()
                    .map_err(sql_error(path, "committing rule state"))
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn raise(&self, marks: &[StateMark]) -> Result<(), StoreError> {
        let marks = marks.to_vec();
        self.db
            .call(move |conn, path| {
                let tx = conn
                    .transaction()
                    .map_err(sql_error(path, "starting a rule-mark write"))?;
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "INSERT INTO rule_marks (key, at_ms, expires_at_ms) VALUES (?1, ?2, ?3) \
                             ON CONFLICT (key) DO UPDATE SET \
                             at_ms = max(at_ms, excluded.at_ms), \
                             expires_at_ms = max(expires_at_ms, excluded.expires_at_ms)",
                        )
                        .map_err(sql_error(path, "raising a rule mark"))?;
                    for m in &marks {
                        stmt.execute(params![
                            m.key,
                            m.at.timestamp_millis(),
                            m.expires_at.timestamp_millis()
                        ])
                        .map_err(sql_error(path, "raising a rule mark"))?;
                    }
                }
                tx.commit().map_err(sql_error(path, "committing rule marks"))
            })
            .await
            .map_err(|e| self.failed(e))
    }
}

fn millis(path: &std::path::Path, key: &str, value: i64) -> Result<DateTime<Utc>, LocalError> {
    Utc.timestamp_millis_opt(value)
        .single()
        .ok_or_else(|| LocalError::Corrupt {
            path: path.to_owned(),
            what: format!("rule state {key}"),
            detail: format!("time {value} is out of range"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 6, 10, minute, 0).unwrap()
    }

    fn entry(key: &str, id: &str, expires: u32) -> StateItem {
        StateItem {
            key: key.into(),
            id: id.into(),
            value: format!("v-{id}"),
            expires_at: at(expires),
        }
    }

    #[tokio::test]
    async fn observations_are_a_set_per_key_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStateStore::new(Db::open_in(dir.path()).unwrap()).unwrap();

        store
            .add(&[
                entry("k", "a", 30),
                entry("k", "b", 30),
                entry("k", "old", 5),
            ])
            .await
            .unwrap();
        store
            .add(&[entry("k", "a", 30), entry("other", "c", 30)])
            .await
            .unwrap();
        let loaded = store.load(&["k".to_string()], at(10)).await.unwrap();

        assert_eq!(loaded.items, vec![entry("k", "a", 30), entry("k", "b", 30)]);
    }

    #[tokio::test]
    async fn a_mark_only_rises() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStateStore::new(Db::open_in(dir.path()).unwrap()).unwrap();
        let mark = |minute, expires| StateMark {
            key: "k".into(),
            at: at(minute),
            expires_at: at(expires),
        };

        store.raise(&[mark(8, 40)]).await.unwrap();
        store.raise(&[mark(3, 50)]).await.unwrap();
        let loaded = store.load(&["k".to_string()], at(10)).await.unwrap();

        assert_eq!(loaded.marks, vec![mark(8, 50)]);
    }
}
