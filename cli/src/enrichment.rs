//! Enrichment for the CLI's commands: the configuration's address lists read from local
//! files (and their `allow_in` lists handed to the rules), and an enricher over the cache the
//! command keeps (the state database for `poll`, memory for `scan`), looking people up in
//! JumpCloud when the command has a credential.

use std::sync::Arc;
use std::time::Duration;

use jcwatch_detection::config::Config;
use jcwatch_detection::enrich::cache::EnrichmentCache;
use jcwatch_detection::enrich::{AddressLists, Enricher, LocalFiles, load_address_lists};
use jcwatch_dirinsights::{Client, ClientConfig, RetryPolicy};

use crate::error::CliError;

/// Loads the address lists of `config` and adds the `allow_in` ones to its detection
/// settings, so the rule engine built from `config` afterwards leaves them alone.
pub async fn prepare(config: &mut Config) -> Result<AddressLists, CliError> {
    let lists = load_address_lists(&config.addresses, &LocalFiles)
        .await
        .map_err(|e| CliError::Usage(e.to_string()))?;
    config.detection = lists
        .feed_allow_lists(&config.detection)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(lists)
}

/// An enricher over `cache`; with `client` settings, it looks people up in JumpCloud and
/// reads their other events from Directory Insights, with retries cut to the batch budget.
pub fn enricher(
    config: &Config,
    lists: &AddressLists,
    cache: Arc<dyn EnrichmentCache>,
    client: Option<&ClientConfig>,
) -> Result<Arc<Enricher>, CliError> {
    let enricher = Enricher::new(config.enrichment.clone(), lists, cache);
    let Some(settings) = client else {
        return Ok(Arc::new(enricher));
    };
    let budget = config.enrichment.budget.as_duration();
    let mut settings = settings.clone();
    settings.request_timeout = budget;
    settings.connect_timeout = budget.min(Duration::from_secs(2));
    settings.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
        max_total: budget,
    };
    let client = Arc::new(
        Client::new(settings)
            .map_err(|e| CliError::Usage(format!("bad JumpCloud settings: {e}")))?,
    );
    Ok(Arc::new(
        enricher
            .with_directory(client.clone())
            .with_activity_source(client),
    ))
}
