//! Address lists reach the rule engine: a list's `allow_in` puts its networks on the named
//! rules' allow-lists, so impossible travel through the corporate VPN is not an alert, while
//! the same trip from an address on no list still is.

use jcwatch_detection::RuleEngine;
use jcwatch_detection::config::Config;
use jcwatch_detection::engine;
use jcwatch_detection::enrich::{LocalFiles, load_address_lists};
use jcwatch_detection::store::LoadedState;
use jcwatch_model::Event;
use serde_json::json;

const EXAMPLE: &str = include_str!("../../../config/jcwatch.example.toml");

fn login(id: &str, at: &str, ip: &str, lat: f64, lon: f64, country: &str) -> Event {
    Event::from_value(json!({
        "id": id, "timestamp": at, "event_type": "user_login_attempt", "service": "directory",
        "client_ip": ip,
        "geoip": {"country_code": country, "latitude": lat, "longitude": lon},
        "initiated_by": {"type": "user", "username": "jane.doe"},
        "success": true, "mfa": true
    }))
    .unwrap()
}

/// Paris, then half an hour later Sydney through `sydney_ip`.
fn trip(sydney_ip: &str) -> Vec<Event> {
    vec![
        login(
            "e1",
            "2026-01-26T09:00:00Z",
            "192.0.2.10",
            48.85,
            2.35,
            "FR",
        ),
        login(
            "e2",
            "2026-01-26T09:30:00Z",
            sydney_ip,
            -33.87,
            151.21,
            "AU",
        ),
    ]
}

async fn engine_from(text: &str) -> engine::CatalogueEngine {
    let mut config = Config::from_toml(text).unwrap();
    let lists = load_address_lists(&config.addresses, &LocalFiles)
        .await
        .unwrap();
    config.detection = lists.feed_allow_lists(&config.detection).unwrap();
    engine::build(&config).unwrap()
}

fn rules_raised(engine: &engine::CatalogueEngine, events: &[Event]) -> Vec<String> {
    engine
        .evaluate(events, LoadedState::default())
        .alerts
        .into_iter()
        .map(|a| a.rule_id)
        .collect()
}

#[tokio::test]
async fn impossible_travel_through_a_listed_vpn_exit_is_not_an_alert() {
    let text = r#"
        [addresses.vpn]
        nature = "vpn"
        label = "corporate VPN"
        cidrs = ["198.51.100.0/24"]
        allow_in = ["jc.login.impossible_travel"]
    "#;
    let engine = engine_from(text).await;

    let through_vpn = rules_raised(&engine, &trip("198.51.100.80"));
    let elsewhere = rules_raised(&engine, &trip("203.0.113.80"));

    assert!(
        !through_vpn.contains(&"jc.login.impossible_travel".to_string()),
        "{through_vpn:?}"
    );
    assert!(
        elsewhere.contains(&"jc.login.impossible_travel".to_string()),
        "{elsewhere:?}"
    );
}

#[tokio::test]
async fn a_list_allowed_in_a_rule_that_does_not_exist_is_named_at_start() {
    let text = r#"
        [addresses.vpn]
        nature = "vpn"
        cidrs = ["198.51.100.0/24"]
        allow_in = ["jc.login.impossible_travle"]
    "#;
    let mut config = Config::from_toml(text).unwrap();
    let lists = load_address_lists(&config.addresses, &LocalFiles)
        .await
        .unwrap();
    config.detection = lists.feed_allow_lists(&config.detection).unwrap();

    let errors = engine::build(&config).unwrap_err().to_string();

    assert!(errors.contains("jc.login.impossible_travle"), "{errors}");
}

#[tokio::test]
async fn the_example_configurations_address_lists_load_and_feed_the_engine() {
    let engine = engine_from(EXAMPLE).await;

    let through_vpn = rules_raised(&engine, &trip("198.51.100.80"));

    assert!(
        !through_vpn.contains(&"jc.login.impossible_travel".to_string()),
        "{through_vpn:?}"
    );
}
