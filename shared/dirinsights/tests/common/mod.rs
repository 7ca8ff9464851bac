//! Shared arrangements for the client tests: a simulator with a known key and events, a
//! client with tiny retry delays pointed at it, and paging to the end of a window.

#![allow(dead_code)]

use std::time::Duration;

use chrono::{DateTime, Utc};
use jcwatch_core::ports::PageRequest;
use jcwatch_dirinsights::{Client, ClientConfig, ClientError, Credential, RetryPolicy, Secret};
use jcwatch_model::time::parse_timestamp;
use jcwatch_simulator::Simulator;
use jcwatch_simulator::generate::{EventFactory, Person, Place};
use serde_json::Value;

pub const KEY: &str = "jca_8f1b2c3d4e5f60718293a4b5c6d7e8f9";
pub const ORG: &str = "5bf6defbdcd8233029e0c598";

pub fn t(text: &str) -> DateTime<Utc> {
    parse_timestamp(text).unwrap()
}

/// Retries that wait milliseconds, not seconds.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
        max_total: Duration::from_secs(10),
    }
}

pub fn config_for(sim: &Simulator, credential: Credential) -> ClientConfig {
    let mut config = ClientConfig::new(credential);
    config.base_url = Some(sim.base_url().to_owned());
    config.token_url = Some(sim.token_url());
    config.retry = fast_retries();
    config
}

pub fn api_key_client(sim: &Simulator) -> Client {
    Client::new(config_for(sim, Credential::ApiKey(Secret::new(KEY)))).unwrap()
}

pub async fn simulator_with(events: Vec<Value>) -> Simulator {
    Simulator::builder()
        .api_key(KEY, ORG)
        .events(ORG, events)
        .start()
        .await
        .unwrap()
}

/// `count` logins from `start`, `spacing_ms` apart.
pub fn logins(count: usize, start: &str, spacing_ms: i64) -> Vec<Value> {
    let factory = EventFactory::new(ORG);
    let user = Person::new("jane.doe", "example.com");
    (0..count)
        .map(|i| {
            let at = t(start) + chrono::Duration::milliseconds(spacing_ms * i as i64);
            factory.user_login_attempt(at, &user, &Place::paris(), i % 4 != 0)
        })
        .collect()
}

pub fn window(org: Option<&str>) -> PageRequest {
    PageRequest {
        org_id: org.map(str::to_owned),
        start: t("2026-01-26T09:00:00Z"),
        end: t("2026-01-26T10:00:00Z"),
        search_after: None,
    }
}

/// Every event of the window, page by page; also how many pages it took.
pub async fn fetch_all(
    client: &Client,
    mut request: PageRequest,
) -> Result<(Vec<Value>, usize), ClientError> {
    let mut events = Vec::new();
    let mut pages = 0;
    loop {
        let page = client.fetch_page(&request).await?;
        pages += 1;
        events.extend(page.events);
        if page.last {
            return Ok((events, pages));
        }
        request.search_after = page.search_after;
    }
}

pub fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids sorted, to compare sets while keeping duplicates visible.
pub fn sorted_ids(events: &[Value]) -> Vec<String> {
    let mut ids = ids(events);
    ids.sort();
    ids
}

pub fn millis(event: &Value) -> i64 {
    t(event["timestamp"].as_str().unwrap()).timestamp_millis()
}
