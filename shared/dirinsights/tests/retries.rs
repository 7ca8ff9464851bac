//! Transient failures over real HTTP: rate limiting, server errors, dropped connections and
//! slow answers are retried without losing or repeating events, within the retry budget.

mod common;

use std::time::{Duration, Instant};

use common::*;
use jcwatch_core::ports::{EventSource, SourceError};
use jcwatch_dirinsights::{Client, ClientError, Credential, RetryPolicy, Secret};
use jcwatch_simulator::{Fault, FaultRule, Outcome, Simulator, Target};

#[tokio::test]
async fn a_429_waits_for_retry_after_then_succeeds() {
    let events = logins(3, "2026-01-26T09:00:00Z", 10);
    let sim = simulator_with(events.clone()).await;
    sim.push_fault(FaultRule::new(Fault::too_many_requests(1)));
    let client = api_key_client(&sim);

    let (fetched, _) = fetch_all(&client, window(None)).await.unwrap();

    assert_eq!(sorted_ids(&fetched), sorted_ids(&events));
    let sent = sim.requests_to(Target::Events);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].outcome, Outcome::Answered(429));
    let waited = sent[1].received_at - sent[0].received_at;
    assert!(
        waited >= Duration::from_secs(1),
        "Retry-After: 1 honoured, not the 1 ms backoff: waited {waited:?}"
    );
}

#[tokio::test]
async fn a_retry_after_date_is_honoured_too() {
    let sim = simulator_with(logins(1, "2026-01-26T09:00:00Z", 10)).await;
    let in_two_seconds = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    sim.push_fault(FaultRule::new(Fault::too_many_requests_with(
        in_two_seconds,
    )));
    let client = api_key_client(&sim);

    fetch_all(&client, window(None)).await.unwrap();

    let sent = sim.requests_to(Target::Events);
    let waited = sent[1].received_at - sent[0].received_at;
    // The date has whole seconds, so the wait is between one and two seconds.
    assert!(waited >= Duration::from_millis(990), "{waited:?}");
}

#[tokio::test]
async fn server_errors_in_the_middle_of_paging_lose_and_repeat_nothing() {
    let events = logins(50, "2026-01-26T09:00:00Z", 20);
    let sim = simulator_with(events.clone()).await;
    sim.push_fault(FaultRule::new(Fault::server_error(503)).after(2).times(2));
    sim.push_fault(FaultRule::new(Fault::server_error(500)));
    let mut config = config_for(&sim, Credential::ApiKey(Secret::new(KEY)));
    config.page_limit = 10;
    let client = Client::new(config).unwrap();

    let (fetched, pages) = fetch_all(&client, window(None)).await.unwrap();

    assert_eq!(pages, 6);
    assert_eq!(fetched.len(), 50);
    assert_eq!(sorted_ids(&fetched), sorted_ids(&events));
    let outcomes: Vec<_> = sim
        .requests_to(Target::Events)
        .iter()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(outcomes.len(), 9, "6 pages and 3 failed attempts");
    assert_eq!(outcomes[2], Outcome::Answered(503));
    assert_eq!(outcomes[3], Outcome::Answered(503));
    assert_eq!(outcomes[4], Outcome::Answered(500));
}

#[tokio::test]
async fn a_dropped_connection_is_retried_without_loss() {
    let events = logins(30, "2026-01-26T09:00:00Z", 20);
    let sim = simulator_with(events.clone()).await;
    sim.push_fault(FaultRule::new(Fault::Drop).after(1));
    let mut config = config_for(&sim, Credential::ApiKey(Secret::new(KEY)));
    config.page_limit = 10;
    let client = Client::new(config).unwrap();

    let (fetched, _) = fetch_all(&client, window(None)).await.unwrap();

    assert_eq!(sorted_ids(&fetched), sorted_ids(&events));
    let outcomes: Vec<_> = sim.requests().iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes[1], Outcome::Dropped);
    assert_eq!(outcomes.len(), 5, "4 pages and the dropped attempt");
}

