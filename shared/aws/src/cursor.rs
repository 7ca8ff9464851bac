//! [`CursorStore`] on DynamoDB: one item per organisation, written with a conditional put so
//! that two polls racing on one cursor cannot both advance it.
//!
//! Item layout (table hash key `pk`, a string):
//! `pk = "cursor#<org_id>"`, `version` (number, the optimistic-concurrency version),
//! `cursor` (the [`Cursor`] as JSON text), `high_water` (RFC 3339, for people reading the
//! table) and `updated_at`.

use async_trait::async_trait;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use jcwatch_core::ports::{Cursor, CursorStore, StoreError};
use jcwatch_model::time::format_timestamp;

/// DynamoDB refuses items over 400 KB; keep a margin for the other attributes and names.
/// The poll use case bounds the `seen` list, so reaching this means a bug, and the error
/// says so instead of letting DynamoDB answer with a less helpful `ValidationException`.
pub const MAX_CURSOR_ITEM_BYTES: usize = 380 * 1024;

/// The DynamoDB cursor table.
#[derive(Debug, Clone)]
pub struct DynamoCursorStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoCursorStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoCursorStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn backend(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Backend {
            store: format!("DynamoDB table {}", self.table),
            detail: detail.into(),
        }
    }
}

/// The item key of one organisation's cursor.
pub(crate) fn cursor_key(org_id: &str) -> String {
    format!("cursor#{org_id}")
}

#[async_trait]
impl CursorStore for DynamoCursorStore {
    async fn load(&self, org_id: &str) -> Result<Option<Cursor>, StoreError> {
        let key = cursor_key(org_id);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.backend(format!("reading {key}: {}", DisplayErrorContext(&e))))?;
        let Some(item) = output.item else {
            return Ok(None);
        };

        let json = match item.get("cursor") {
            Some(AttributeValue::S(json)) => json,
            _ => return Err(self.backend(format!("item {key} has no string attribute `cursor`"))),
        };
        let mut cursor: Cursor = serde_json::from_str(json)
            .map_err(|e| self.backend(format!("item {key} holds an unreadable cursor: {e}")))?;

        // The attribute the condition checks is the authority on the version.
        cursor.version = match item.get("version") {
            Some(AttributeValue::N(n)) => n
                .parse()
                .map_err(|_| self.backend(format!("item {key} has a non-integer version {n}")))?,
            _ => return Err(self.backend(format!("item {key} has no number attribute `version`"))),
        };
        cursor.org_id = org_id.to_string();
        Ok(Some(cursor))
    }

    async fn save(&self, cursor: &Cursor, expected: Option<u64>) -> Result<(), StoreError> {
        let key = cursor_key(&cursor.org_id);
        let json = serde_json::to_string(cursor)
            .map_err(|e| self.backend(format!("serialising cursor {key}: {e}")))?;
        if json.len() > MAX_CURSOR_ITEM_BYTES {
            return Err(self.backend(format!(
                "cursor {key} is {} bytes, over the {MAX_CURSOR_ITEM_BYTES}-byte item budget \
                 (its list of seen events should have been bounded)",
                json.len()
            )));
        }

        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(key.clone()))
            .item("version", AttributeValue::N(cursor.version.to_string()))
            .item("cursor", AttributeValue::S(json))
            .item(
                "updated_at",
                AttributeValue::S(format_timestamp(chrono::Utc::now())),
            );
        if let Some(high_water) = cursor.high_water {
            put = put.item(
                "high_water",
                AttributeValue::S(format_timestamp(high_water)),
            );
        }
        put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(version) => put
                .condition_expression("#v = :expected")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string())),
        };

        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let conflict = e
                    .as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception());
                if conflict {
                    Err(StoreError::Conflict {
                        org_id: cursor.org_id.clone(),
                        expected,
                    })
                } else {
                    Err(self.backend(format!("writing {key}: {}", DisplayErrorContext(&e))))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_key_prefixes_the_organisation() {
        assert_eq!(cursor_key("5f3a"), "cursor#5f3a");
        assert_eq!(cursor_key(""), "cursor#");
    }
}
