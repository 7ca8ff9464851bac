//! `jcwatch scan` as a user runs it: the built binary over a fixture export.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scan-events.jsonl")
}

fn jcwatch(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jcwatch"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jcwatch starts");
    let input = stdin.unwrap_or_default().to_vec();
    let mut pipe = child.stdin.take().expect("stdin");
    std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    child.wait_with_output().expect("jcwatch finishes")
}

fn alerts(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_spray_and_a_brute_force_in_a_shuffled_export_give_one_alert_each() {
    let path = fixture();

    let output = jcwatch(&["scan", path.to_str().unwrap(), "--format", "jsonl"], None);

    assert!(output.status.success(), "{}", stderr(&output));
    let found = alerts(&output);
    let rules: BTreeSet<&str> = found
        .iter()
        .map(|a| a["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        BTreeSet::from(["jc.auth.brute_force", "jc.auth.password_spray"]),
        "{found:#?}"
    );
    assert_eq!(found.len(), 2, "{found:#?}");
    for alert in &found {
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
            assert!(alert.get(key).is_some(), "{key} missing from {alert}");
        }
        assert!(alert["count"].as_u64().unwrap() >= 10, "{alert}");
    }
    let spray = found
        .iter()
        .find(|a| a["rule_id"] == "jc.auth.password_spray")
        .unwrap();
    assert_eq!(spray["event_ids"].as_array().unwrap().len(), 12);
    assert!(
        spray["title"].as_str().unwrap().contains("203.0.113.50"),
        "{spray}"
    );
}

#[test]
fn malformed_lines_are_reported_by_line_number_and_counted_without_failing() {
    let path = fixture();

    let output = jcwatch(&["scan", path.to_str().unwrap(), "--format", "jsonl"], None);

    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("scan-events.jsonl:6: not JSON"), "{err}");
    assert!(err.contains("scan-events.jsonl:10:"), "{err}");
    assert!(
        err.contains("scanned 29 events, skipped 2 malformed, 2 alerts"),
        "{err}"
    );
}

#[test]
fn standard_input_and_a_json_array_give_the_same_alert_ids_as_the_file() {
    let path = fixture();
    let text = std::fs::read_to_string(&path).unwrap();
    let array: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    let array_text = serde_json::to_vec_pretty(&array).unwrap();
    let ids = |output: &Output| -> BTreeSet<String> {
        alerts(output)
            .iter()
            .map(|a| a["alert_id"].as_str().unwrap().to_string())
            .collect()
    };

    let from_file = jcwatch(&["scan", path.to_str().unwrap(), "--format", "jsonl"], None);
    let from_stdin = jcwatch(&["scan", "-", "--format", "jsonl"], Some(text.as_bytes()));
    let from_array = jcwatch(&["scan", "--format", "jsonl"], Some(&array_text));

    assert_eq!(ids(&from_file).len(), 2);
    assert_eq!(ids(&from_stdin), ids(&from_file));
    assert_eq!(ids(&from_array), ids(&from_file));
}

#[test]
fn the_table_names_each_alert_on_one_aligned_line() {
    let path = fixture();

    let output = jcwatch(&["scan", path.to_str().unwrap()], None);

    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("FIRST SEEN (UTC)"), "{text}");
    assert!(
        lines.iter().any(|l| l.contains("jc.auth.password_spray")),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.contains("jane.doe")), "{text}");
    assert_eq!(lines.last(), Some(&"2 alerts"));
}

#[test]
fn a_bad_configuration_exits_2_naming_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[notify]\nalert = \"loud\"\n[detection.rules.\"jc.no.such_rule\"]\nenabled = true\n",
    )
    .unwrap();
    let path = fixture();

    let output = jcwatch(
        &[
            "scan",
            path.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        None,
    );

    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("notify.alert"), "{err}");
    assert!(err.contains("jc.no.such_rule"), "{err}");
}

#[test]
fn a_missing_file_fails_with_exit_1_and_its_name() {
    let output = jcwatch(&["scan", "/nonexistent/events.jsonl"], None);

    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("/nonexistent/events.jsonl"));
}

#[test]
fn rules_lists_the_catalogue_in_every_format() {
    let table = jcwatch(&["rules"], None);
    let json = jcwatch(&["rules", "--format", "json"], None);
    let markdown = jcwatch(&["rules", "--format", "markdown"], None);

    assert!(table.status.success());
    assert!(String::from_utf8_lossy(&table.stdout).contains("jc.auth.password_spray"));
    let parsed: Value = serde_json::from_slice(&json.stdout).expect("rules JSON parses");
    assert!(parsed.as_array().is_some_and(|rules| rules.len() >= 10));
    assert!(String::from_utf8_lossy(&markdown.stdout).starts_with("| Rule |"));
}
