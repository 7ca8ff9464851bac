//! Enrichment in the CLI's output, as a user sees it: `jcwatch scan` with address lists and
//! with a JumpCloud credential, and `jcwatch poll` against the simulator's directory, whose
//! second run reads people from the state database's cache instead of asking again.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::{TimeDelta, Utc};
use jcwatch_model::time::format_timestamp;
use jcwatch_simulator::{Directory, Simulator, Target};
use serde_json::{Value, json};

const KEY: &str = "jca_1e2d3c4b5a69788796a5b4c3d2e1f0aa";
const ORG: &str = "5bf6defbdcd8233029e0c598";

/// Twelve failed logins for jane.doe from one address, `minutes_ago` minutes ago.
fn brute_force(minutes_ago: i64) -> Vec<Value> {
    let start = Utc::now() - TimeDelta::minutes(minutes_ago);
    (0..12)
        .map(|i| {
            json!({
                "id": format!("7b1c{minutes_ago:04}{i:016}"),
                "event_type": "user_login_attempt",
                "service": "directory",
                "organization": ORG,
                "timestamp": format_timestamp(start + TimeDelta::seconds(15 * i)),
                "client_ip": "203.0.113.45",
                "geoip": {"country_code": "NG"},
                "initiated_by": {"type": "user", "username": "jane.doe"},
                "success": false,
                "error_message": "invalid credentials"
            })
        })
        .collect()
}

const LISTS: &str = r#"
[addresses.tor]
nature = "anonymising"
label = "Tor exit"
cidrs = ["203.0.113.45"]
raise_severity = true
"#;

fn jcwatch(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jcwatch"));
    command
        .args(args)
        .env_remove("JC_API_KEY")
        .env_remove("JC_CLIENT_ID")
        .env_remove("JC_CLIENT_SECRET")
        .env_remove("JC_BASE_URL")
        .env_remove("JC_REGION")
        .env_remove("JCWATCH_LOG")
        .stdin(Stdio::null());
    for (name, value) in envs {
        command.env(name, value);
    }
    command.output().expect("jcwatch runs")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn alert_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("alert_id").is_some())
        .collect()
}

async fn simulator() -> Simulator {
    Simulator::builder()
        .api_key(KEY, ORG)
        .directory(ORG, Directory::sample_company("example.com"))
        .events(ORG, brute_force(20))
        .start()
        .await
        .unwrap()
}

#[test]
fn scan_names_the_address_list_and_raises_the_severity_without_any_credential() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "jcwatch.toml", LISTS);
    let events: String = brute_force(60)
        .iter()
        .map(|e| e.to_string() + "\n")
        .collect();
    let export = write(dir.path(), "events.jsonl", &events);

    let table = jcwatch(&["scan", "--config", &config, &export], &[]);
    let lines = jcwatch(
        &["scan", "--config", &config, "--format", "jsonl", &export],
        &[],
    );

    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.status.success(),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    assert!(text.contains("└ jane.doe · Tor exit"), "{text}");
    let alerts = alert_lines(&lines.stdout);
    // The brute-force rule's medium, one level up.
    assert_eq!(alerts[0]["severity"], "high");
    assert_eq!(
        alerts[0]["enrichment"]["address"]["lists"][0]["label"],
        "Tor exit"
    );
}

#[test]
fn scan_with_a_bad_address_list_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "jcwatch.toml",
        "[addresses.vpn]\nnature = \"vpn\"\nfile = \"no-such-list.txt\"\n",
    );
    let export = write(dir.path(), "events.jsonl", "");

    let output = jcwatch(&["scan", "--config", &config, &export], &[]);

    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("addresses.vpn.file: no-such-list.txt cannot be read"),
        "{stderr}"
    );
}

#[tokio::test]
async fn scan_with_a_credential_names_the_persons_job_department_and_groups() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let events: String = brute_force(60)
        .iter()
        .map(|e| e.to_string() + "\n")
        .collect();
    let export = write(dir.path(), "events.jsonl", &events);
    let base = sim.base_url().to_string();

    let output = tokio::task::spawn_blocking(move || {
        jcwatch(
            &["scan", &export],
            &[("JC_API_KEY", KEY), ("JC_BASE_URL", &base)],
        )
    })
    .await
    .unwrap();

    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains(
            "Jane Doe (Senior Accountant, Finance; groups All staff, Finance, VPN users)"
        ),
        "{text}"
    );
}

async fn poll_once(sim: &Simulator, state: &Path, config: &str) -> Output {
    let (base, state, config) = (
        sim.base_url().to_string(),
        state.display().to_string(),
        config.to_string(),
    );
    tokio::task::spawn_blocking(move || {
        jcwatch(
            &[
                "poll",
                "--once",
                "--base-url",
                &base,
                "--state",
                &state,
                "--config",
                &config,
                "--since",
                "2h",
                "--lag",
                "5s",
                "--format",
                "jsonl",
            ],
            &[("JC_API_KEY", KEY)],
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn poll_enriches_its_alerts_and_a_later_run_reads_people_from_the_cache() {
    let sim = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "jcwatch.toml", LISTS);
    let state = dir.path().join("state");

    let first = poll_once(&sim, &state, &config).await;
    let asked = sim.requests_to(Target::Users).len();
    let queried = activity_queries(&sim);
    sim.add_events(ORG, brute_force(3)).unwrap();
    let second = poll_once(&sim, &state, &config).await;

    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let alerts = alert_lines(&first.stdout);
    let profile = &alerts[0]["enrichment"]["people"][0]["profile"];
    assert_eq!(profile["job_title"], "Senior Accountant");
    assert_eq!(profile["manager"]["name"], "John Smith");
    assert!(asked > 0);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        !alert_lines(&second.stdout).is_empty(),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    // The second run enriched (it asked Directory Insights for jane's activity again) but
    // took jane's profile from the cache.
    assert!(activity_queries(&sim) > queried);
    assert_eq!(sim.requests_to(Target::Users).len(), asked);
}

/// Events searches filtered on a person.
fn activity_queries(sim: &Simulator) -> usize {
    sim.requests_to(Target::Events)
        .iter()
        .filter(|r| {
            r.body
                .as_ref()
                .is_some_and(|b| b.get("search_term").is_some())
        })
        .count()
}
