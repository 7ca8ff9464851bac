//! The enrichment cache in DynamoDB: the [`EnrichmentCache`] port.
//!
//! The table is named by the detect function's `CACHE_TABLE`: string hash key `pk`, string
//! range key `sk`, the value in `v`, and the TTL attribute `expires_at` (epoch seconds), so
//! DynamoDB deletes what expired. One item per key: a person's profile
//! (`person#<org>#<kind>:<field>:<value>` / `profile`), an address a person used
//! (`seen#<org>#<person>` / the address), the start of an organisation's address history
//! (`seen#<org>` / `since`).
//!
//! A batch's keys are read with `BatchGetItem` (100 keys per call, eventually consistent,
//! which costs half a strongly consistent read and is fresh enough for a cache) and written
//! with `BatchWriteItem` (25 per call); the unprocessed part of either is retried a few times
//! with a short backoff. [`CacheStats`] counts the calls, for the benchmark and the log line.
//!
//! N.B. DynamoDB deletes expired items up to days late (and the emulator never does), so
//! reads filter on `expires_at` themselves.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use jcwatch_detection::enrich::cache::{CacheError, CacheItem, CacheKey, EnrichmentCache};

/// BatchGetItem takes at most 100 keys.
const READ_CHUNK: usize = 100;
/// BatchWriteItem takes at most 25 requests.
const WRITE_CHUNK: usize = 25;
/// Rounds of retrying what DynamoDB left unprocessed.
const ROUNDS: u32 = 4;

type Item = HashMap<String, AttributeValue>;

/// Calls made by a [`DynamoEnrichmentCache`], shared by its clones.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// `BatchGetItem` calls, retries of unprocessed keys included.
    pub read_calls: AtomicU64,
    /// Items read back.
    pub items_read: AtomicU64,
    /// `BatchWriteItem` calls, retries included.
    pub write_calls: AtomicU64,
    pub items_written: AtomicU64,
}

impl CacheStats {
    /// `(read calls, items read, write calls, items written)` so far.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.read_calls.load(Ordering::Relaxed),
            self.items_read.load(Ordering::Relaxed),
            self.write_calls.load(Ordering::Relaxed),
            self.items_written.load(Ordering::Relaxed),
        )
    }
}

/// The enrichment cache in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoEnrichmentCache {
    client: Client,
    table: String,
    stats: Arc<CacheStats>,
}

impl DynamoEnrichmentCache {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoEnrichmentCache {
            client,
            table: table.into(),
            stats: Arc::default(),
        }
    }

    /// The calls made so far.
    pub fn stats(&self) -> Arc<CacheStats> {
        self.stats.clone()
    }

    fn unavailable(&self, detail: impl Into<String>) -> CacheError {
        CacheError {
            cache: format!("DynamoDB table {}", self.table),
            detail: detail.into(),
        }
    }

    async fn read_chunk(
        &self,
        keys: &[CacheKey],
        now: DateTime<Utc>,
        found: &mut HashMap<CacheKey, String>,
    ) -> Result<(), CacheError> {
        let mut todo = KeysAndAttributes::builder()
            .set_keys(Some(keys.iter().map(key_item).collect()))
            .projection_expression("pk, sk, v, expires_at")
            .build()
            .map_err(|e| self.unavailable(e.to_string()))?;
        for round in 0..ROUNDS {
            self.stats.read_calls.fetch_add(1, Ordering::Relaxed);
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, todo)
                .send()
                .await
                .map_err(|e| self.unavailable(DisplayErrorContext(e).to_string()))?;
            let items = output
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default();
            self.stats
                .items_read
                .fetch_add(items.len() as u64, Ordering::Relaxed);
            for item in items {
                if let Some((key, value)) = live_value(&item, now) {
                    found.insert(key, value);
                }
            }
            match output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys().is_empty())
            {
                None => return Ok(()),
                Some(rest) => {
                    todo = rest;
                    // Throttled: back off before the unprocessed rest.
                    tokio::time::sleep(Duration::from_millis(20 << round)).await;
                }
            }
        }
        Err(self.unavailable(format!(
            "keys still unprocessed after {ROUNDS} rounds of BatchGetItem"
        )))
    }
}

