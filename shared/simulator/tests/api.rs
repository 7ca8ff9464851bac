//! The simulator answers like Directory Insights, checked over real HTTP on loopback.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jcwatch_model::time::{format_timestamp, parse_timestamp};
use jcwatch_simulator::generate::{EventFactory, Person, Place};
use jcwatch_simulator::{Fault, FaultRule, Outcome, Simulator, Target};
use serde_json::{Value, json};

const KEY: &str = "jca_simulator_test_key";
const ORG: &str = "5bf6defbdcd8233029e0c598";

fn t(text: &str) -> DateTime<Utc> {
    parse_timestamp(text).unwrap()
}

fn window() -> Value {
    json!({
        "service": ["all"],
        "start_time": "2026-01-26T09:00:00Z",
        "end_time": "2026-01-26T10:00:00Z",
    })
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    fn ids(&self) -> Vec<String> {
        self.body
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

async fn post(sim: &Simulator, headers: &[(&str, &str)], body: &Value) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{}/insights/directory/v1/events", sim.base_url()))
        .json(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

async fn simulator_with(events: Vec<Value>) -> Simulator {
    Simulator::builder()
        .api_key(KEY, ORG)
        .events(ORG, events)
        .start()
        .await
        .unwrap()
}

fn logins(count: usize, start: &str, spacing_ms: i64) -> Vec<Value> {
    let factory = EventFactory::new(ORG);
    let user = Person::new("jane.doe", "example.com");
    (0..count)
        .map(|i| {
            let at = t(start) + chrono::Duration::milliseconds(spacing_ms * i as i64);
            factory.user_login_attempt(at, &user, &Place::paris(), true)
        })
        .collect()
}

#[tokio::test]
async fn an_unknown_api_key_gets_the_401_body_of_the_real_service() {
    let sim = simulator_with(vec![]).await;

    let answer = post(&sim, &[("x-api-key", "jca_wrong")], &window()).await;

    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.body,
        json!({"message": "Unauthorized: api key user not found"})
    );
    assert!(!answer.header("x-request-id").is_empty());
}

#[tokio::test]
async fn an_msp_key_must_select_an_organisation_it_administers() {
    let sim = Simulator::builder()
        .msp_api_key(KEY, ["org-a", "org-b"])
        .events("org-a", logins(2, "2026-01-26T09:00:00Z", 1000))
        .events("org-b", logins(3, "2026-01-26T09:00:00.500Z", 1000))
        .start()
        .await
        .unwrap();

    let none = post(&sim, &[("x-api-key", KEY)], &window()).await;
    let stranger = post(
        &sim,
        &[("x-api-key", KEY), ("x-org-id", "org-z")],
        &window(),
    )
    .await;
    let one = post(
        &sim,
        &[("x-api-key", KEY), ("x-org-id", "org-b")],
        &window(),
    )
    .await;
    let both = post(
        &sim,
        &[
            ("x-api-key", KEY),
            ("x-org-id", "org-a"),
            ("x-org-id", "org-b"),
        ],
        &window(),
    )
    .await;

    assert_eq!(none.status, 401);
    assert_eq!(
        none.body,
        json!({"message": "Unauthorized: no organization selected"})
    );
    assert_eq!(stranger.status, 401);
    assert_eq!(one.status, 200);
    assert_eq!(one.header("x-result-count"), "3");
    assert_eq!(both.header("x-result-count"), "5");
}

#[tokio::test]
async fn service_and_start_time_are_required() {
    let sim = simulator_with(vec![]).await;
    let mut no_service = window();
    no_service.as_object_mut().unwrap().remove("service");
    let mut no_start = window();
    no_start.as_object_mut().unwrap().remove("start_time");

    let a = post(&sim, &[("x-api-key", KEY)], &no_service).await;
    let b = post(&sim, &[("x-api-key", KEY)], &no_start).await;

    assert_eq!((a.status, b.status), (400, 400));
    assert!(a.body["message"].as_str().unwrap().contains("service"));
    assert!(b.body["message"].as_str().unwrap().contains("start_time"));
}

#[tokio::test]
async fn start_after_end_gets_the_400_with_the_real_message_shape() {
    let sim = simulator_with(vec![]).await;
    let body = json!({
        "service": ["all"],
        "start_time": "2026-01-26T09:13:52Z",
        "end_time": "2026-01-26T09:11:52Z",
    });

    let answer = post(&sim, &[("x-api-key", KEY)], &body).await;

    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body,
        json!({"message": "Start Time not after End Time 2026-01-26T09:13:52Z > 2026-01-26T09:11:52Z"})
    );
}

#[tokio::test]
async fn start_is_inclusive_and_end_exclusive() {
    let sim = simulator_with(logins(4, "2026-01-26T08:59:59.999Z", 1)).await;
    let body = json!({
        "service": ["all"],
        "start_time": "2026-01-26T09:00:00Z",
        "end_time": "2026-01-26T09:00:00.002Z",
    });

    let answer = post(&sim, &[("x-api-key", KEY)], &body).await;

    let stamps: Vec<&str> = answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    assert_eq!(stamps, ["2026-01-26T09:00:00Z", "2026-01-26T09:00:00.001Z"]);
}

#[tokio::test]
async fn limits_default_to_1000_cap_at_10000_and_fall_back_on_nonsense() {
    let sim = simulator_with(logins(3, "2026-01-26T09:00:00Z", 10)).await;
    let with_limit = |limit: Value| {
        let mut body = window();
        body["limit"] = limit;
        body
    };

    let default = post(&sim, &[("x-api-key", KEY)], &window()).await;
    let too_big = post(&sim, &[("x-api-key", KEY)], &with_limit(json!(10_001))).await;
    let max = post(&sim, &[("x-api-key", KEY)], &with_limit(json!(10_000))).await;
    let small = post(&sim, &[("x-api-key", KEY)], &with_limit(json!(2))).await;

    assert_eq!(default.header("x-limit"), "1000");
    assert_eq!(too_big.header("x-limit"), "1000");
    assert_eq!(max.header("x-limit"), "10000");
    assert_eq!(small.header("x-limit"), "2");
    assert_eq!(small.header("x-result-count"), "2");
}

#[tokio::test]
async fn many_events_in_one_millisecond_page_through_search_after_exactly_once() {
    let factory = EventFactory::new(ORG);
    let mut events = factory.same_millisecond(t("2026-01-26T09:30:00.250Z"), 25);
    let later = logins(3, "2026-01-26T09:30:00.251Z", 0);
    let mut later_ids: Vec<String> = later
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    events.extend(later);
    let expected: Vec<String> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let sim = simulator_with(events).await;
    let mut body = window();
    body["limit"] = json!(10);

    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let answer = post(&sim, &[("x-api-key", KEY)], &body).await;
        pages += 1;
        seen.extend(answer.ids());
        let after: Value = serde_json::from_str(answer.header("x-search_after")).unwrap();
        if answer.header("x-result-count").parse::<usize>().unwrap() < 10 {
            break;
        }
        body["search_after"] = after;
    }

    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 28);
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    let mut sorted_expected = expected;
    sorted_expected.sort();
    assert_eq!(sorted_seen, sorted_expected);
    let mut tail = seen[25..].to_vec();
    tail.sort();
    later_ids.sort();
    assert_eq!(
        tail, later_ids,
        "the next millisecond comes after all the ties"
    );
}

