//! The engine's semantics, rule kind by rule kind, through the public API.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use jcwatch_model::Event;
use jcwatch_rules::fixtures::*;
use jcwatch_rules::{
    AlertSet, AllowConfig, DetectionConfig, Engine, EvalContext, MemoryState, RuleConfig,
    StateView, catalogue,
};
use serde_json::json;

fn engine_with(id: &str, settings: RuleConfig) -> Engine {
    let config = DetectionConfig {
        rules: BTreeMap::from([(id.to_string(), settings)]),
        ..DetectionConfig::default()
    };
    let only: Vec<_> = catalogue().into_iter().filter(|r| r.id == id).collect();
    Engine::new(only, &config).expect("valid")
}

fn engine(id: &str) -> Engine {
    engine_with(id, RuleConfig::default())
}

#[test]
fn a_burst_across_a_suppression_boundary_is_one_alert() {
    let engine = engine("jc.auth.brute_force");
    let mut t = Timeline::new("edge", "2024-05-06T23:57:00Z");
    t.repeat(12, "30s", |_| user_login_failed("jane.doe"));

    let alerts = engine.scan(t.parsed());

    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].count, 12);
}

#[test]
fn repeats_inside_the_suppression_window_fold_into_one_alert_and_a_new_window_starts_a_new_one() {
    let engine = engine("jc.apikey.old_key_attempt");
    let mut t = Timeline::new("rep", "2024-05-06T08:00:00Z");
    t.repeat(3, "2h", |_| old_api_key_attempt("it.admin@corp.example"));
    t.wait("1d")
        .push(old_api_key_attempt("it.admin@corp.example"));

    let alerts = engine.scan(t.parsed());

    let counts: Vec<u64> = alerts.iter().map(|a| a.count).collect();
    assert_eq!(counts, [3, 1]);
    assert_ne!(alerts[0].alert_id, alerts[1].alert_id);
}

#[test]
fn a_batch_delivered_twice_gives_the_same_alert_and_no_new_state() {
    let engine = Engine::with_defaults();
    let mut t = Timeline::new("twice", "2024-05-06T08:00:00Z");
    t.repeat(12, "10s", |_| user_login_failed("jane.doe").from(&MOSCOW));
    let events = t.parsed();
    let mut state = MemoryState::new();

    let first = engine.run(&events, &mut state, &EvalContext::default());
    let entries = state.entries().clone();
    let again = engine.evaluate(&events, &state, &EvalContext::default());

    assert_eq!(
        first.iter().map(|a| &a.alert_id).collect::<Vec<_>>(),
        again.alerts.iter().map(|a| &a.alert_id).collect::<Vec<_>>()
    );
    assert!(
        again.updates.iter().all(|u| u.add.is_empty()),
        "nothing new to store"
    );
    state.apply(&again.updates);
    assert_eq!(state.entries(), &entries);
}

#[test]
fn keys_for_names_every_key_the_evaluation_writes() {
    let engine = Engine::with_defaults();
    let events = {
        let mut t = Timeline::new("keys", "2024-05-06T08:00:00Z");
        t.push(user_login("jane.doe"))
            .wait("1h")
            .push(user_login_failed("john.doe").from(&LAGOS));
        t.push(
            admin_change("user_update", "it.admin@corp.example")
                .on_user("jane.doe")
                .change("totp_enabled", Some(json!(true)), json!(false)),
        );
        t.parsed()
    };

    let keys = engine.keys_for(&events, &EvalContext::default());
    let evaluation = engine.evaluate(&events, &MemoryState::new(), &EvalContext::default());

    assert!(!evaluation.updates.is_empty());
    for update in &evaluation.updates {
        assert!(
            keys.contains(&update.key),
            "{:?} written but not planned",
            update.key
        );
        assert!(
            update.expires_at > update.key_time(),
            "expiry after the bucket"
        );
    }
}

trait KeyTime {
    fn key_time(&self) -> chrono::DateTime<chrono::Utc>;
}

impl KeyTime for jcwatch_rules::StateUpdate {
    fn key_time(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.key.bucket, 0).unwrap()
    }
}

