//! Credentials over real HTTP: fatal answers that say what to check and are never retried,
//! the service-account token cache, and no secret in any error, Debug output or log line.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use jcwatch_core::ports::SourceError;
use jcwatch_dirinsights::{Client, ClientConfig, ClientError, Credential, Endpoint, Secret};
use jcwatch_simulator::{AuthKind, Fault, FaultRule, Simulator, Target};

const CLIENT_ID: &str = "svc-jcwatch";
const CLIENT_SECRET: &str = "svc_secret_4b8c9d0e1f2a3b4c5d6e";

fn service_account() -> Credential {
    Credential::ServiceAccount {
        client_id: CLIENT_ID.to_owned(),
        client_secret: Secret::new(CLIENT_SECRET),
    }
}

async fn service_account_simulator(lifetime: Duration) -> Simulator {
    Simulator::builder()
        .service_account(CLIENT_ID, CLIENT_SECRET, [ORG])
        .token_lifetime(lifetime)
        .events(ORG, logins(9, "2026-01-26T09:00:00Z", 100))
        .start()
        .await
        .unwrap()
}

fn small_pages(sim: &Simulator, credential: Credential) -> Client {
    let mut config = config_for(sim, credential);
    config.page_limit = 3;
    Client::new(config).unwrap()
}