#[tokio::test]
async fn search_after_is_sent_on_the_last_page_and_on_an_empty_one() {
    let sim = simulator_with(logins(2, "2026-01-26T09:00:00Z", 1000)).await;
    let mut later = window();
    later["start_time"] = json!("2026-01-26T09:50:00Z");

    let last = post(&sim, &[("x-api-key", KEY)], &window()).await;
    let empty = post(&sim, &[("x-api-key", KEY)], &later).await;

    let cursor: Value = serde_json::from_str(last.header("x-search_after")).unwrap();
    assert_eq!(cursor.as_array().unwrap().len(), 2);
    assert_eq!(
        cursor[0],
        json!(t("2026-01-26T09:00:01Z").timestamp_millis())
    );
    assert_eq!(empty.header("x-result-count"), "0");
    assert_eq!(empty.header("x-search_after"), "[]");
}

#[tokio::test]
async fn sort_desc_is_honoured_and_anything_else_is_ascending() {
    let sim = simulator_with(logins(3, "2026-01-26T09:00:00Z", 1000)).await;
    let mut desc = window();
    desc["sort"] = json!("desc");
    let mut odd = window();
    odd["sort"] = json!("newest-first");

    let down = post(&sim, &[("x-api-key", KEY)], &desc).await;
    let up = post(&sim, &[("x-api-key", KEY)], &odd).await;

    assert_eq!(down.header("x-sort"), "DESC");
    assert_eq!(up.header("x-sort"), "ASC");
    let mut reversed = up.ids();
    reversed.reverse();
    assert_eq!(down.ids(), reversed);
}

#[tokio::test]
async fn events_added_late_with_past_timestamps_are_served_by_the_next_search() {
    let sim = simulator_with(logins(1, "2026-01-26T09:00:00Z", 0)).await;
    let before = post(&sim, &[("x-api-key", KEY)], &window()).await;

    let added = sim
        .add_events(ORG, logins(2, "2026-01-26T09:00:00Z", 0))
        .unwrap();
    let after = post(&sim, &[("x-api-key", KEY)], &window()).await;

    assert_eq!(added, 2);
    assert_eq!(before.header("x-result-count"), "1");
    assert_eq!(after.header("x-result-count"), "3");
}

