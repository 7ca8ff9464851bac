//! The CLI's cursor store: one row per organisation, the cursor as JSON beside its version,
//! saved with the same optimistic-concurrency rule as the DynamoDB store. The version check
//! and the write happen in one immediate transaction, so two `jcwatch poll` processes on one
//! state directory cannot both advance a cursor.

use async_trait::async_trait;
use jcwatch_core::ports::{Cursor, CursorStore, StoreError};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::db::{Db, LocalError, sql_error};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cursors (
    org_id  TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    body    TEXT NOT NULL
);
";

/// Cursors kept in the state database.
#[derive(Debug, Clone)]
pub struct SqliteCursorStore {
    db: Db,
}

/// Why a save did not happen, inside the transaction.
enum SaveOutcome {
    Saved,
    Conflict,
}

impl SqliteCursorStore {
    pub fn new(db: Db) -> Result<Self, LocalError> {
        db.ensure_schema(SCHEMA)?;
        Ok(SqliteCursorStore { db })
    }

    /// Every stored cursor, ordered by organisation.
    pub async fn list(&self) -> Result<Vec<Cursor>, LocalError> {
        self.db
            .call(|conn, path| {
                let mut stmt = conn
                    .prepare("SELECT org_id, body FROM cursors ORDER BY org_id")
                    .map_err(sql_error(path, "listing cursors"))?;
                let rows = stmt
                    .query_map([], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                    })
                    .map_err(sql_error(path, "listing cursors"))?;
                let mut cursors = Vec::new();
                for row in rows {
                    let (org_id, body) = row.map_err(sql_error(path, "listing cursors"))?;
                    cursors.push(decode(path, &org_id, &body)?);
                }
                Ok(cursors)
            })
            .await
    }

    fn backend(&self, err: LocalError) -> StoreError {
        StoreError::Backend {
            store: format!("sqlite {}", self.db.path().display()),
            detail: err.to_string(),
        }
    }
}

fn decode(path: &std::path::Path, org_id: &str, body: &str) -> Result<Cursor, LocalError> {
    serde_json::from_str(body).map_err(|e| LocalError::Corrupt {
        path: path.to_owned(),
        what: format!("cursor of organisation {org_id:?}"),
        detail: e.to_string(),
    })
}

#[async_trait]
impl CursorStore for SqliteCursorStore {
    async fn load(&self, org_id: &str) -> Result<Option<Cursor>, StoreError> {
        let key = org_id.to_owned();
        self.db
            .call(move |conn, path| {
                let body: Option<String> = conn
                    .query_row(
                        "SELECT body FROM cursors WHERE org_id = ?1",
                        params![key],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(sql_error(path, "loading a cursor"))?;
                body.map(|b| decode(path, &key, &b)).transpose()
            })
            .await
            .map_err(|e| self.backend(e))
    }

    async fn save(&self, cursor: &Cursor, expected: Option<u64>) -> Result<(), StoreError> {
        let body = serde_json::to_string(cursor).map_err(|e| StoreError::Backend {
            store: format!("sqlite {}", self.db.path().display()),
            detail: format!("cannot encode the cursor: {e}"),
        })?;
        let org_id = cursor.org_id.clone();
        let version = cursor.version;

        let outcome = self
            .db
            .call(move |conn, path| {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(sql_error(path, "starting a cursor save"))?;
                let stored: Option<i64> = tx
                    .query_row(
                        "SELECT version FROM cursors WHERE org_id = ?1",
                        params![org_id],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(sql_error(path, "reading a cursor version"))?;
                if stored.map(|v| v as u64) != expected {
                    return Ok(SaveOutcome::Conflict);
                }
                tx.execute(
                    "INSERT INTO cursors (org_id, version, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (org_id) DO UPDATE SET version = ?2, body = ?3",
                    params![org_id, version as i64, body],
                )
                .map_err(sql_error(path, "saving a cursor"))?;
                tx.commit()
                    .map_err(sql_error(path, "committing a cursor"))?;
                Ok(SaveOutcome::Saved)
            })
            .await
            .map_err(|e| self.backend(e))?;

        match outcome {
            SaveOutcome::Saved => Ok(()),
            SaveOutcome::Conflict => Err(StoreError::Conflict {
                org_id: cursor.org_id.clone(),
                expected,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use jcwatch_core::ports::SeenEvent;

    fn store(dir: &tempfile::TempDir) -> SqliteCursorStore {
        SqliteCursorStore::new(Db::open_in(dir.path()).unwrap()).unwrap()
    }

    fn cursor(org: &str, version: u64) -> Cursor {
        let at = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
            + chrono::TimeDelta::nanoseconds(123_456_789);
        Cursor {
            org_id: org.to_owned(),
            high_water: Some(at),
            polled_until: Some(at),
            seen: vec![SeenEvent {
                timestamp: at,
                id: "e1".into(),
            }],
            last_ops_notice: None,
            version,
        }
    }

    #[tokio::test]
    async fn a_saved_cursor_loads_back_unchanged_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let saved = cursor("org-a", 1);
        store(&dir).save(&saved, None).await.unwrap();

        let loaded = store(&dir).load("org-a").await.unwrap();

        assert_eq!(loaded, Some(saved));
        assert_eq!(store(&dir).load("other").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_save_with_a_stale_version_is_a_conflict_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        store.save(&cursor("o", 1), None).await.unwrap();
        store.save(&cursor("o", 2), Some(1)).await.unwrap();

        let stale = store.save(&cursor("o", 2), Some(1)).await;
        let create_again = store.save(&cursor("o", 1), None).await;

        assert!(matches!(
            stale,
            Err(StoreError::Conflict {
                expected: Some(1),
                ..
            })
        ));
        assert!(matches!(
            create_again,
            Err(StoreError::Conflict { expected: None, .. })
        ));
        assert_eq!(store.load("o").await.unwrap().unwrap().version, 2);
    }

    #[tokio::test]
    async fn two_stores_on_one_file_racing_from_one_version_save_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = store(&dir);
        let second = store(&dir);
        first.save(&cursor("o", 1), None).await.unwrap();
        let (mine, theirs) = (cursor("o", 2), cursor("o", 2));

        let (a, b) = tokio::join!(first.save(&mine, Some(1)), second.save(&theirs, Some(1)));

        assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1);
        assert_eq!(first.load("o").await.unwrap().unwrap().version, 2);
    }

    #[tokio::test]
    async fn every_cursor_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        store.save(&cursor("b", 1), None).await.unwrap();
        store.save(&cursor("", 1), None).await.unwrap();

        let listed: Vec<String> = store
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.org_id)
            .collect();

        assert_eq!(listed, ["", "b"]);
    }

    #[tokio::test]
    async fn an_unreadable_stored_cursor_is_a_clear_backend_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        store
            .db
            .call_blocking(|conn, _| {
                conn.execute("INSERT INTO cursors VALUES ('x', 1, 'not json')", [])
                    .unwrap();
                Ok(())
            })
            .unwrap();

        let err = store.load("x").await.unwrap_err();

        assert!(err.to_string().contains("unreadable"), "{err}");
        assert!(err.to_string().contains("jcwatch.db"), "{err}");
    }
}