#[test]
fn a_first_seen_value_waits_for_the_learning_period() {
    let engine = engine("jc.login.first_seen_country");
    let mut fresh = Timeline::new("fs-fresh", "2024-05-06T08:00:00Z");
    fresh
        .push(user_login("jane.doe"))
        .wait("20h")
        .push(user_login("jane.doe").from(&LAGOS).ua(&EDGE_WINDOWS));
    let mut learned = Timeline::new("fs-learned", "2024-05-06T08:00:00Z");
    learned
        .push(user_login("jane.doe"))
        .wait("26h")
        .push(user_login("jane.doe").from(&LAGOS).ua(&EDGE_WINDOWS));

    assert!(engine.scan(fresh.parsed()).is_empty());
    assert_eq!(engine.scan(learned.parsed()).len(), 1);
}

#[test]
fn with_a_watermark_a_first_seen_value_is_decided_only_once_its_past_is_complete() {
    let engine = engine("jc.login.first_seen_country");
    let mut t = Timeline::new("fs-wm", "2024-05-06T08:00:00Z");
    t.push(user_login("jane.doe"))
        .wait("2d")
        .push(user_login("jane.doe").from(&LAGOS).ua(&EDGE_WINDOWS));
    let events = t.parsed();
    let new_login = events[1].clone();
    let mut state = MemoryState::new();

    let early = engine.run(
        std::slice::from_ref(&new_login),
        &mut state,
        &EvalContext {
            complete_before: Some(new_login.timestamp),
        },
    );
    let late = engine.run(
        &events[..1],
        &mut state,
        &EvalContext {
            complete_before: Some(events[0].timestamp),
        },
    );
    let flushed = engine.flush_memory(&mut state, new_login.timestamp + TimeDelta::seconds(1));

    assert!(
        early.is_empty() && late.is_empty(),
        "undecided while the past may be incomplete"
    );
    assert_eq!(flushed.len(), 1);
    assert_eq!(flushed[0].event_ids, [new_login.id]);
}

#[test]
fn an_a_and_not_b_window_is_decided_when_it_closes_and_a_b_inside_it_cancels() {
    let engine = engine("jc.mfa.user_mfa_disabled");
    let off = |who: &str| {
        admin_change("user_update", "it.admin@corp.example")
            .on_user(who)
            .change("totp_enabled", Some(json!(true)), json!(false))
    };
    let mut t = Timeline::new("abs", "2024-05-06T08:00:00Z");
    t.push(off("jane.doe")).push(off("john.doe"));
    t.wait("1h").push(
        Ev::new("totp_finish_enrollment", "directory")
            .by_user("john.doe")
            .on_user("john.doe")
            .from(&PARIS)
            .ok(true),
    );
    let events = t.parsed();
    let mut state = MemoryState::new();

    let open = engine.run(
        &events,
        &mut state,
        &EvalContext {
            complete_before: Some(events[2].timestamp + TimeDelta::hours(1)),
        },
    );
    let mut later = Timeline::new("abs-later", "2024-05-06T13:00:00Z");
    later.push(user_login("someone.else"));
    let closed = engine.run(
        &later.parsed(),
        &mut state,
        &EvalContext {
            complete_before: Some(events[0].timestamp + TimeDelta::hours(5)),
        },
    );

    assert!(open.is_empty(), "the window is still open");
    assert_eq!(closed.len(), 1);
    assert_eq!(
        closed[0].details.get("entity").map(String::as_str),
        Some("jane.doe")
    );
    assert_eq!(closed[0].actor.as_deref(), Some("it.admin@corp.example"));
}

