//! The CLI's rule-state store: one row per observation, keyed by (state key, observation
//! id), so adding is an idempotent `INSERT OR REPLACE` and reading a key is one index range.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use jcwatch_detection::store::{StateEntry, StateStore, StoreError};
use rusqlite::params;

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
    async fn load(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<StateEntry>, StoreError> {
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
                        entries.push(StateEntry {
                            key: key.clone(),
                            id,
                            value,
                            expires_at,
                        });
                    }
                }
                Ok(entries)
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn add(&self, entries: &[StateEntry]) -> Result<(), StoreError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 6, 10, minute, 0).unwrap()
    }

    fn entry(key: &str, id: &str, expires: u32) -> StateEntry {
        StateEntry {
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

        assert_eq!(loaded, vec![entry("k", "a", 30), entry("k", "b", 30)]);
    }
}