#[tokio::test]
async fn a_rejected_key_is_fatal_at_once_and_says_keys_expire() {
    let sim = Simulator::builder()
        .api_key("jca_the_current_key", ORG)
        .start()
        .await
        .unwrap();
    let client = api_key_client(&sim);

    let error = client.fetch_page(&window(None)).await.unwrap_err();

    assert!(error.is_fatal());
    assert!(
        matches!(error, ClientError::Auth { status: 401, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(text.contains("expire after 90 days"), "{text}");
    assert!(text.contains("revoked"), "{text}");
    assert!(text.contains("organisation id"), "{text}");
    assert!(text.contains("api key user not found"), "{text}");
    assert!(text.contains("request id"), "{text}");
    assert!(!text.contains(KEY), "{text}");
    assert_eq!(sim.requests().len(), 1, "never retried");
}

#[tokio::test]
async fn payment_required_is_fatal_and_points_at_directory_insights_being_enabled() {
    let sim = simulator_with(vec![]).await;
    sim.push_fault(FaultRule::new(Fault::payment_required()).always());
    let client = api_key_client(&sim);

    let error = client.fetch_page(&window(None)).await.unwrap_err();
    let port_error = SourceError::from(error.clone());

    assert!(
        matches!(error, ClientError::Auth { status: 402, .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("Directory Insights is not enabled")
    );
    assert!(
        matches!(&port_error, SourceError::Auth { status: 402, hint } if hint.contains("plan")),
        "{port_error:?}"
    );
    assert_eq!(sim.requests().len(), 1, "never retried");
}

#[tokio::test]
async fn forbidden_is_fatal_and_names_the_role_and_the_ip_block() {
    let sim = simulator_with(vec![]).await;
    sim.push_fault(FaultRule::new(Fault::forbidden()).always());
    let client = api_key_client(&sim);

    let error = client.fetch_page(&window(None)).await.unwrap_err();

    assert!(
        matches!(error, ClientError::Auth { status: 403, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("command runners"), "{text}");
    assert!(text.contains("blocked this source IP address"), "{text}");
    assert_eq!(sim.requests().len(), 1, "never retried");
}

#[tokio::test]
async fn an_msp_key_without_an_organisation_is_told_to_send_one() {
    let sim = Simulator::builder()
        .msp_api_key(KEY, ["org-a"])
        .start()
        .await
        .unwrap();
    let client = api_key_client(&sim);

    let error = client.fetch_page(&window(None)).await.unwrap_err();

    let text = error.to_string();
    assert!(text.contains("no organization selected"), "{text}");
    assert!(text.contains("must send one"), "{text}");
}

#[tokio::test]
async fn a_service_account_token_is_obtained_once_and_reused_across_pages() {
    let sim = service_account_simulator(Duration::from_secs(3_600)).await;
    let client = small_pages(&sim, service_account());

    let (fetched, pages) = fetch_all(&client, window(Some(ORG))).await.unwrap();
    let (again, _) = fetch_all(&client.clone(), window(Some(ORG))).await.unwrap();

    assert_eq!((fetched.len(), pages), (9, 4));
    assert_eq!(again.len(), 9);
    assert_eq!(sim.requests_to(Target::Token).len(), 1);
    let events = sim.requests_to(Target::Events);
    assert_eq!(events.len(), 8);
    assert!(events.iter().all(|r| r.auth == AuthKind::Bearer));
    assert_eq!(sim.requests_to(Target::Token)[0].auth, AuthKind::Basic);
}

#[tokio::test]
async fn an_expired_token_is_replaced_before_it_is_refused() {
    let sim = service_account_simulator(Duration::from_secs(1)).await;
    let client = small_pages(&sim, service_account());

    client.fetch_page(&window(Some(ORG))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    client.fetch_page(&window(Some(ORG))).await.unwrap();

    assert_eq!(sim.requests_to(Target::Token).len(), 2);
    assert!(
        sim.requests_to(Target::Events)
            .iter()
            .all(|r| r.outcome == jcwatch_simulator::Outcome::Answered(200)),
        "no request went out with the stale token"
    );
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_and_the_page_still_arrives() {
    let sim = service_account_simulator(Duration::from_secs(3_600)).await;
    let client = small_pages(&sim, service_account());
    client.fetch_page(&window(Some(ORG))).await.unwrap();

    sim.revoke_tokens();
    let page = client.fetch_page(&window(Some(ORG))).await.unwrap();

    assert_eq!(page.events.len(), 3);
    assert_eq!(sim.requests_to(Target::Token).len(), 2);
}

#[tokio::test]
async fn a_refused_service_account_is_fatal_without_retrying() {
    let sim = service_account_simulator(Duration::from_secs(3_600)).await;
    let client = small_pages(
        &sim,
        Credential::ServiceAccount {
            client_id: CLIENT_ID.to_owned(),
            client_secret: Secret::new("svc_secret_wrong_one"),
        },
    );

    let error = client.fetch_page(&window(Some(ORG))).await.unwrap_err();

    assert!(
        matches!(
            error,
            ClientError::Auth {
                endpoint: Endpoint::Token,
                status: 401,
                ..
            }
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains("client id or client secret"), "{text}");
    assert!(!text.contains("svc_secret_wrong_one"), "{text}");
    assert_eq!(sim.requests().len(), 1);
}

/// A writer the test subscriber logs into, so the log can be searched afterwards.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_appears_in_debug_output_errors_or_log_lines() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let sim = Simulator::builder()
        .api_key(KEY, ORG)
        .service_account(CLIENT_ID, CLIENT_SECRET, [ORG])
        .events(ORG, logins(4, "2026-01-26T09:00:00Z", 100))
        .start()
        .await
        .unwrap();
    let key_config = config_for(&sim, Credential::ApiKey(Secret::new(KEY)));
    let account_config = config_for(&sim, service_account());
    let key_client = Client::new(key_config.clone()).unwrap();
    let account_client = small_pages(&sim, service_account());
    let mut texts = vec![
        format!("{key_config:?}"),
        format!("{account_config:#?}"),
        format!("{key_client:?}"),
    ];

    // Pages (with a retry) and a cached token, so the client logs and holds its secrets.
    sim.push_fault(FaultRule::new(Fault::server_error(503)));
    fetch_all(&account_client, window(Some(ORG))).await.unwrap();
    texts.push(format!("{account_client:?}"));
    // A server that echoes the key back in an error body.
    sim.push_fault(FaultRule::new(Fault::Status {
        status: 400,
        retry_after: None,
        body: format!(r#"{{"message":"bad key {KEY} given"}}"#),
    }));
    let echoed = key_client.fetch_page(&window(None)).await.unwrap_err();
    // Every other kind of error.
    let mut errors = vec![echoed];
    for fault in [
        Fault::unauthorized(),
        Fault::payment_required(),
        Fault::forbidden(),
    ] {
        sim.push_fault(FaultRule::new(fault));
        errors.push(key_client.fetch_page(&window(None)).await.unwrap_err());
    }
    sim.push_fault(FaultRule::new(Fault::server_error(500)).always());
    errors.push(key_client.fetch_page(&window(None)).await.unwrap_err());
    sim.clear_faults();
    for error in &errors {
        texts.push(error.to_string());
        texts.push(format!("{error:?}"));
        texts.push(SourceError::from(error.clone()).to_string());
    }
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    texts.push(log.clone());

    assert!(
        errors[0].to_string().contains("bad key [redacted]"),
        "{}",
        errors[0]
    );
    assert!(
        log.contains("retrying a JumpCloud request"),
        "the retry was logged: {log}"
    );
    assert!(log.contains("fetched a Directory Insights page"), "{log}");
    for text in texts {
        assert!(!text.contains(KEY), "key leaked: {text}");
        assert!(
            !text.contains(CLIENT_SECRET),
            "client secret leaked: {text}"
        );
    }
}

#[test]
fn a_config_without_a_usable_credential_is_refused_before_any_request() {
    let mut config = ClientConfig::new(Credential::ServiceAccount {
        client_id: " ".to_owned(),
        client_secret: Secret::new(""),
    });
    config.token_url = Some("not a url".to_owned());

    let error = Client::new(config).unwrap_err();

    let text = error.to_string();
    assert_eq!(error.problems.len(), 3, "{text}");
    assert!(text.contains("client id is empty"), "{text}");
    assert!(text.contains("client secret is empty"), "{text}");
    assert!(text.contains("token URL"), "{text}");
}