#[test]
fn a_vpn_on_the_travel_rule_allow_list_is_not_taken_as_a_location() {
    let vpn_exit = NEW_YORK.via("198.51.100.20");
    let settings = RuleConfig {
        allow: Some(AllowConfig {
            cidrs: vec!["198.51.100.0/24".into()],
            ..AllowConfig::default()
        }),
        ..RuleConfig::default()
    };
    let plain = engine("jc.login.impossible_travel");
    let with_vpn_listed = engine_with("jc.login.impossible_travel", settings);
    let mut t = Timeline::new("vpn", "2024-05-06T08:00:00Z");
    t.push(user_login("jane.doe"))
        .wait("10m")
        .push(sso("jane.doe", "Slack").from(&vpn_exit))
        .wait("10m")
        .push(sso("jane.doe", "Zoom"));
    let events: Vec<Event> = t.parsed();

    assert_eq!(plain.scan(events.clone()).len(), 1);
    assert!(with_vpn_listed.scan(events).is_empty());
}

#[test]
fn alerts_carry_who_from_where_what_changed_and_what_to_do() {
    let engine = engine("jc.config.authn_policy_weakened");
    let mut t = Timeline::new("content", "2024-05-06T08:00:00Z");
    t.push(
        admin_change("authnpolicy_update", "it.admin@corp.example")
            .from(&MOSCOW)
            .ua(&FIREFOX_WINDOWS)
            .on("authn_policy", "Require MFA")
            .change("disabled", Some(json!(false)), json!(true)),
    );

    let alert = &engine.scan(t.parsed())[0];

    assert_eq!(alert.actor.as_deref(), Some("it.admin@corp.example"));
    assert_eq!(alert.target.as_deref(), Some("require mfa"));
    assert_eq!(alert.source.ip.as_deref(), Some(MOSCOW.ip));
    assert_eq!(alert.source.country.as_deref(), Some("RU"));
    assert!(
        alert
            .source
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.contains("Firefox"))
    );
    assert_eq!(alert.changes.len(), 1);
    assert_eq!(alert.changes[0].to, Some(json!(true)));
    assert_eq!(alert.technique, "T1556.009");
    assert!(!alert.first_action.is_empty());
    assert_eq!(
        alert.title,
        "Authentication policy require mfa weakened by it.admin@corp.example"
    );
}

#[test]
fn hostile_names_are_bounded_in_titles_and_state() {
    let engine = engine("jc.auth.brute_force");
    let hostile = format!("eve\u{1b}[31m{}", "x".repeat(5_000));
    let mut t = Timeline::new("hostile", "2024-05-06T08:00:00Z");
    t.repeat(12, "5s", |_| user_login_failed(&hostile));
    let mut state = MemoryState::new();

    let alerts = engine.run(&t.parsed(), &mut state, &EvalContext::default());

    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].title.chars().count() <= 240);
    assert!(!alerts[0].title.contains('\u{1b}'));
    assert!(state.keys().all(|k| k.entity.chars().count() <= 200));
    let mut set = AlertSet::default();
    set.extend(alerts);
    assert_eq!(set.len(), 1);
    assert!(state.get(state.keys().next().unwrap()).is_some());
}

#[test]
fn missing_fields_are_unknown_and_raise_nothing() {
    let engine = Engine::with_defaults();
    let bare: Vec<Event> = (0..30)
        .map(|i| Event::from_value(json!({"id": format!("bare{i}"), "timestamp": "2024-05-06T08:00:00Z", "event_type": "user_login_attempt"})).unwrap())
        .collect();

    assert!(engine.scan(bare).is_empty());
}

#[test]
fn the_public_samples_run_through_every_rule_without_alerting() {
    let text = include_str!("../../model/tests/fixtures/public-samples.jsonl");
    let events: Vec<Event> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| Event::from_json(l).ok())
        .collect();
    let mut config = DetectionConfig::default();
    for rule in catalogue().iter().filter(|r| r.needs_config.is_some()) {
        let examples = (rule.examples)();
        config.rules.insert(
            rule.id.to_string(),
            RuleConfig {
                enabled: Some(true),
                knobs: examples
                    .config
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
                ..RuleConfig::default()
            },
        );
    }
    let engine = Engine::new(catalogue(), &config).expect("valid");

    let alerts = engine.scan(events.clone());

    assert!(events.len() >= 15, "the samples parse");
    assert!(alerts.is_empty(), "{alerts:#?}");
}
