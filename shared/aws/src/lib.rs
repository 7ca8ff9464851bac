//! AWS adapters for the jcwatch ports: the DynamoDB cursor, alert and rule-state stores, the
//! Lambda invoker that hands batches to the detect function, the SNS notifier, the loaders
//! for the Secrets Manager credential and the S3 configuration file, the dead-letter queue
//! reader and Lambda target that replay failed batches, and enrichment's DynamoDB cache and
//! address-list reader. Each adapter is a small struct built from an SDK client and a
//! resource name; none of them lets an SDK type escape.

pub mod alerts;
pub mod cache;
mod cursor;
mod dlq;
mod invoke;
mod lists;
mod notify;
mod replay;
mod s3;
mod sdk;
mod secret;
pub mod state;

pub use cache::{CacheStats, DynamoEnrichmentCache, create_cache_table};
pub use cursor::{DynamoCursorStore, MAX_CURSOR_ITEM_BYTES};
pub use dlq::{MAX_VISIBILITY_TIMEOUT, SqsDeadLetterQueue};
pub use invoke::{InvokeError, LambdaBatchSink, LambdaInvoker, MAX_ASYNC_PAYLOAD_BYTES};
pub use lists::S3ListSource;
pub use notify::{MAX_PUBLISH_BYTES, SnsNotifier, sns_message};
pub use replay::{InvokeMode, LambdaReplayTarget, MAX_SYNC_PAYLOAD_BYTES};
pub use s3::{S3ConfigLoader, S3Error, S3Location};
pub use sdk::{load_sdk_config, s3_client};
pub use secret::{SecretError, SecretLoader, parse_secret};
