//! The rule-state table in DynamoDB: the [`StateStore`] port.
//!
//! One item per observation: `pk` = the engine's state key (rule, entity, window), `sk` =
//! `o#` and the observation id (usually an event id), `v` = the engine's encoding,
//! `expires_at` = TTL. Adding an observation is a plain put of an item whose content only
//! depends on the event, so a redelivered batch rewrites identical items and two detect
//! invocations touching one key write different items: a set union with no lock and no
//! read before write. Each key may also hold one mark item (`sk` = `m#`) whose `at` only
//! rises, by a conditional update that simply fails when a later mark is already there.
//! Reading a key is one query on its partition.
//!
//! N.B. DynamoDB deletes expired items days late (and the emulator never does), so reads
//! filter on `expires_at` themselves.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest,
    ScalarAttributeType, WriteRequest,
};
use chrono::{DateTime, TimeZone, Utc};
use jcwatch_detection::store::{LoadedState, StateItem, StateMark, StateStore, StoreError};
use tokio::task::JoinSet;

/// BatchWriteItem takes at most 25 requests.
const WRITE_CHUNK: usize = 25;
/// Keys read in parallel.
const READ_PARALLELISM: usize = 8;
/// Rounds of retrying the unprocessed part of a batch write.
const WRITE_ROUNDS: u32 = 6;
/// Pages read for one key; past this the key holds more than any rule needs.
const MAX_PAGES: usize = 50;
/// Sort-key prefix of observation items.
const OBSERVATION: &str = "o#";
/// Sort key of a key's mark item.
const MARK: &str = "m#";

type Item = HashMap<String, AttributeValue>;

/// Rule state in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    client: Client,
    table: String,
}

impl DynamoStateStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStateStore {
            client,
            table: table.into(),
        }
    }

    fn task_failed(&self, error: tokio::task::JoinError) -> StoreError {
        StoreError::Unavailable {
            store: format!("DynamoDB table {}", self.table),
            detail: format!("a state task failed: {error}"),
        }
    }

    fn unavailable(table: &str, error: impl std::error::Error) -> StoreError {
        StoreError::Unavailable {
            store: format!("DynamoDB table {table}"),
            detail: DisplayErrorContext(error).to_string(),
        }
    }

    async fn load_key(
        client: Client,
        table: String,
        key: String,
        now: DateTime<Utc>,
    ) -> Result<LoadedState, StoreError> {
        let mut loaded = LoadedState::default();
        let mut start = None;
        for _ in 0..MAX_PAGES {
            let output = client
                .query()
                .table_name(&table)
                .key_condition_expression("pk = :k")
                .filter_expression("expires_at > :now")
                .expression_attribute_values(":k", AttributeValue::S(key.clone()))
                .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| Self::unavailable(&table, e.into_service_error()))?;
            for item in output.items.unwrap_or_default() {
                match item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                {
                    Some(MARK) => loaded.marks.push(mark_from(&table, &item)?),
                    _ => loaded.items.push(entry_from(&table, &item)?),
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        // Expiry is in whole seconds in the table; keep the finer check of the port.
        loaded.items.retain(|e| e.expires_at > now);
        loaded.marks.retain(|m| m.expires_at > now);
        Ok(loaded)
    }

    async fn raise_one(client: Client, table: String, mark: StateMark) -> Result<(), StoreError> {
        let result = client
            .update_item()
            .table_name(&table)
            .key("pk", AttributeValue::S(mark.key.clone()))
            .key("sk", AttributeValue::S(MARK.to_string()))
            .update_expression("SET #at = :at, expires_at = :e, expires_at_ms = :ems")
            .condition_expression("attribute_not_exists(#at) OR #at < :at")
            .expression_attribute_names("#at", "at_ms")
            .expression_attribute_values(":at", number(mark.at.timestamp_millis()))
            .expression_attribute_values(":e", number(ttl_seconds(mark.expires_at)))
            .expression_attribute_values(":ems", number(mark.expires_at.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let service = e.into_service_error();
                // A later mark is already stored: nothing to raise.
                if service.is_conditional_check_failed_exception() {
                    return Ok(());
                }
                Err(Self::unavailable(&table, service))
            }
        }
    }
}

#[async_trait]
impl StateStore for DynamoStateStore {
    async fn load(&self, keys: &[String], now: DateTime<Utc>) -> Result<LoadedState, StoreError> {
        let mut pending: Vec<String> = keys.to_vec();
        pending.sort();
        pending.dedup();
        let mut queue = pending.into_iter();
        let mut tasks = JoinSet::new();
        let mut loaded = LoadedState::default();
        loop {
            while tasks.len() < READ_PARALLELISM {
                let Some(key) = queue.next() else { break };
                tasks.spawn(Self::load_key(
                    self.client.clone(),
                    self.table.clone(),
                    key,
                    now,
                ));
            }
            let Some(done) = tasks.join_next().await else {
                break;
            };
            let one = done.map_err(|e| self.task_failed(e))??;
            loaded.items.extend(one.items);
            loaded.marks.extend(one.marks);
        }
        loaded.items.sort();
        loaded.marks.sort();
        Ok(loaded)
    }

    async fn raise(&self, marks: &[StateMark]) -> Result<(), StoreError> {
        let mut queue = marks.iter().cloned();
        let mut tasks = JoinSet::new();
        loop {
            while tasks.len() < READ_PARALLELISM {
                let Some(mark) = queue.next() else { break };
                tasks.spawn(Self::raise_one(
                    self.client.clone(),
                    self.table.clone(),
                    mark,
                ));
            }
            let Some(done) = tasks.join_next().await else {
                return Ok(());
            };
            done.map_err(|e| self.task_failed(e))??;
        }
    }

    async fn add(&self, entries: &[StateItem]) -> Result<(), StoreError> {
        // BatchWriteItem rejects two requests for one key in a call.
        let unique: BTreeMap<(&str, &str), &StateItem> = entries
            .iter()
            .map(|e| ((e.key.as_str(), e.id.as_str()), e))
            .collect();
        let requests: Vec<WriteRequest> = unique
            .values()
            .map(|e| write_request(&self.table, e))
            .collect::<Result<_, _>>()?;

        for chunk in requests.chunks(WRITE_CHUNK) {
            let mut todo = chunk.to_vec();
            for round in 0..WRITE_ROUNDS {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, todo)
                    .send()
                    .await
                    .map_err(|e| Self::unavailable(&self.table, e.into_service_error()))?;
                todo = output
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if todo.is_empty() {
                    break;
                }
                // Throttled: back off before the unprocessed rest.
                tokio::time::sleep(Duration::from_millis(50 << round)).await;
            }
            if !todo.is_empty() {
                return Err(StoreError::Unavailable {
                    store: format!("DynamoDB table {}", self.table),
                    detail: format!(
                        "{} state writes still unprocessed after {WRITE_ROUNDS} rounds",
                        todo.len()
                    ),
                });
            }
        }
        Ok(())
    }
}

