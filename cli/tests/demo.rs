//! `jcwatch demo` run as a user runs it: the built binary, its exit code and its output,
//! checked against the scenario's ground truth.

use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use jcwatch_model::{Alert, Area, Route};
use jcwatch_simulator::scenario::{Scenario, ScoredAlert};

/// A fixed day and seed, so the output can be compared with the scenario's ground truth.
const DATE: &str = "2025-06-10";
const SEED: &str = "7";

/// The demo must finish in seconds; this leaves room for a slow CI machine and a debug build.
const TIME_LIMIT: Duration = Duration::from_secs(60);

fn demo(extra: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_jcwatch"))
        .args(["demo", "--date", DATE, "--seed", SEED])
        .args(extra)
        .env_remove("JC_API_KEY")
        .output()
        .expect("the jcwatch binary runs");
    (output, started.elapsed())
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn jsonl_alerts() -> Vec<Alert> {
    let (output, _) = demo(&["--format", "jsonl"]);
    assert!(
        output.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is an alert"))
        .collect()
}

#[test]
fn the_demo_exits_zero_in_seconds_with_alerts_from_all_five_areas() {
    let (output, took) = demo(&[]);

    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(took < TIME_LIMIT, "the demo took {took:?}");
    let text = stdout(&output);
    assert!(text.starts_with("jcwatch demo: one day at Larkfield Analytics"));
    assert!(text.contains("ALERTS"));
    assert!(
        text.contains("2 event(s) arrived late between the polls"),
        "{text}"
    );
    assert!(text.contains("intrusion steps caught: 15 of 15"), "{text}");
    assert!(text.contains("alerts on ordinary activity: 0"), "{text}");
    let alerts = jsonl_alerts();
    let areas: BTreeSet<Area> = alerts.iter().map(|a| a.area).collect();
    assert_eq!(areas.len(), 5, "areas alerted: {areas:?}");
    for alert in &alerts {
        assert!(
            text.contains(&alert.rule_id),
            "table lacks {}",
            alert.rule_id
        );
    }
}

#[test]
fn every_duet_is_shown_as_an_email_and_a_slack_message() {
    let alerts = jsonl_alerts();
    let duets: Vec<&Alert> = alerts.iter().filter(|a| a.route == Route::Duet).collect();

    let (output, _) = demo(&[]);

    let text = stdout(&output);
    assert!(!duets.is_empty());
    assert!(text.contains(&format!("DUET NOTIFICATIONS ({})", duets.len())));
    let sections: Vec<&str> = text.split("\n=== DUET ").skip(1).collect();
    assert_eq!(sections.len(), duets.len());
    for duet in duets {
        let section = sections
            .iter()
            .find(|s| s.contains(&duet.alert_id))
            .unwrap_or_else(|| panic!("no notification shown for DUET {}", duet.alert_id));
        let (email, slack) = section
            .split_once("--- slack ---")
            .expect("an email part then a Slack part");
        assert!(email.contains("--- email ---\nSubject: [jcwatch]["));
        assert!(email.contains("[DUET]") && email.contains("DID YOU EXPECT THIS?"));
        assert!(slack.contains("┃ *[") && slack.contains("Did you expect this?"));
        assert!(slack.contains(&duet.rule_id));
    }
}

#[test]
fn the_demo_catches_the_intrusion_and_raises_nothing_on_ordinary_activity() {
    let date: NaiveDate = DATE.parse().unwrap();
    let corpus = Scenario::new(SEED.parse().unwrap(), date).demo_day();

    let alerts = jsonl_alerts();

    let scored: Vec<ScoredAlert> = alerts
        .iter()
        .map(|a| serde_json::from_value(serde_json::to_value(a).unwrap()).unwrap())
        .collect();
    let score = corpus.score(&scored);
    println!("{}", score.report());
    assert!(
        score.unknown_event_ids.is_empty(),
        "{:?}",
        score.unknown_event_ids
    );
    for (area, (caught, total)) in score.recall_by_area() {
        assert!(
            caught > 0,
            "{area}: 0 of {total} attack steps caught\n{}",
            score.report()
        );
    }
    assert!(
        score.false_positives.is_empty(),
        "alerts on ordinary activity:\n{}",
        score.report()
    );
}

#[test]
fn jsonl_lines_carry_the_fields_scan_prints() {
    let (output, _) = demo(&["--format", "jsonl"]);

    let text = stdout(&output);
    assert!(!text.is_empty());
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in [
            "alert_id",
            "rule_id",
            "title",
            "severity",
            "area",
            "route",
            "event_ids",
            "first_seen",
            "last_seen",
            "count",
        ] {
            assert!(value.get(key).is_some(), "{key} missing from {line}");
        }
    }
}

#[test]
fn the_same_seed_and_day_give_the_same_alerts() {
    let ids =
        |alerts: Vec<Alert>| -> Vec<String> { alerts.into_iter().map(|a| a.alert_id).collect() };

    let first = ids(jsonl_alerts());
    let second = ids(jsonl_alerts());

    assert_eq!(first, second);
}

#[test]
fn a_day_that_is_not_in_the_past_is_refused_with_exit_code_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_jcwatch"))
        .args(["demo", "--date", "2999-01-01"])
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("--date 2999-01-01 is not in the past"),
        "{err}"
    );
}
