//! The alerts table in DynamoDB: the [`AlertStore`] port.
//!
//! One item per alert: `pk` = alert id, `sk` = `"alert"`, the alert as JSON in `body`, and
//! the attributes the store works with: `notified`, `pending`, `claim_until` (epoch ms),
//! `version` (optimistic concurrency), `expires_at` (TTL, epoch seconds), and mirrors of
//! `rule_id`, `severity`, `route`, `org`, `first_seen`, `last_seen`, `count` for people
//! reading the table.
//!
//! The global secondary index `by_time` (hash `gsi1pk`, range `gsi1sk` = first seen, fixed
//! width so it sorts as text, projection ALL) lists alerts by time. `gsi1pk` is the
//! organisation (or `"all"` without one), except while an alert waits to be published,
//! when it is `"pending"`: that partition is exactly the retry queue, so finding the
//! alerts to publish again is one small query instead of a filter over every alert.
//!
//! A repeat of a known alert is merged in Rust ([`merge_alert`]) and written back only if
//! the stored `version` is still the one read, so concurrent detect invocations never lose
//! each other's events and a redelivered batch changes nothing.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ReturnValuesOnConditionCheckFailure, ScalarAttributeType,
    TimeToLiveSpecification,
};
use chrono::{DateTime, Utc};
use jcwatch_detection::store::{
    ALERT_RETENTION, AlertQuery, AlertStore, Delivery, Recorded, StoreError, bound_event_ids,
    merge_alert,
};
use jcwatch_model::Alert;

/// The index that lists alerts by first-seen time.
pub const BY_TIME_INDEX: &str = "by_time";
/// The `gsi1pk` of alerts waiting to be published.
const PENDING: &str = "pending";
/// The `gsi1pk` of alerts without an organisation.
const NO_ORG: &str = "all";
const SORT_KEY: &str = "alert";
/// Merge attempts before giving up on an alert that keeps changing.
const MERGE_ATTEMPTS: u32 = 8;
/// Pages read by one listing, so a listing is bounded whatever the table holds.
const MAX_PAGES: usize = 20;

type Item = HashMap<String, AttributeValue>;

/// Alerts in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoAlertStore {
    client: Client,
    table: String,
}