#[tokio::test]
async fn an_event_without_a_timestamp_is_refused_by_index() {
    let sim = simulator_with(vec![]).await;

    let error = sim
        .add_events(
            ORG,
            vec![
                logins(1, "2026-01-26T09:00:00Z", 0).remove(0),
                json!({"id": "x1"}),
            ],
        )
        .unwrap_err();

    assert!(
        error.to_string().contains("event 1 (id Some(\"x1\"))"),
        "{error}"
    );
    assert_eq!(sim.event_count(ORG), 0);
}

#[tokio::test]
async fn service_accounts_get_tokens_that_open_their_organisations_until_they_expire() {
    let sim = Simulator::builder()
        .service_account("client-1", "s3cret", [ORG])
        .token_lifetime(Duration::from_millis(300))
        .events(ORG, logins(2, "2026-01-26T09:00:00Z", 1000))
        .start()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let ask = |secret: &'static str| {
        http.post(sim.token_url())
            .basic_auth("client-1", Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "api")])
            .send()
    };

    let refused = ask("wrong").await.unwrap();
    let granted: Value = ask("s3cret").await.unwrap().json().await.unwrap();
    let token = granted["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let without_org = post(&sim, &[("authorization", &bearer)], &window()).await;
    let with_org = post(
        &sim,
        &[("authorization", &bearer), ("x-org-id", ORG)],
        &window(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let expired = post(
        &sim,
        &[("authorization", &bearer), ("x-org-id", ORG)],
        &window(),
    )
    .await;

    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(granted["token_type"], json!("bearer"));
    assert_eq!(granted["expires_in"], json!(1));
    assert_eq!(without_org.status, 401);
    assert_eq!(with_org.header("x-result-count"), "2");
    assert_eq!(expired.status, 401);
}

#[tokio::test]
async fn queued_faults_fire_in_order_and_the_log_shows_each_outcome() {
    let sim = simulator_with(logins(1, "2026-01-26T09:00:00Z", 0)).await;
    sim.push_fault(FaultRule::new(Fault::too_many_requests(7)));
    sim.push_fault(FaultRule::new(Fault::server_error(503)));
    sim.push_fault(FaultRule::new(Fault::Delay(Duration::from_millis(200))));

    let limited = post(&sim, &[("x-api-key", KEY)], &window()).await;
    let failed = post(&sim, &[("x-api-key", KEY)], &window()).await;
    let started = Instant::now();
    let slow = post(&sim, &[("x-api-key", KEY)], &window()).await;
    let slow_took = started.elapsed();
    let normal = post(&sim, &[("x-api-key", KEY)], &window()).await;

    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), "7");
    assert_eq!(failed.status, 503);
    assert_eq!(slow.status, 200);
    assert!(slow_took >= Duration::from_millis(200), "{slow_took:?}");
    assert_eq!(normal.status, 200);
    let outcomes: Vec<Outcome> = sim
        .requests_to(Target::Events)
        .iter()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Answered(429),
            Outcome::Answered(503),
            Outcome::Answered(200),
            Outcome::Answered(200)
        ]
    );
}

#[tokio::test]
async fn a_dropped_connection_gives_the_client_no_answer_at_all() {
    let sim = simulator_with(vec![]).await;
    sim.push_fault(FaultRule::new(Fault::Drop));

    let result = reqwest::Client::new()
        .post(format!("{}/insights/directory/v1/events", sim.base_url()))
        .header("x-api-key", KEY)
        .json(&window())
        .send()
        .await;

    let error = result.unwrap_err();
    assert!(!error.is_status(), "{error:?}");
    assert_eq!(sim.requests()[0].outcome, Outcome::Dropped);
}

#[tokio::test]
async fn the_log_records_what_was_asked_but_never_the_key() {
    let sim = simulator_with(vec![]).await;

    post(
        &sim,
        &[
            ("x-api-key", KEY),
            ("user-agent", "probe/1"),
            ("x-org-id", ORG),
        ],
        &window(),
    )
    .await;

    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].body.as_ref().unwrap()["start_time"],
        json!("2026-01-26T09:00:00Z")
    );
    assert_eq!(requests[0].user_agent.as_deref(), Some("probe/1"));
    assert_eq!(requests[0].org_ids, [ORG]);
    assert!(!format!("{requests:?}").contains(KEY));
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sim = simulator_with(vec![]).await;
    let url = format!("{}/insights/directory/v1/events", sim.base_url());

    sim.shutdown().await;
    let result = reqwest::Client::new()
        .post(url)
        .json(&window())
        .send()
        .await;

    assert!(result.unwrap_err().is_connect());
}

#[tokio::test]
async fn generated_timestamps_round_trip_through_the_search() {
    let at = t("2026-01-26T09:15:00.123456789Z");
    let event = EventFactory::new(ORG).sso_auth(
        at,
        &Person::new("jane.doe", "example.com"),
        "Zoom",
        &Place::sydney(),
        true,
    );
    let sim = simulator_with(vec![event]).await;

    let answer = post(&sim, &[("x-api-key", KEY)], &window()).await;

    assert_eq!(answer.body[0]["timestamp"], json!(format_timestamp(at)));
}
