//! The CLI's enrichment cache: directory profiles and the addresses people used, kept in the
//! state database so that repeated `jcwatch poll` runs look each person up once per TTL and
//! remember address history between runs.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jcwatch_detection::enrich::cache::{CacheError, CacheItem, CacheKey, EnrichmentCache};
use rusqlite::params;

use crate::db::{Db, LocalError, sql_error};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS enrichment_cache (
    pk            TEXT NOT NULL,
    sk            TEXT NOT NULL,
    value         TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (pk, sk)
);
CREATE INDEX IF NOT EXISTS enrichment_cache_expiry ON enrichment_cache (expires_at_ms);
";

/// The enrichment cache in the state database.
#[derive(Debug, Clone)]
pub struct SqliteEnrichmentCache {
    db: Db,
}

impl SqliteEnrichmentCache {
    pub fn new(db: Db) -> Result<Self, LocalError> {
        db.ensure_schema(SCHEMA)?;
        Ok(SqliteEnrichmentCache { db })
    }

    fn failed(&self, error: LocalError) -> CacheError {
        CacheError {
            cache: format!("sqlite {}", self.db.path().display()),
            detail: error.to_string(),
        }
    }
}

#[async_trait]
impl EnrichmentCache for SqliteEnrichmentCache {
    async fn get_many(
        &self,
        keys: &[CacheKey],
        now: DateTime<Utc>,
    ) -> Result<HashMap<CacheKey, String>, CacheError> {
        let keys = keys.to_vec();
        let now = now.timestamp_millis();
        self.db
            .call(move |conn, path| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT value FROM enrichment_cache \
                         WHERE pk = ?1 AND sk = ?2 AND expires_at_ms > ?3",
                    )
                    .map_err(sql_error(path, "reading the enrichment cache"))?;
                let mut found = HashMap::new();
                for key in keys {
                    let mut rows = stmt
                        .query(params![key.pk, key.sk, now])
                        .map_err(sql_error(path, "reading the enrichment cache"))?;
                    if let Some(row) = rows
                        .next()
                        .map_err(sql_error(path, "reading the enrichment cache"))?
                    {
                        let value: String = row
                            .get(0)
                            .map_err(sql_error(path, "reading the enrichment cache"))?;
                        found.insert(key, value);
                    }
                }
                Ok(found)
            })
            .await
            .map_err(|e| self.failed(e))
    }

    async fn put_many(&self, items: &[CacheItem]) -> Result<(), CacheError> {
        let items = items.to_vec();
        let now = Utc::now().timestamp_millis();
        self.db
            .call(move |conn, path| {
                let tx = conn
                    .transaction()
                    .map_err(sql_error(path, "starting an enrichment cache write"))?;
                // Expired values are dropped here, so the file does not grow for ever.
                tx.execute(
                    "DELETE FROM enrichment_cache WHERE expires_at_ms <= ?1",
                    params![now],
                )
                .map_err(sql_error(path, "dropping expired enrichment values"))?;
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "INSERT OR REPLACE INTO enrichment_cache (pk, sk, value, expires_at_ms) \
                             VALUES (?1, ?2, ?3, ?4)",
                        )
                        .map_err(sql_error(path, "writing the enrichment cache"))?;
                    for item in &items {
                        stmt.execute(params![
                            item.key.pk,
                            item.key.sk,
                            item.value,
                            item.expires_at.timestamp_millis()
                        ])
                        .map_err(sql_error(path, "writing the enrichment cache"))?;
                    }
                }
                tx.commit()
                    .map_err(sql_error(path, "committing the enrichment cache"))
            })
            .await
            .map_err(|e| self.failed(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn item(pk: &str, value: &str, expires: DateTime<Utc>) -> CacheItem {
        CacheItem {
            key: CacheKey::new(pk, "profile"),
            value: value.into(),
            expires_at: expires,
        }
    }

    #[tokio::test]
    async fn a_value_survives_reopening_the_database_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let later = Utc::now() + chrono::Duration::hours(1);
        SqliteEnrichmentCache::new(Db::open_in(dir.path()).unwrap())
            .unwrap()
            .put_many(&[item("person#o#user:id:1", "{}", later)])
            .await
            .unwrap();
        let reopened = SqliteEnrichmentCache::new(Db::open_in(dir.path()).unwrap()).unwrap();
        let key = CacheKey::new("person#o#user:id:1", "profile");

        let now = reopened
            .get_many(std::slice::from_ref(&key), Utc::now())
            .await
            .unwrap();
        let after = reopened
            .get_many(
                std::slice::from_ref(&key),
                later + chrono::Duration::seconds(1),
            )
            .await
            .unwrap();

        assert_eq!(now.get(&key).map(String::as_str), Some("{}"));
        assert!(after.is_empty());
    }

    #[tokio::test]
    async fn a_missing_key_is_absent_and_a_rewrite_replaces_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SqliteEnrichmentCache::new(Db::open_in(dir.path()).unwrap()).unwrap();
        let later = Utc::now() + chrono::Duration::hours(1);
        cache.put_many(&[item("a", "old", later)]).await.unwrap();
        cache.put_many(&[item("a", "new", later)]).await.unwrap();

        let found = cache
            .get_many(
                &[CacheKey::new("a", "profile"), CacheKey::new("b", "profile")],
                at(0),
            )
            .await
            .unwrap();

        assert_eq!(found.len(), 1);
        assert_eq!(found[&CacheKey::new("a", "profile")], "new");
    }

    #[tokio::test]
    async fn expired_values_are_dropped_from_the_file_on_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_in(dir.path()).unwrap();
        let cache = SqliteEnrichmentCache::new(db.clone()).unwrap();
        cache.put_many(&[item("old", "v", at(10))]).await.unwrap();

        cache
            .put_many(&[item("new", "v", Utc::now() + chrono::Duration::hours(1))])
            .await
            .unwrap();

        let rows: i64 = db
            .call_blocking(|conn, _| {
                Ok(conn
                    .query_row("SELECT COUNT(*) FROM enrichment_cache", [], |r| r.get(0))
                    .unwrap())
            })
            .unwrap();
        assert_eq!(rows, 1);
    }
}
