//! The detection configuration: read from TOML, checked against the catalogue with every
//! problem named, and applied to the engine.

use jcwatch_rules::fixtures::{PARIS, Timeline, user_login_failed};
use jcwatch_rules::{DetectionConfig, Engine, catalogue};

fn parse(text: &str) -> DetectionConfig {
    toml::from_str(text).expect("the TOML shape is right")
}

#[test]
fn knob_overrides_change_what_the_rule_does() {
    let config = parse(
        r#"
        [rules."jc.auth.brute_force"]
        threshold = 3
        window = "5m"
        severity = "high"
        "#,
    );
    let engine = Engine::new(catalogue(), &config).unwrap();
    let mut t = Timeline::new("cfg", "2024-05-06T09:00:00Z");
    t.repeat(3, "30s", |_| user_login_failed("jane.doe"));

    let alerts = engine.scan(t.parsed());

    let brute: Vec<_> = alerts
        .iter()
        .filter(|a| a.rule_id == "jc.auth.brute_force")
        .collect();
    assert_eq!(brute.len(), 1);
    assert_eq!(brute[0].severity, jcwatch_model::Severity::High);
    assert_eq!(brute[0].title, "3 failed logins for jane.doe within 5m");
}

#[test]
fn every_problem_is_named_at_once() {
    let config = parse(
        r#"
        [allow]
        cidrs = ["10.0.0.0/8", "not-a-network"]
        countries = ["France"]

        [rules."jc.auth.brute_forse"]
        threshold = 3

        [rules."jc.auth.password_spray"]
        window = "ten minutes"
        treshold = 15
        route = "pager"

        [rules."jc.login.disallowed_country"]
        enabled = true
        "#,
    );

    let problems = config.validate(&catalogue()).unwrap_err();

    let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(
        has("allow.cidrs: not a network or address: \"not-a-network\""),
        "{text:#?}"
    );
    assert!(has("allow.countries"), "{text:#?}");
    assert!(has("did you mean \"jc.auth.brute_force\"?"), "{text:#?}");
    assert!(has("rules.\"jc.auth.password_spray\".window"), "{text:#?}");
    assert!(
        has("rules.\"jc.auth.password_spray\".treshold: not a setting of this rule"),
        "{text:#?}"
    );
    assert!(has("rules.\"jc.auth.password_spray\".route"), "{text:#?}");
    assert!(
        has(
            "rules.\"jc.login.disallowed_country\".countries: this rule is enabled but needs configuration"
        ),
        "{text:#?}"
    );
    assert_eq!(problems.len(), 7, "{text:#?}");
}

#[test]
fn unknown_top_level_keys_are_rejected_by_the_reader() {
    let result: Result<DetectionConfig, _> = toml::from_str("[allowlist]\ncidrs = []\n");

    let message = result.unwrap_err().to_string();

    assert!(message.contains("allowlist"), "{message}");
}

#[test]
fn a_rule_can_be_switched_off_and_a_needs_config_rule_on() {
    let config = parse(
        r#"
        [rules."jc.auth.brute_force"]
        enabled = false

        [rules."jc.login.disallowed_country"]
        enabled = true
        countries = ["ru"]
        "#,
    );

    let engine = Engine::new(catalogue(), &config).unwrap();

    let enabled = |id: &str| engine.rules().find(|r| r.rule.id == id).map(|r| r.enabled);
    assert_eq!(enabled("jc.auth.brute_force"), Some(false));
    assert_eq!(enabled("jc.login.disallowed_country"), Some(true));
}

#[test]
fn a_global_allow_list_exempts_trusted_addresses_from_every_rule() {
    let config = parse(&format!("[allow]\ncidrs = [\"{}/32\"]\n", PARIS.ip));
    let engine = Engine::new(catalogue(), &config).unwrap();
    let mut t = Timeline::new("cfg-allow", "2024-05-06T09:00:00Z");
    t.repeat(12, "10s", |_| user_login_failed("jane.doe"));

    let alerts = engine.scan(t.parsed());

    assert!(alerts.is_empty(), "{alerts:#?}");
}
