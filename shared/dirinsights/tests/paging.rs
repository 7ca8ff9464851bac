//! Paging through a window over real HTTP: ties in one millisecond, the server's own limit,
//! and what the client sends.

mod common;

use common::*;
use jcwatch_core::ports::{EventSource, PageRequest, SourceError};
use jcwatch_dirinsights::{Client, ClientError, USER_AGENT};
use jcwatch_simulator::generate::EventFactory;
use jcwatch_simulator::{Simulator, Target};
use serde_json::json;

#[tokio::test]
async fn several_pages_with_millisecond_ties_deliver_every_event_once_in_order() {
    let factory = EventFactory::new(ORG);
    let mut events = logins(30, "2026-01-26T09:00:00Z", 1_000);
    events.extend(factory.same_millisecond(t("2026-01-26T09:10:00.500Z"), 45));
    events.extend(logins(30, "2026-01-26T09:10:00.501Z", 7));
    let sim = simulator_with(events.clone()).await;
    let mut config = config_for(&sim, jcwatch_dirinsights::Credential::ApiKey(KEY.into()));
    config.page_limit = 20;
    let client = Client::new(config).unwrap();

    let (fetched, pages) = fetch_all(&client, window(None)).await.unwrap();

    assert_eq!(pages, 6, "105 events at 20 a page");
    assert_eq!(fetched.len(), 105);
    assert_eq!(
        sorted_ids(&fetched),
        sorted_ids(&events),
        "every event exactly once"
    );
    let times: Vec<i64> = fetched.iter().map(millis).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "ascending time order"
    );
}

#[tokio::test]
async fn each_request_asks_for_the_window_ascending_and_echoes_the_previous_cursor() {
    let sim = simulator_with(logins(5, "2026-01-26T09:00:00Z", 1)).await;
    let mut config = config_for(&sim, jcwatch_dirinsights::Credential::ApiKey(KEY.into()));
    config.page_limit = 2;
    let client = Client::new(config).unwrap();
    let mut request = window(None);
    request.start = t("2026-01-26T09:00:00.000Z");
    request.end = t("2026-01-26T09:00:00.004Z");

    let (fetched, pages) = fetch_all(&client, request).await.unwrap();

    assert_eq!((fetched.len(), pages), (4, 3), "2 + 2 + an empty last page");
    let sent = sim.requests_to(Target::Events);
    let first = sent[0].body.clone().unwrap();
    assert_eq!(
        first,
        json!({
            "service": ["all"],
            "start_time": "2026-01-26T09:00:00Z",
            "end_time": "2026-01-26T09:00:00.004Z",
            "limit": 2,
            "sort": "ASC",
        })
    );
    let second = sent[1].body.clone().unwrap();
    assert_eq!(second["search_after"][0], json!(millis(&fetched[1])));
    assert!(second["search_after"][1].is_string());
    assert!(
        sent.iter()
            .all(|r| r.user_agent.as_deref() == Some(USER_AGENT))
    );
}

#[tokio::test]
async fn the_servers_smaller_limit_decides_when_paging_ends() {
    let events = logins(12, "2026-01-26T09:00:00Z", 100);
    let sim = Simulator::builder()
        .api_key(KEY, ORG)
        .limits(5, 5)
        .events(ORG, events.clone())
        .start()
        .await
        .unwrap();
    let client = api_key_client(&sim);

    let (fetched, pages) = fetch_all(&client, window(None)).await.unwrap();

    assert_eq!(pages, 3, "5 + 5 + 2, although 10000 were asked for");
    assert_eq!(sorted_ids(&fetched), sorted_ids(&events));
    let asked: Vec<_> = sim
        .requests_to(Target::Events)
        .iter()
        .map(|r| r.body.as_ref().unwrap()["limit"].clone())
        .collect();
    assert_eq!(asked, [json!(10_000), json!(10_000), json!(10_000)]);
}

#[tokio::test]
async fn a_page_exactly_as_long_as_the_limit_is_followed_by_an_empty_last_page() {
    let sim = Simulator::builder()
        .api_key(KEY, ORG)
        .limits(4, 4)
        .events(ORG, logins(8, "2026-01-26T09:00:00Z", 10))
        .start()
        .await
        .unwrap();
    let client = api_key_client(&sim);

    let (fetched, pages) = fetch_all(&client, window(None)).await.unwrap();

    assert_eq!((fetched.len(), pages), (8, 3));
}

#[tokio::test]
async fn start_not_before_end_is_rejected_with_the_servers_message() {
    let sim = simulator_with(vec![]).await;
    let client = api_key_client(&sim);
    let request = PageRequest {
        org_id: None,
        start: t("2026-01-26T09:13:52Z"),
        end: t("2026-01-26T09:11:52Z"),
        search_after: None,
    };

    let error = client.fetch_page(&request).await.unwrap_err();

    let ClientError::Rejected { status, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*status, Some(400));
    let text = error.to_string();
    assert!(
        text.contains("Start Time not after End Time 2026-01-26T09:13:52Z > 2026-01-26T09:11:52Z"),
        "{text}"
    );
    assert!(text.contains("request id"), "{text}");
    assert_eq!(sim.requests().len(), 1, "a 400 is not retried");
}

#[tokio::test]
async fn the_organisation_is_selected_with_x_org_id() {
    let sim = Simulator::builder()
        .msp_api_key(KEY, ["org-a", "org-b"])
        .events("org-a", logins(3, "2026-01-26T09:00:00Z", 10))
        .events("org-b", logins(2, "2026-01-26T09:30:00Z", 10))
        .start()
        .await
        .unwrap();
    let client = api_key_client(&sim);

    let (a, _) = fetch_all(&client, window(Some("org-a"))).await.unwrap();
    let (b, _) = fetch_all(&client, window(Some("org-b"))).await.unwrap();

    assert_eq!((a.len(), b.len()), (3, 2));
    let orgs: Vec<_> = sim.requests().iter().map(|r| r.org_ids.clone()).collect();
    assert_eq!(orgs, [vec!["org-a".to_owned()], vec!["org-b".to_owned()]]);
}

#[tokio::test]
async fn the_client_serves_the_poll_use_case_as_an_event_source() {
    let events = logins(3, "2026-01-26T09:00:00Z", 10);
    let sim = simulator_with(events.clone()).await;
    let source: Box<dyn EventSource> = Box::new(api_key_client(&sim));
    let mut bad = window(None);
    bad.end = bad.start;

    let page = source.fetch_page(&window(None)).await.unwrap();
    let error = source.fetch_page(&bad).await.unwrap_err();

    assert!(page.last);
    assert_eq!(sorted_ids(&page.events), sorted_ids(&events));
    assert!(
        matches!(&error, SourceError::Rejected { status: 400, detail } if detail.contains("Start Time not after End Time")),
        "{error:?}"
    );
}