fn write_request(table: &str, entry: &StateItem) -> Result<WriteRequest, StoreError> {
    let item = HashMap::from([
        ("pk".to_string(), AttributeValue::S(entry.key.clone())),
        (
            "sk".to_string(),
            AttributeValue::S(format!("{OBSERVATION}{}", entry.id)),
        ),
        ("v".to_string(), AttributeValue::S(entry.value.clone())),
        (
            "expires_at".to_string(),
            // Rounded up so an observation is never dropped before its time.
            AttributeValue::N(
                (entry.expires_at.timestamp()
                    + i64::from(entry.expires_at.timestamp_subsec_nanos() > 0))
                .to_string(),
            ),
        ),
        (
            "expires_at_ms".to_string(),
            AttributeValue::N(entry.expires_at.timestamp_millis().to_string()),
        ),
    ]);
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| StoreError::Corrupt {
            store: format!("DynamoDB table {table}"),
            key: entry.key.clone(),
            detail: e.to_string(),
        })?;
    Ok(WriteRequest::builder().put_request(put).build())
}

fn entry_from(table: &str, item: &Item) -> Result<StateItem, StoreError> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let key = text("pk").unwrap_or_default();
    let corrupt = |detail: &str| StoreError::Corrupt {
        store: format!("DynamoDB table {table}"),
        key: key.clone(),
        detail: detail.to_string(),
    };
    let millis = item
        .get("expires_at_ms")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(|| corrupt("no expires_at_ms"))?;
    Ok(StateItem {
        id: text("sk")
            .and_then(|sk| sk.strip_prefix(OBSERVATION).map(str::to_string))
            .ok_or_else(|| corrupt("no observation sort key"))?,
        value: text("v").ok_or_else(|| corrupt("no v"))?,
        expires_at: Utc
            .timestamp_millis_opt(millis)
            .single()
            .ok_or_else(|| corrupt("expires_at_ms out of range"))?,
        key: key.clone(),
    })
}

fn mark_from(table: &str, item: &Item) -> Result<StateMark, StoreError> {
    let key = item
        .get("pk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let millis = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            .ok_or_else(|| StoreError::Corrupt {
                store: format!("DynamoDB table {table}"),
                key: key.clone(),
                detail: format!("mark without a readable {name}"),
            })
    };
    Ok(StateMark {
        at: millis("at_ms")?,
        expires_at: millis("expires_at_ms")?,
        key: key.clone(),
    })
}

/// TTL in whole seconds, rounded up so nothing is dropped before its time.
fn ttl_seconds(t: DateTime<Utc>) -> i64 {
    t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0)
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Creates a state table the way the Terraform module does (for tests and local trials).
pub async fn create_state_table(client: &Client, table: &str) -> Result<(), String> {
    create_key_pair_table(client, table).await
}

/// Creates an on-demand table keyed by `pk` and `sk` strings with TTL on `expires_at`, the
/// shape of the state and enrichment-cache tables.
pub(crate) async fn create_key_pair_table(client: &Client, table: &str) -> Result<(), String> {
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .map_err(|e| e.to_string())
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| e.to_string())
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    crate::alerts::enable_ttl(client, table).await
}
