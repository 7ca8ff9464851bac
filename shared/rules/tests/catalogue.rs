//! The catalogue's own evidence: every rule validates, and every rule's matching examples
//! raise it while its near-miss examples do not, run through the real engine.

use std::collections::{BTreeMap, BTreeSet};

use jcwatch_model::{Area, Event};
use jcwatch_rules::fixtures::parse_all;
use jcwatch_rules::{DetectionConfig, Engine, Rule, RuleConfig, catalogue};

fn engine_for(rule: &Rule) -> Engine {
    let examples = (rule.examples)();
    let settings = RuleConfig {
        enabled: Some(true),
        knobs: examples
            .config
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..RuleConfig::default()
    };
    let config = DetectionConfig {
        rules: BTreeMap::from([(rule.id.to_string(), settings)]),
        ..DetectionConfig::default()
    };
    Engine::new(vec![rule.clone()], &config).unwrap_or_else(|e| panic!("{}: {e}", rule.id))
}

fn scan(engine: &Engine, events: &[serde_json::Value]) -> Vec<jcwatch_model::Alert> {
    let parsed: Vec<Event> = parse_all(events);
    assert_eq!(parsed.len(), events.len(), "every example event parses");
    engine.scan(parsed)
}

#[test]
fn every_rule_validates() {
    let rules = catalogue();

    let problems: Vec<String> = rules
        .iter()
        .flat_map(|r| {
            r.problems()
                .into_iter()
                .map(move |p| format!("{}: {p}", r.id))
        })
        .collect();

    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn rule_ids_are_unique_and_the_catalogue_covers_all_five_areas() {
    let rules = catalogue();

    let ids: BTreeSet<&str> = rules.iter().map(|r| r.id).collect();
    let areas: BTreeSet<Area> = rules.iter().map(|r| r.area).collect();

    assert_eq!(ids.len(), rules.len(), "duplicate rule ids");
    assert!(rules.len() >= 30, "only {} rules", rules.len());
    assert_eq!(areas.len(), Area::ALL.len());
}

#[test]
fn rules_that_need_configuration_ship_disabled() {
    let engine = Engine::with_defaults();

    for status in engine.rules() {
        assert_eq!(
            status.enabled,
            status.rule.needs_config.is_none(),
            "{}",
            status.rule.id
        );
    }
}

#[test]
fn every_matching_example_raises_its_rule_with_one_to_three_alerts() {
    let mut failures = Vec::new();
    for rule in catalogue() {
        let engine = engine_for(&rule);
        for example in (rule.examples)().matching {
            let alerts = scan(&engine, &example.events);
            let own: Vec<_> = alerts.iter().filter(|a| a.rule_id == rule.id).collect();
            let ids: BTreeSet<String> = parse_all(&example.events)
                .into_iter()
                .map(|e| e.id)
                .collect();
            if own.is_empty() || own.len() > 3 {
                failures.push(format!(
                    "{} / {}: {} alerts",
                    rule.id,
                    example.name,
                    own.len()
                ));
            }
            for alert in own {
                assert!(
                    alert.event_ids.iter().all(|id| ids.contains(id)),
                    "{}: foreign event ids",
                    rule.id
                );
                assert!(
                    !alert.title.contains('{'),
                    "{}: unfilled title {}",
                    rule.id,
                    alert.title
                );
                assert!(
                    !alert.title.contains("unknown"),
                    "{}: title with unknowns: {}",
                    rule.id,
                    alert.title
                );
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn no_near_miss_example_raises_its_rule() {
    let mut failures = Vec::new();
    for rule in catalogue() {
        let engine = engine_for(&rule);
        for example in (rule.examples)().near_miss {
            let alerts = scan(&engine, &example.events);
            let own: Vec<_> = alerts
                .iter()
                .filter(|a| a.rule_id == rule.id)
                .map(|a| a.title.clone())
                .collect();
            if !own.is_empty() {
                failures.push(format!("{} / {}: {own:?}", rule.id, example.name));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
