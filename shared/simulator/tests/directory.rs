//! The simulator's directory endpoints answer like JumpCloud's v1 and v2 APIs, checked over
//! real HTTP on loopback.

use std::time::{Duration, Instant};

use jcwatch_simulator::generate::Person;
use jcwatch_simulator::{Directory, Fault, FaultRule, Simulator, Target, group_id};
use serde_json::Value;

const KEY: &str = "jca_simulator_directory_key";
const ORG: &str = "5bf6defbdcd8233029e0c598";
const DOMAIN: &str = "example.com";

async fn simulator() -> Simulator {
    Simulator::builder()
        .api_key(KEY, ORG)
        .directory(ORG, Directory::sample_company(DOMAIN))
        .start()
        .await
        .unwrap()
}

async fn get(
    sim: &Simulator,
    path_and_query: &str,
    key: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path_and_query}", sim.base_url()))
        .header("x-api-key", key)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

#[tokio::test]
async fn a_user_is_served_by_id_with_the_v1_fields() {
    let sim = simulator().await;
    let jane = Person::new("jane.doe", DOMAIN);
    let director = Person::new("john.smith", DOMAIN);

    let (status, _, body) = get(&sim, &format!("/api/systemusers/{}", jane.id), KEY).await;

    assert_eq!(status, 200);
    assert_eq!(body["_id"], jane.id.as_str());
    assert_eq!(body["jobTitle"], "Senior Accountant");
    assert_eq!(body["department"], "Finance");
    assert_eq!(body["manager"], director.id.as_str());
    assert_eq!(body["mfa"]["configured"], true);
    assert_eq!(body["mfaEnrollment"]["totpStatus"], "ENROLLED");
}

#[tokio::test]
async fn an_unknown_user_or_group_is_a_404() {
    let sim = simulator().await;

    let (user, _, _) = get(&sim, "/api/systemusers/000000000000000000000000", KEY).await;
    let (group, _, _) = get(&sim, "/api/v2/usergroups/000000000000000000000000", KEY).await;
    let (member_of, _, _) = get(&sim, "/api/v2/users/000000000000000000000000/memberof", KEY).await;

    assert_eq!((user, group, member_of), (404, 404, 404));
}

#[tokio::test]
async fn the_user_list_filters_with_eq_and_pages_with_limit_and_skip() {
    let sim = simulator().await;

    let (_, _, by_email) = get(
        &sim,
        "/api/systemusers?filter=email:$eq:jane.doe@example.com&limit=2",
        KEY,
    )
    .await;
    let (_, _, wrong_case) = get(
        &sim,
        "/api/systemusers?filter=email:$eq:Jane.Doe@example.com",
        KEY,
    )
    .await;
    let (_, _, page) = get(&sim, "/api/systemusers?limit=2&skip=4", KEY).await;
    let (bad_status, _, _) = get(
        &sim,
        "/api/systemusers?filter=email:eq:jane.doe@example.com",
        KEY,
    )
    .await;
    let (too_many, _, _) = get(&sim, "/api/systemusers?limit=101", KEY).await;

    assert_eq!(by_email["totalCount"], 1);
    assert_eq!(by_email["results"][0]["username"], "jane.doe");
    assert_eq!(wrong_case["totalCount"], 0);
    assert_eq!(page["totalCount"], 5);
    assert_eq!(page["results"].as_array().unwrap().len(), 1);
    assert_eq!(bad_status, 400);
    assert_eq!(too_many, 400);
}

#[tokio::test]
async fn fields_project_a_record_and_keep_its_id() {
    let sim = simulator().await;
    let jane = Person::new("jane.doe", DOMAIN);

    let (_, _, body) = get(
        &sim,
        &format!("/api/systemusers/{}?fields=firstname%20lastname", jane.id),
        KEY,
    )
    .await;

    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["_id", "firstname", "lastname"]);
}

#[tokio::test]
async fn administrators_are_listed_with_their_role_and_mfa() {
    let sim = simulator().await;

    let (_, _, body) = get(
        &sim,
        "/api/users?filter=email:$eq:it.admin@example.com",
        KEY,
    )
    .await;

    assert_eq!(body["totalCount"], 1);
    assert_eq!(body["results"][0]["roleName"], "Administrator with Billing");
    assert_eq!(body["results"][0]["enableMultiFactor"], true);
}

#[tokio::test]
async fn membership_includes_nested_groups_as_ids_only_and_groups_give_names() {
    let sim = simulator().await;
    let jane = Person::new("jane.doe", DOMAIN);

    let (status, headers, groups) = get(
        &sim,
        &format!(
            "/api/v2/users/{}/memberof?limit=100&filter=type:eq:user_group",
            jane.id
        ),
        KEY,
    )
    .await;
    let (_, _, finance) = get(
        &sim,
        &format!("/api/v2/usergroups/{}", group_id("Finance")),
        KEY,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(headers["x-total-count"], "3");
    let ids: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    for name in ["Finance", "VPN users", "All staff"] {
        assert!(ids.contains(&group_id(name).as_str()), "{name} missing");
    }
    assert!(groups[0].get("name").is_none());
    assert_eq!(finance["name"], "Finance");
}

#[tokio::test]
async fn a_wrong_key_is_refused_on_the_directory_too() {
    let sim = simulator().await;

    let (status, _, body) = get(&sim, "/api/systemusers", "jca_wrong").await;

    assert_eq!(status, 401);
    assert!(body["message"].as_str().unwrap().contains("Unauthorized"));
}

#[tokio::test]
async fn directory_faults_fire_on_directory_requests_only() {
    let sim = simulator().await;
    sim.push_fault(
        FaultRule::new(Fault::server_error(503))
            .on(Target::Directory)
            .times(2),
    );
    sim.push_fault(FaultRule::new(Fault::Delay(Duration::from_millis(300))).on(Target::Groups));

    let (first, _, _) = get(&sim, "/api/users", KEY).await;
    let (second, _, _) = get(&sim, "/api/systemusers", KEY).await;
    let started = Instant::now();
    let (slow, _, _) = get(
        &sim,
        &format!("/api/v2/usergroups/{}", group_id("Sales")),
        KEY,
    )
    .await;

    assert_eq!((first, second, slow), (503, 503, 200));
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(sim.requests_to(Target::Groups).len(), 1);
    assert!(sim.requests_to(Target::Users)[0].query.is_none());
}
