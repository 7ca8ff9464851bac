//! `jcwatch demo` read as a new user reads it: every alert about a person of the company
//! names their job title, department and groups, every alert with a source address says what
//! the address is, and each DUET's email and Slack message carry the same.

use std::process::{Command, Output};

use chrono::NaiveDate;
use jcwatch_model::Alert;
use jcwatch_model::enrichment::{LookupOutcome, Role};
use jcwatch_simulator::scenario::Scenario;

const DATE: &str = "2025-06-10";
const SEED: &str = "7";

fn demo(extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jcwatch"))
        .args(["demo", "--date", DATE, "--seed", SEED])
        .args(extra)
        .env_remove("JC_API_KEY")
        .output()
        .expect("the jcwatch binary runs")
}

fn alerts() -> Vec<Alert> {
    let output = demo(&["--format", "jsonl"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is an alert"))
        .collect()
}

#[test]
fn every_alert_about_a_company_person_names_their_job_department_and_groups() {
    let scenario = Scenario::new(7, NaiveDate::parse_from_str(DATE, "%Y-%m-%d").unwrap());
    let company = scenario.company();

    let alerts = alerts();

    let mut about_people = 0;
    for alert in &alerts {
        let Some(actor) = &alert.actor else { continue };
        let known = company
            .people
            .iter()
            .any(|p| actor == &p.username || actor == &p.email);
        if !known {
            continue;
        }
        about_people += 1;
        let person = alert
            .enrichment
            .as_ref()
            .and_then(|e| e.person(Role::Actor))
            .unwrap_or_else(|| panic!("{} has no actor context", alert.rule_id));
        assert_eq!(person.lookup, LookupOutcome::Found, "{}", alert.rule_id);
        let profile = person.profile.as_ref().unwrap();
        let expected = company
            .people
            .iter()
            .find(|p| actor == &p.username || actor == &p.email)
            .unwrap();
        assert_eq!(
            profile.job_title.as_deref(),
            Some(expected.title),
            "{}",
            alert.rule_id
        );
        assert_eq!(
            profile.department.as_deref(),
            Some(expected.department),
            "{}",
            alert.rule_id
        );
        assert!(!profile.groups.is_empty(), "{}", alert.rule_id);
        assert!(
            profile.groups.iter().all(|g| g.name.is_some()),
            "{}",
            alert.rule_id
        );
    }
    assert!(
        about_people >= 5,
        "only {about_people} alerts about company people"
    );
}

#[test]
fn every_alert_with_a_source_address_says_what_the_address_is() {
    let alerts = alerts();

    let with_address: Vec<&Alert> = alerts.iter().filter(|a| a.source.ip.is_some()).collect();

    assert!(!with_address.is_empty());
    for alert in with_address {
        let address = alert
            .enrichment
            .as_ref()
            .and_then(|e| e.address.as_ref())
            .unwrap_or_else(|| panic!("{} has no address context", alert.rule_id));
        assert!(
            !address.describe().is_empty(),
            "{}: {address:?}",
            alert.rule_id
        );
    }
}

#[test]
fn the_table_and_every_duet_show_who_and_from_where() {
    let output = demo(&[]);

    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        text.contains("└ Jamie Clarke (Systems Engineer, IT; groups"),
        "{text}"
    );
    assert!(text.contains("VPS hosting provider"), "{text}");
    let duets: Vec<&str> = text.split("=== DUET ").skip(1).collect();
    assert!(!duets.is_empty());
    for duet in duets {
        assert!(
            duet.contains("Who they are (JumpCloud directory)"),
            "{duet}"
        );
        assert!(duet.contains("Nature:"), "{duet}");
        assert!(duet.contains("*Address:*"), "{duet}");
    }
}
