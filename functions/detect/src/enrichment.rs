//! Enrichment for the detect function, built once per cold start: the address lists of the
//! configuration (inline, or S3 objects), the cache (DynamoDB `CACHE_TABLE`, else the
//! instance's memory), and, when `JC_SECRET_ARN` names a credential, JumpCloud's directory
//! and Directory Insights through the same client the poll function uses, with retries cut
//! to the batch's enrichment budget.
//!
//! Nothing here can stop the function from detecting: without a secret, or when the secret
//! cannot be read, enrichment carries on with address context only and says so in the log.
//! Only a bad address list fails the cold start, like any other bad configuration.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use jcwatch_aws::{DynamoEnrichmentCache, S3ConfigLoader, S3ListSource, SecretLoader, s3_client};
use jcwatch_detection::config::{Config, ConfigErrors};
use jcwatch_detection::enrich::cache::EnrichmentCache;
use jcwatch_detection::enrich::{AddressLists, Enricher, MemoryCache, load_address_lists};
use jcwatch_dirinsights::{Client, ClientConfig, RetryPolicy};
use tracing::{error, info};

use crate::config::{DetectEnv, JumpCloudEnv};

/// Loads the address lists and feeds the `allow_in` ones into the detection settings, so
/// the rule engine built from `config` afterwards skips them.
pub async fn load_lists(
    config: &mut Config,
    sdk: &SdkConfig,
) -> Result<AddressLists, ConfigErrors> {
    let source = S3ListSource::new(S3ConfigLoader::new(s3_client(sdk)));
    let lists = load_address_lists(&config.addresses, &source).await?;
    config.detection = lists.feed_allow_lists(&config.detection)?;
    Ok(lists)
}

/// The enricher for this instance.
pub async fn build(
    env: &DetectEnv,
    config: &Config,
    lists: &AddressLists,
    sdk: &SdkConfig,
) -> Enricher {
    let cache: Arc<dyn EnrichmentCache> = match &env.cache_table {
        Some(table) => Arc::new(DynamoEnrichmentCache::new(
            aws_sdk_dynamodb::Client::new(sdk),
            table,
        )),
        None => {
            info!("CACHE_TABLE is not set: enrichment keeps its cache in this instance's memory");
            Arc::new(MemoryCache::new())
        }
    };
    let enricher = Enricher::new(config.enrichment.clone(), lists, cache);

    let Some(jumpcloud) = &env.jumpcloud else {
        info!(
            lists = lists.lists.len(),
            "JC_SECRET_ARN is not set: enrichment adds address context only, no directory look-ups"
        );
        return enricher;
    };
    match client(jumpcloud, config, sdk).await {
        Ok(client) => {
            let client = Arc::new(client);
            info!(
                region = %jumpcloud.region,
                lists = lists.lists.len(),
                networks = lists.networks(),
                "enrichment looks people up in JumpCloud"
            );
            enricher
                .with_directory(client.clone())
                .with_activity_source(client)
        }
        Err(problem) => {
            error!(
                error = %problem,
                "enrichment cannot reach JumpCloud; alerts go out with address context only"
            );
            enricher
        }
    }
}

/// A JumpCloud client whose retries fit in one batch's enrichment budget.
async fn client(
    jumpcloud: &JumpCloudEnv,
    config: &Config,
    sdk: &SdkConfig,
) -> Result<Client, String> {
    let credential = SecretLoader::new(aws_sdk_secretsmanager::Client::new(sdk))
        .load(&jumpcloud.secret_id)
        .await
        .map_err(|e| e.to_string())?;
    let budget = config.enrichment.budget.as_duration();
    let mut settings = ClientConfig::new(credential);
    settings.region = jumpcloud.region;
    settings.base_url = jumpcloud.base_url.clone();
    settings.request_timeout = budget;
    settings.connect_timeout = budget.min(Duration::from_secs(2));
    settings.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
        max_total: budget,
    };
    Client::new(settings).map_err(|e| e.to_string())
}
