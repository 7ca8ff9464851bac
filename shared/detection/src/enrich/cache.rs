//! The enrichment cache port: small text values under a `(pk, sk)` key, each with an expiry.
//! Enrichment keeps directory profiles there (and "no such person"), and the addresses each
//! person was seen using. Adapters: [`MemoryCache`] (tests), `jcwatch-local`'s SQLite cache
//! (the CLI), `jcwatch-aws`'s DynamoDB cache with a TTL (the detect Lambda).
//!
//! Reads and writes come in batches, because one detect invocation asks about every person
//! and address of its alerts at once: one round trip (one DynamoDB `BatchGetItem`) instead of
//! one per key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A cache key: a partition (`pk`) and an item within it (`sk`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey {
    pub pk: String,
    pub sk: String,
}

impl CacheKey {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        CacheKey {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// A value to keep until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheItem {
    pub key: CacheKey,
    pub value: String,
    pub expires_at: DateTime<Utc>,
}

/// The cache could not be read or written. Enrichment carries on without it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{cache} is unavailable: {detail}")]
pub struct CacheError {
    /// Which cache (a table name, a file path).
    pub cache: String,
    pub detail: String,
}

/// Keeps enrichment values with an expiry.
#[async_trait]
pub trait EnrichmentCache: Send + Sync {
    /// The unexpired values of those `keys` that are held; absent keys are not in the map.
    async fn get_many(
        &self,
        keys: &[CacheKey],
        now: DateTime<Utc>,
    ) -> Result<HashMap<CacheKey, String>, CacheError>;

    /// Writes every item, replacing what a key held.
    async fn put_many(&self, items: &[CacheItem]) -> Result<(), CacheError>;
}

/// An in-memory cache for tests and one-shot CLI runs, counting its reads and writes.
#[derive(Debug, Default)]
pub struct MemoryCache {
    items: Mutex<HashMap<CacheKey, (String, DateTime<Utc>)>>,
    reads: AtomicU64,
    writes: AtomicU64,
    failing: Mutex<Option<String>>,
}

impl MemoryCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls of [`EnrichmentCache::get_many`] so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Calls of [`EnrichmentCache::put_many`] so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Every key held, expired or not, sorted.
    pub fn keys(&self) -> Vec<CacheKey> {
        let mut keys: Vec<CacheKey> = self.lock().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The value of a key, expired or not.
    pub fn peek(&self, key: &CacheKey) -> Option<(String, DateTime<Utc>)> {
        self.lock().get(key).cloned()
    }

    /// Makes every later call fail with `detail` (`None`: work again).
    pub fn fail_with(&self, detail: Option<&str>) {
        *self
            .failing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = detail.map(str::to_owned);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, (String, DateTime<Utc>)>> {
        self.items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn check(&self) -> Result<(), CacheError> {
        match &*self
            .failing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Some(detail) => Err(CacheError {
                cache: "memory cache".into(),
                detail: detail.clone(),
            }),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl EnrichmentCache for MemoryCache {
    async fn get_many(
        &self,
        keys: &[CacheKey],
        now: DateTime<Utc>,
    ) -> Result<HashMap<CacheKey, String>, CacheError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.check()?;
        let items = self.lock();
        Ok(keys
            .iter()
            .filter_map(|key| {
                let (value, expires_at) = items.get(key)?;
                (*expires_at > now).then(|| (key.clone(), value.clone()))
            })
            .collect())
    }

    async fn put_many(&self, items: &[CacheItem]) -> Result<(), CacheError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.check()?;
        let mut held = self.lock();
        for item in items {
            held.insert(item.key.clone(), (item.value.clone(), item.expires_at));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[tokio::test]
    async fn a_value_is_read_back_until_it_expires() {
        let cache = MemoryCache::new();
        let key = CacheKey::new("person#org#user:id:1", "profile");
        cache
            .put_many(&[CacheItem {
                key: key.clone(),
                value: "v".into(),
                expires_at: at(100),
            }])
            .await
            .unwrap();

        let before = cache
            .get_many(std::slice::from_ref(&key), at(99))
            .await
            .unwrap();
        let after = cache
            .get_many(std::slice::from_ref(&key), at(100))
            .await
            .unwrap();

        assert_eq!(before.get(&key).map(String::as_str), Some("v"));
        assert!(after.is_empty());
        assert_eq!((cache.reads(), cache.writes()), (2, 1));
    }

    #[tokio::test]
    async fn a_failing_cache_says_which_and_why() {
        let cache = MemoryCache::new();
        cache.fail_with(Some("disk full"));

        let error = cache.get_many(&[], at(0)).await.unwrap_err();

        assert_eq!(error.to_string(), "memory cache is unavailable: disk full");
    }
}