#[async_trait]
impl EnrichmentCache for DynamoEnrichmentCache {
    async fn get_many(
        &self,
        keys: &[CacheKey],
        now: DateTime<Utc>,
    ) -> Result<HashMap<CacheKey, String>, CacheError> {
        // BatchGetItem rejects a key asked twice in one call.
        let mut unique: Vec<CacheKey> = keys.to_vec();
        unique.sort();
        unique.dedup();
        let mut found = HashMap::new();
        for chunk in unique.chunks(READ_CHUNK) {
            self.read_chunk(chunk, now, &mut found).await?;
        }
        Ok(found)
    }

    async fn put_many(&self, items: &[CacheItem]) -> Result<(), CacheError> {
        // BatchWriteItem rejects two requests for one key in a call; the last one wins.
        let unique: BTreeMap<&CacheKey, &CacheItem> = items.iter().map(|i| (&i.key, i)).collect();
        let requests: Vec<WriteRequest> = unique
            .values()
            .map(|item| write_request(item))
            .collect::<Result<_, _>>()
            .map_err(|e| self.unavailable(e))?;

        for chunk in requests.chunks(WRITE_CHUNK) {
            let mut todo = chunk.to_vec();
            for round in 0..ROUNDS {
                self.stats.write_calls.fetch_add(1, Ordering::Relaxed);
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, todo.clone())
                    .send()
                    .await
                    .map_err(|e| self.unavailable(DisplayErrorContext(e).to_string()))?;
                let rest = output
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                self.stats
                    .items_written
                    .fetch_add((todo.len() - rest.len()) as u64, Ordering::Relaxed);
                todo = rest;
                if todo.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20 << round)).await;
            }
            if !todo.is_empty() {
                return Err(self.unavailable(format!(
                    "{} cache writes still unprocessed after {ROUNDS} rounds",
                    todo.len()
                )));
            }
        }
        Ok(())
    }
}

fn key_item(key: &CacheKey) -> Item {
    HashMap::from([
        ("pk".to_string(), AttributeValue::S(key.pk.clone())),
        ("sk".to_string(), AttributeValue::S(key.sk.clone())),
    ])
}

/// The key and value of an item that has not expired.
fn live_value(item: &Item, now: DateTime<Utc>) -> Option<(CacheKey, String)> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let expires_at: i64 = item.get("expires_at")?.as_n().ok()?.parse().ok()?;
    if expires_at <= now.timestamp() {
        return None;
    }
    Some((CacheKey::new(text("pk")?, text("sk")?), text("v")?))
}

fn write_request(item: &CacheItem) -> Result<WriteRequest, String> {
    // Rounded up, so an item is never dropped before its time.
    let expires_at =
        item.expires_at.timestamp() + i64::from(item.expires_at.timestamp_subsec_nanos() > 0);
    let mut attributes = key_item(&item.key);
    attributes.insert("v".to_string(), AttributeValue::S(item.value.clone()));
    attributes.insert(
        "expires_at".to_string(),
        AttributeValue::N(expires_at.to_string()),
    );
    let put = PutRequest::builder()
        .set_item(Some(attributes))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// Creates a cache table the way the Terraform module does (for tests and local trials):
/// on-demand, `pk`/`sk` strings, TTL on `expires_at`.
pub async fn create_cache_table(client: &Client, table: &str) -> Result<(), String> {
    crate::state::create_key_pair_table(client, table).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_past_its_expiry_is_not_read_back() {
        let item = HashMap::from([
            ("pk".to_string(), AttributeValue::S("p".into())),
            ("sk".to_string(), AttributeValue::S("s".into())),
            ("v".to_string(), AttributeValue::S("v".into())),
            ("expires_at".to_string(), AttributeValue::N("100".into())),
        ]);

        let alive = live_value(&item, DateTime::from_timestamp(99, 0).unwrap());
        let expired = live_value(&item, DateTime::from_timestamp(100, 0).unwrap());

        assert_eq!(alive, Some((CacheKey::new("p", "s"), "v".to_string())));
        assert_eq!(expired, None);
    }

    #[test]
    fn the_expiry_is_rounded_up_to_the_next_second() {
        let item = CacheItem {
            key: CacheKey::new("p", "s"),
            value: "v".into(),
            expires_at: DateTime::from_timestamp(100, 1).unwrap(),
        };

        let request = write_request(&item).unwrap();

        let put = request.put_request().unwrap();
        assert_eq!(put.item()["expires_at"].as_n().unwrap(), "101");
    }
}
