//! The client's directory look-ups and person-filtered event searches against the simulator
//! over loopback HTTP: profiles with group names, managers and administrator roles; people
//! who do not exist; retries and fatal answers like the events endpoint's.

mod common;

use std::time::Duration;

use common::{KEY, ORG, api_key_client, config_for, t};
use jcwatch_core::directory::{ActivityQuery, LookupError, PersonKey, PersonKind, UserDirectory};
use jcwatch_dirinsights::{Client, ClientError, Credential, Endpoint, Secret};
use jcwatch_model::enrichment::AccountKind;
use jcwatch_simulator::generate::{EventFactory, Person, Place};
use jcwatch_simulator::{Directory, Fault, FaultRule, Simulator, Target};

const DOMAIN: &str = "example.com";

async fn simulator() -> Simulator {
    let factory = EventFactory::new(ORG);
    let jane = Person::new("jane.doe", DOMAIN);
    let john = Person::new("john.smith", DOMAIN);
    let events = vec![
        factory.user_login_attempt(t("2026-01-26T09:00:00Z"), &jane, &Place::lagos(), false),
        factory.user_login_attempt(t("2026-01-26T09:01:00Z"), &jane, &Place::lagos(), true),
        factory.radius_auth_attempt(t("2026-01-26T09:02:00Z"), &jane, &Place::paris(), true),
        factory.user_login_attempt(t("2026-01-26T09:03:00Z"), &john, &Place::paris(), true),
    ];
    Simulator::builder()
        .api_key(KEY, ORG)
        .directory(ORG, Directory::sample_company(DOMAIN))
        .events(ORG, events)
        .start()
        .await
        .unwrap()
}

fn user_by_id(person: &Person) -> PersonKey {
    PersonKey {
        kind: PersonKind::User,
        id: Some(person.id.clone()),
        username: Some(person.username.clone()),
        email: None,
    }
}

#[tokio::test]
async fn a_user_looked_up_by_id_has_position_groups_manager_and_mfa() {
    let sim = simulator().await;
    let client = api_key_client(&sim);
    let jane = Person::new("jane.doe", DOMAIN);

    let profile = client
        .lookup(None, &user_by_id(&jane))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(profile.name.as_deref(), Some("Jane Doe"));
    assert_eq!(profile.job_title.as_deref(), Some("Senior Accountant"));
    assert_eq!(profile.department.as_deref(), Some("Finance"));
    assert_eq!(profile.cost_center.as_deref(), Some("FIN-200"));
    let manager = profile.manager.as_ref().unwrap();
    assert_eq!(manager.name.as_deref(), Some("John Smith"));
    assert_eq!(manager.email.as_deref(), Some("john.smith@example.com"));
    let mut groups: Vec<&str> = profile
        .groups
        .iter()
        .filter_map(|g| g.name.as_deref())
        .collect();
    groups.sort_unstable();
    assert_eq!(groups, ["All staff", "Finance", "VPN users"]);
    assert_eq!(profile.mfa.configured, Some(true));
    assert_eq!(profile.mfa.totp_enrolled, Some(true));
    assert!(!profile.is_admin());
}

#[tokio::test]
async fn a_radius_login_without_an_id_is_found_by_username() {
    let sim = simulator().await;
    let client = api_key_client(&sim);
    let key = PersonKey {
        kind: PersonKind::User,
        id: None,
        username: Some("sam.contractor".into()),
        email: None,
    };

    let profile = client.lookup(None, &key).await.unwrap().unwrap();

    assert_eq!(profile.employee_type.as_deref(), Some("Contractor"));
    assert_eq!(profile.mfa.configured, Some(false));
    assert!(profile.warnings().contains(&"no MFA"));
    let request = &sim.requests_to(Target::Users)[0];
    assert!(
        request
            .query
            .as_deref()
            .unwrap()
            .contains("username%3A%24eq%3Asam.contractor"),
        "{request:?}"
    );
}

#[tokio::test]
async fn a_person_the_directory_does_not_hold_is_none_not_an_error() {
    let sim = simulator().await;
    let client = api_key_client(&sim);
    let ghost = Person::new("no.such.person", DOMAIN);
    let by_email = PersonKey {
        kind: PersonKind::User,
        id: None,
        username: None,
        email: Some("no.such.person@example.com".into()),
    };
    let admin = PersonKey {
        kind: PersonKind::Administrator,
        id: None,
        username: None,
        email: Some("nobody@example.com".into()),
    };

    assert_eq!(
        client.lookup(None, &user_by_id(&ghost)).await.unwrap(),
        None
    );
    assert_eq!(client.lookup(None, &by_email).await.unwrap(), None);
    assert_eq!(client.lookup(None, &admin).await.unwrap(), None);
}

#[tokio::test]
async fn an_administrator_is_marked_with_their_role_and_their_user_record_fills_the_rest() {
    let sim = simulator().await;
    let client = api_key_client(&sim);
    let it = Person::new("it.admin", DOMAIN);
    let key = PersonKey {
        kind: PersonKind::Administrator,
        id: Some(it.id.clone()),
        username: None,
        email: Some(it.email.clone()),
    };

    let profile = client.lookup(None, &key).await.unwrap().unwrap();

    assert_eq!(profile.kind, AccountKind::Administrator);
    assert_eq!(
        profile.admin.as_ref().unwrap().role.as_deref(),
        Some("Administrator with Billing")
    );
    assert_eq!(profile.job_title.as_deref(), Some("IT Manager"));
    assert!(
        profile
            .groups
            .iter()
            .any(|g| g.name.as_deref() == Some("IT admins"))
    );
}