impl DynamoAlertStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoAlertStore {
            client,
            table: table.into(),
        }
    }

    fn unavailable(&self, error: impl std::error::Error) -> StoreError {
        StoreError::Unavailable {
            store: format!("DynamoDB table {}", self.table),
            detail: DisplayErrorContext(error).to_string(),
        }
    }

    fn corrupt(&self, key: &str, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            store: format!("DynamoDB table {}", self.table),
            key: key.to_string(),
            detail: detail.to_string(),
        }
    }

    fn key(alert_id: &str) -> Item {
        HashMap::from([
            ("pk".to_string(), s(alert_id)),
            ("sk".to_string(), s(SORT_KEY)),
        ])
    }

    fn new_item(&self, alert: &Alert, delivery: Delivery) -> Result<Item, StoreError> {
        let mut item = Self::key(&alert.alert_id);
        let pending = matches!(delivery, Delivery::Notify { .. });
        let partition = if pending {
            PENDING.to_string()
        } else {
            org_partition(alert)
        };
        item.insert("gsi1pk".into(), s(&partition));
        item.insert("gsi1sk".into(), s(&sort_time(alert.first_seen)));
        item.insert("notified".into(), AttributeValue::Bool(false));
        item.insert("pending".into(), AttributeValue::Bool(pending));
        item.insert("version".into(), n(1));
        if let Delivery::Notify { claim_until } = delivery {
            item.insert("claim_until".into(), n(claim_until.timestamp_millis()));
        }
        item.extend(self.body_attributes(alert)?);
        Ok(item)
    }

    /// The attributes that change when an alert is merged.
    fn body_attributes(&self, alert: &Alert) -> Result<Item, StoreError> {
        let mut body = alert.clone();
        body.notified = false;
        let json = serde_json::to_string(&body)
            .map_err(|e| self.corrupt(&alert.alert_id, format!("cannot serialise: {e}")))?;
        let expires = alert.last_seen + ALERT_RETENTION;
        let mut item = HashMap::from([
            ("body".to_string(), s(&json)),
            ("rule_id".to_string(), s(&alert.rule_id)),
            ("severity".to_string(), s(alert.severity.as_str())),
            ("route".to_string(), s(alert.route.as_str())),
            ("first_seen".to_string(), s(&sort_time(alert.first_seen))),
            ("last_seen".to_string(), s(&sort_time(alert.last_seen))),
            ("count".to_string(), n(alert.count as i64)),
            ("expires_at".to_string(), n(expires.timestamp())),
        ]);
        if let Some(org) = &alert.org {
            item.insert("org".into(), s(org));
        }
        Ok(item)
    }

    fn alert_from(&self, item: &Item) -> Result<Alert, StoreError> {
        let id = item
            .get("pk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let body = item
            .get("body")
            .and_then(|v| v.as_s().ok())
            .ok_or_else(|| self.corrupt(&id, "no body"))?;
        let mut alert: Alert =
            serde_json::from_str(body).map_err(|e| self.corrupt(&id, e.to_string()))?;
        alert.notified = matches!(item.get("notified"), Some(AttributeValue::Bool(true)));
        Ok(alert)
    }

    /// Folds `incoming` into the stored alert, retrying when another writer got there first.
    async fn merge(&self, incoming: &Alert, mut current: Item) -> Result<Recorded, StoreError> {
        for _ in 0..MERGE_ATTEMPTS {
            let mut stored = self.alert_from(&current)?;
            if !merge_alert(&mut stored, incoming) {
                return Ok(Recorded::Merged { changed: false });
            }
            let version = number(&current, "version").unwrap_or(0);

            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(&incoming.alert_id)))
                .condition_expression("#v = :old")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":old", n(version))
                .expression_attribute_values(":new", n(version + 1))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            let mut sets = vec!["#v = :new".to_string()];
            for (i, (name, value)) in self.body_attributes(&stored)?.into_iter().enumerate() {
                sets.push(format!("#a{i} = :a{i}"));
                update = update
                    .expression_attribute_names(format!("#a{i}"), name)
                    .expression_attribute_values(format!(":a{i}"), value);
            }
            let result = update
                .update_expression(format!("SET {}", sets.join(", ")))
                .send()
                .await;

            match result {
                Ok(_) => return Ok(Recorded::Merged { changed: true }),
                Err(error) => {
                    let service = error.into_service_error();
                    if !service.is_conditional_check_failed_exception() {
                        return Err(self.unavailable(service));
                    }
                    current = match service {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e) => {
                            match e.item {
                                Some(item) => item,
                                None => self.read(&incoming.alert_id).await?,
                            }
                        }
                        _ => self.read(&incoming.alert_id).await?,
                    };
                }
            }
        }
        Err(StoreError::Contended {
            store: format!("DynamoDB table {}", self.table),
            alert_id: incoming.alert_id.clone(),
            attempts: MERGE_ATTEMPTS,
        })
    }

    async fn read(&self, alert_id: &str) -> Result<Item, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(alert_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.unavailable(e.into_service_error()))?;
        output
            .item
            .ok_or_else(|| self.corrupt(alert_id, "vanished while being merged"))
    }

    /// One partition of `by_time`, newest or oldest first, bounded.
    async fn query_partition(
        &self,
        partition: &str,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        oldest_first: bool,
        filter: Option<(&str, Item)>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let low = since.map(sort_time).unwrap_or_else(|| "0".into());
        let high = until.map(sort_time).unwrap_or_else(|| "9".into());
        let mut values: Item = HashMap::from([
            (":p".to_string(), s(partition)),
            (":lo".to_string(), s(&low)),
            (":hi".to_string(), s(&high)),
        ]);
        let mut filter_expression = None;
        if let Some((expression, extra)) = filter {
            values.extend(extra);
            filter_expression = Some(expression.to_string());
        }

        let mut items = Vec::new();
        let mut start = None;
        for _ in 0..MAX_PAGES {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_TIME_INDEX)
                .key_condition_expression("gsi1pk = :p AND gsi1sk BETWEEN :lo AND :hi")
                .set_filter_expression(filter_expression.clone())
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(oldest_first)
                .set_exclusive_start_key(start.take());
            let output = query
                .send()
                .await
                .map_err(|e| self.unavailable(e.into_service_error()))?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() || items.len() >= limit {
                break;
            }
        }
        // `until` is exclusive; BETWEEN is inclusive.
        if let Some(until) = until {
            let high = sort_time(until);
            items.retain(|i| i.get("gsi1sk").and_then(|v| v.as_s().ok()) != Some(&high));
        }
        items.truncate(limit);
        Ok(items)
    }

    /// Every alert, for a listing across organisations (an operator's view; bounded).
    async fn scan_all(&self) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        for _ in 0..MAX_PAGES {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :sk")
                .expression_attribute_values(":sk", s(SORT_KEY))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.unavailable(e.into_service_error()))?;
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(items)
    }
}