#[tokio::test]
async fn an_answer_slower_than_the_request_timeout_is_retried() {
    let events = logins(2, "2026-01-26T09:00:00Z", 20);
    let sim = simulator_with(events.clone()).await;
    sim.push_fault(FaultRule::new(Fault::Delay(Duration::from_secs(2))));
    let mut config = config_for(&sim, Credential::ApiKey(Secret::new(KEY)));
    config.request_timeout = Duration::from_millis(200);
    let client = Client::new(config).unwrap();
    let started = Instant::now();

    let (fetched, _) = fetch_all(&client, window(None)).await.unwrap();

    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(sorted_ids(&fetched), sorted_ids(&events));
    assert_eq!(sim.requests_to(Target::Events).len(), 2);
}

#[tokio::test]
async fn exhausted_retries_give_unavailable_naming_the_attempts() {
    let sim = simulator_with(logins(2, "2026-01-26T09:00:00Z", 20)).await;
    sim.push_fault(FaultRule::new(Fault::server_error(503)).always());
    let mut config = config_for(&sim, Credential::ApiKey(Secret::new(KEY)));
    config.retry.max_attempts = 3;
    let client = Client::new(config).unwrap();

    let error = client.fetch_page(&window(None)).await.unwrap_err();
    let port_error = SourceError::from(error.clone());

    assert!(
        matches!(error, ClientError::Unavailable { attempts: 3, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("after 3 attempts"), "{text}");
    assert!(text.contains("HTTP 503"), "{text}");
    assert!(text.contains("request id"), "{text}");
    assert!(matches!(
        port_error,
        SourceError::Unavailable { attempts: 3, .. }
    ));
    assert_eq!(sim.requests_to(Target::Events).len(), 3);
}

#[tokio::test]
async fn the_total_time_budget_stops_retries_that_would_wait_too_long() {
    let sim = simulator_with(vec![]).await;
    sim.push_fault(FaultRule::new(Fault::too_many_requests(30)));
    let mut config = config_for(&sim, Credential::ApiKey(Secret::new(KEY)));
    config.retry = RetryPolicy {
        max_total: Duration::from_secs(2),
        ..fast_retries()
    };
    let client = Client::new(config).unwrap();
    let started = Instant::now();

    let error = client.fetch_page(&window(None)).await.unwrap_err();

    assert!(
        started.elapsed() < Duration::from_secs(1),
        "it did not sit out the 30 s"
    );
    assert!(
        matches!(error, ClientError::Unavailable { attempts: 1, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("retry budget"), "{error}");
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_is_unavailable_after_the_attempts() {
    let sim = simulator_with(vec![]).await;
    let config = config_for(&sim, Credential::ApiKey(Secret::new(KEY)));
    sim.shutdown().await;
    let client = Client::new(config).unwrap();

    let error = EventSource::fetch_page(&client, &window(None))
        .await
        .unwrap_err();

    assert!(
        matches!(&error, SourceError::Unavailable { attempts: 5, detail } if detail.contains("could not connect")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_token_endpoint_outage_is_retried_like_any_other() {
    let sim = Simulator::builder()
        .service_account("svc-1", "svc-secret-value", [ORG])
        .events(ORG, logins(2, "2026-01-26T09:00:00Z", 20))
        .start()
        .await
        .unwrap();
    sim.push_fault(FaultRule::new(Fault::server_error(502)).on(Target::Token));
    let client = Client::new(config_for(
        &sim,
        Credential::ServiceAccount {
            client_id: "svc-1".to_owned(),
            client_secret: Secret::new("svc-secret-value"),
        },
    ))
    .unwrap();

    let (fetched, _) = fetch_all(&client, window(Some(ORG))).await.unwrap();

    assert_eq!(fetched.len(), 2);
    assert_eq!(sim.requests_to(Target::Token).len(), 2);
}