#[tokio::test]
async fn a_user_who_is_also_an_administrator_is_marked_as_one() {
    let sim = simulator().await;
    let client = api_key_client(&sim);
    let it = Person::new("it.admin", DOMAIN);

    let profile = client
        .lookup(None, &user_by_id(&it))
        .await
        .unwrap()
        .unwrap();

    assert!(profile.is_admin());
    assert_eq!(profile.kind, AccountKind::User);
}

#[tokio::test]
async fn server_errors_on_the_directory_are_retried() {
    let sim = simulator().await;
    let client = api_key_client(&sim);
    sim.push_fault(
        FaultRule::new(Fault::server_error(503))
            .on(Target::Users)
            .times(2),
    );
    sim.push_fault(FaultRule::new(Fault::too_many_requests(0)).on(Target::Groups));
    let jane = Person::new("jane.doe", DOMAIN);

    let profile = client
        .lookup(None, &user_by_id(&jane))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(profile.groups.len(), 3);
    assert!(sim.requests_to(Target::Users).len() >= 3);
}

#[tokio::test]
async fn an_outage_that_outlasts_the_retries_is_unavailable() {
    let sim = simulator().await;
    let client = api_key_client(&sim);
    sim.push_fault(
        FaultRule::new(Fault::server_error(500))
            .on(Target::Directory)
            .always(),
    );
    let jane = Person::new("jane.doe", DOMAIN);

    let error = client
        .lookup_person(None, &user_by_id(&jane))
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            ClientError::Unavailable {
                endpoint: Endpoint::Users,
                attempts: 5,
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("the JumpCloud users API is unavailable"),
        "{error}"
    );
}

#[tokio::test]
async fn a_forbidden_directory_is_fatal_and_names_the_role() {
    let sim = simulator().await;
    let client = api_key_client(&sim);
    sim.push_fault(FaultRule::new(Fault::forbidden()).on(Target::Users));
    let jane = Person::new("jane.doe", DOMAIN);

    let error = client.lookup(None, &user_by_id(&jane)).await.unwrap_err();

    let LookupError::Auth {
        status,
        detail: hint,
    } = error
    else {
        panic!("expected an auth error, got {error}");
    };
    assert_eq!(status, 403);
    assert!(hint.contains("cannot read the directory"), "{hint}");
    assert_eq!(sim.requests_to(Target::Users).len(), 1);
}

#[tokio::test]
async fn a_revoked_key_is_fatal_and_never_shows_the_key() {
    let sim = simulator().await;
    let client = Client::new(config_for(
        &sim,
        Credential::ApiKey(Secret::new("jca_revoked_key_0001")),
    ))
    .unwrap();
    let jane = Person::new("jane.doe", DOMAIN);

    let error = client
        .lookup_person(None, &user_by_id(&jane))
        .await
        .unwrap_err();

    assert!(error.is_fatal());
    assert!(!format!("{error} {error:?}").contains("jca_revoked_key_0001"));
}

#[tokio::test]
async fn a_slow_directory_answer_is_cut_by_the_request_timeout() {
    let sim = simulator().await;
    let mut config = config_for(&sim, Credential::ApiKey(Secret::new(KEY)));
    config.request_timeout = Duration::from_millis(100);
    config.retry.max_attempts = 1;
    let client = Client::new(config).unwrap();
    sim.push_fault(FaultRule::new(Fault::Delay(Duration::from_secs(2))).on(Target::Users));
    let jane = Person::new("jane.doe", DOMAIN);

    let error = client
        .lookup_person(None, &user_by_id(&jane))
        .await
        .unwrap_err();

    assert!(error.to_string().contains("timed out"), "{error}");
}

#[tokio::test]
async fn a_service_account_reads_the_directory_with_its_token_and_organisation() {
    let sim = Simulator::builder()
        .service_account("svc-id", "svc-secret", [ORG])
        .directory(ORG, Directory::sample_company(DOMAIN))
        .start()
        .await
        .unwrap();
    let client = Client::new(config_for(
        &sim,
        Credential::ServiceAccount {
            client_id: "svc-id".into(),
            client_secret: Secret::new("svc-secret"),
        },
    ))
    .unwrap();
    let jane = Person::new("jane.doe", DOMAIN);

    let profile = client.lookup(Some(ORG), &user_by_id(&jane)).await.unwrap();

    assert!(profile.is_some());
    assert!(
        sim.requests_to(Target::Users)
            .iter()
            .all(|r| r.org_ids == [ORG])
    );
}

#[tokio::test]
async fn a_persons_events_are_searched_by_every_spelling_in_lowercase() {
    let sim = simulator().await;
    let client = api_key_client(&sim);
    let query = ActivityQuery {
        org_id: None,
        identities: vec!["Jane.Doe".into(), "jane.doe@example.com".into()],
        start: t("2026-01-26T08:00:00Z"),
        end: t("2026-01-26T10:00:00Z"),
        limit: 2,
    };

    let page = client.person_events(&query).await.unwrap();

    assert_eq!(page.events.len(), 2);
    assert!(page.truncated);
    assert!(
        page.events
            .iter()
            .all(|e| e["initiated_by"]["username"] == "jane.doe")
    );
    let sent = sim.requests_to(Target::Events)[0].body.clone().unwrap();
    assert_eq!(
        sent["search_term"]["or"][0]["initiated_by.username"],
        serde_json::json!(["jane.doe", "jane.doe@example.com"])
    );
}