#[async_trait]
impl AlertStore for DynamoAlertStore {
    async fn record(&self, alert: &Alert, delivery: Delivery) -> Result<Recorded, StoreError> {
        let mut fresh = alert.clone();
        bound_event_ids(&mut fresh);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.new_item(&fresh, delivery)?))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;

        let error = match result {
            Ok(_) => return Ok(Recorded::Created),
            Err(error) => error.into_service_error(),
        };
        match error {
            aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e) => {
                let current = match e.item {
                    Some(item) => item,
                    None => self.read(&alert.alert_id).await?,
                };
                self.merge(&fresh, current).await
            }
            other => Err(self.unavailable(other)),
        }
    }

    async fn mark_notified(&self, alert_id: &str) -> Result<(), StoreError> {
        // Leaving the pending partition: back under the organisation, or "all".
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(alert_id)))
            .update_expression(
                "SET notified = :t, pending = :f, gsi1pk = if_not_exists(org, :all) \
                 REMOVE claim_until",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .expression_attribute_values(":all", s(NO_ORG))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(self.unavailable(e.into_service_error())),
        }
    }

    async fn release(&self, alert_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(alert_id)))
            .update_expression("REMOVE claim_until")
            .condition_expression("pending = :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let service = e.into_service_error();
                if service.is_conditional_check_failed_exception() {
                    return Ok(());
                }
                Err(self.unavailable(service))
            }
        }
    }

    async fn list_pending(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Alert>, StoreError> {
        let filter = (
            "attribute_not_exists(claim_until) OR claim_until <= :now",
            HashMap::from([(":now".to_string(), n(now.timestamp_millis()))]),
        );
        let items = self
            .query_partition(PENDING, None, None, true, Some(filter), limit)
            .await?;
        items.iter().map(|i| self.alert_from(i)).collect()
    }

    async fn claim(
        &self,
        alert_id: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(alert_id)))
            .update_expression("SET claim_until = :until")
            .condition_expression(
                "pending = :t AND (attribute_not_exists(claim_until) OR claim_until <= :now)",
            )
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":until", n(until.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => {
                let service = e.into_service_error();
                if service.is_conditional_check_failed_exception() {
                    return Ok(false);
                }
                Err(self.unavailable(service))
            }
        }
    }

    async fn list(&self, query: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        let items = match &query.org {
            Some(org) => {
                let mut items = self
                    .query_partition(org, query.since, query.until, false, None, query.limit)
                    .await?;
                let pending_filter = ("org = :org", HashMap::from([(":org".to_string(), s(org))]));
                items.extend(
                    self.query_partition(
                        PENDING,
                        query.since,
                        query.until,
                        false,
                        Some(pending_filter),
                        query.limit,
                    )
                    .await?,
                );
                items
            }
            None => self.scan_all().await?,
        };

        let mut alerts = items
            .iter()
            .map(|i| self.alert_from(i))
            .collect::<Result<Vec<_>, _>>()?;
        alerts.retain(|a| query.since.is_none_or(|since| a.first_seen >= since));
        alerts.retain(|a| query.until.is_none_or(|until| a.first_seen < until));
        alerts.sort_by(|a, b| (b.first_seen, &b.alert_id).cmp(&(a.first_seen, &a.alert_id)));
        alerts.truncate(query.limit);
        Ok(alerts)
    }

    async fn get(&self, alert_id: &str) -> Result<Option<Alert>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(alert_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.unavailable(e.into_service_error()))?;
        output.item.as_ref().map(|i| self.alert_from(i)).transpose()
    }
}

fn org_partition(alert: &Alert) -> String {
    alert.org.clone().unwrap_or_else(|| NO_ORG.to_string())
}

/// A time as fixed-width text, so that text order is time order.
fn sort_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_string())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// Creates an alerts table the way the Terraform module does (for tests and local trials):
/// on-demand, `pk`/`sk`, the `by_time` index, TTL on `expires_at`.
pub async fn create_alerts_table(client: &Client, table: &str) -> Result<(), String> {
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
    let index = GlobalSecondaryIndex::builder()
        .index_name(BY_TIME_INDEX)
        .key_schema(key("gsi1pk", KeyType::Hash)?)
        .key_schema(key("gsi1sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())?;
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .attribute_definitions(attribute("gsi1pk")?)
        .attribute_definitions(attribute("gsi1sk")?)
        .global_secondary_indexes(index)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    enable_ttl(client, table).await
}

pub(crate) async fn enable_ttl(client: &Client, table: &str) -> Result<(), String> {
    let spec = TimeToLiveSpecification::builder()
        .attribute_name("expires_at")
        .enabled(true)
        .build()
        .map_err(|e| e.to_string())?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(e).to_string())?;
    Ok(())
}
