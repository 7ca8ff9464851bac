//! The AWS SDK operations a piece of Rust code calls, and the IAM actions each needs.
//!
//! An SDK call reads `client.operation().setter(x)...send()`: the operation is the last
//! argument-less method of a chain before `.send()` that is not a builder helper such as
//! `into_paginator()`. Operations missing from [`IAM_ACTIONS`] are reported rather than
//! skipped, so a new call cannot slip past the policy check.

use std::collections::{BTreeMap, BTreeSet};

use super::rust_source::{SourceFile, method_chains};

/// SDK fluent operation (the method name on the client) -> IAM actions it needs.
/// `transact_write_items` and `transact_get_items` are resolved from the request builders
/// used next to them (see [`transaction_actions`]).
pub const IAM_ACTIONS: &[(&str, &[&str])] = &[
    // DynamoDB
    ("get_item", &["dynamodb:GetItem"]),
    ("put_item", &["dynamodb:PutItem"]),
    ("update_item", &["dynamodb:UpdateItem"]),
    ("delete_item", &["dynamodb:DeleteItem"]),
    ("query", &["dynamodb:Query"]),
    ("scan", &["dynamodb:Scan"]),
    ("batch_get_item", &["dynamodb:BatchGetItem"]),
    ("batch_write_item", &["dynamodb:BatchWriteItem"]),
    ("describe_table", &["dynamodb:DescribeTable"]),
    ("transact_write_items", &[]),
    ("transact_get_items", &[]),
    // SNS
    ("publish", &["sns:Publish"]),
    ("publish_batch", &["sns:Publish"]),
    // Lambda
    ("invoke", &["lambda:InvokeFunction"]),
    ("invoke_with_response_stream", &["lambda:InvokeFunction"]),
    // Secrets Manager
    ("get_secret_value", &["secretsmanager:GetSecretValue"]),
    (
        "batch_get_secret_value",
        &[
            "secretsmanager:BatchGetSecretValue",
            "secretsmanager:GetSecretValue",
        ],
    ),
    ("describe_secret", &["secretsmanager:DescribeSecret"]),
    // S3
    ("get_object", &["s3:GetObject"]),
    ("head_object", &["s3:GetObject"]),
    ("put_object", &["s3:PutObject"]),
    ("list_objects_v2", &["s3:ListBucket"]),
    // SQS
    ("send_message", &["sqs:SendMessage"]),
    ("send_message_batch", &["sqs:SendMessage"]),
    ("receive_message", &["sqs:ReceiveMessage"]),
    ("delete_message", &["sqs:DeleteMessage"]),
    ("delete_message_batch", &["sqs:DeleteMessage"]),
    (
        "change_message_visibility",
        &["sqs:ChangeMessageVisibility"],
    ),
    ("get_queue_url", &["sqs:GetQueueUrl"]),
    ("get_queue_attributes", &["sqs:GetQueueAttributes"]),
];

/// Argument-less methods that appear in SDK chains but are not operations.
const CHAIN_HELPERS: &[&str] = &[
    "send",
    "into_paginator",
    "items",
    "customize",
    "clone",
    "to_owned",
    "as_ref",
    "into_future",
    "build",
];

fn actions_of(operation: &str) -> Option<&'static [&'static str]> {
    IAM_ACTIONS
        .iter()
        .find(|(name, _)| *name == operation)
        .map(|(_, actions)| *actions)
}

/// The SDK calls of one file: IAM action -> the places that need it; and the operations
/// the table does not know.
#[derive(Debug, Default)]
pub struct SdkCalls {
    pub actions: BTreeMap<String, BTreeSet<String>>,
    pub unknown: BTreeSet<String>,
}

impl SdkCalls {
    pub fn merge(&mut self, other: SdkCalls) {
        for (action, places) in other.actions {
            self.actions.entry(action).or_default().extend(places);
        }
        self.unknown.extend(other.unknown);
    }
}

/// Reads the SDK operations a file calls.
pub fn sdk_calls(file: &SourceFile) -> SdkCalls {
    let mut calls = SdkCalls::default();
    for chain in method_chains(&file.code) {
        let send_at = chain.iter().position(|c| c.name == "send" && c.empty_args);
        let operation = match send_at {
            Some(send_at) => chain[..send_at]
                .iter()
                .rev()
                .find(|c| c.empty_args && !CHAIN_HELPERS.contains(&c.name.as_str())),
            // A request built in one statement and sent in another still names its
            // operation: count a known one wherever it appears.
            None => chain
                .iter()
                .find(|c| c.empty_args && actions_of(&c.name).is_some()),
        };
        let Some(operation) = operation else {
            continue;
        };
        let place = format!(
            "{}:{} .{}()",
            file.shown,
            file.line_of(operation.offset),
            operation.name
        );
        let actions: Vec<&str> = match operation.name.as_str() {
            "transact_write_items" | "transact_get_items" => transaction_actions(&file.code),
            name => match actions_of(name) {
                Some(actions) => actions.to_vec(),
                None => {
                    calls.unknown.insert(place);
                    continue;
                }
            },
        };
        for action in actions {
            calls
                .actions
                .entry(action.to_owned())
                .or_default()
                .insert(place.clone());
        }
    }
    calls
}

/// IAM checks each item of a DynamoDB transaction as its own action, so the actions of
/// a transaction are read from the request builders of the same file.
fn transaction_actions(code: &str) -> Vec<&'static str> {
    [
        ("Put::builder", "dynamodb:PutItem"),
        ("Update::builder", "dynamodb:UpdateItem"),
        ("Delete::builder", "dynamodb:DeleteItem"),
        ("ConditionCheck::builder", "dynamodb:ConditionCheckItem"),
        ("Get::builder", "dynamodb:GetItem"),
    ]
    .into_iter()
    .filter(|(builder, _)| code.contains(builder))
    .map(|(_, action)| action)
    .collect()
}
