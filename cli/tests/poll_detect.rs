//! `jcwatch poll` runs detection on what it fetches: the built binary against the Directory
//! Insights simulator over loopback, printing the alerts the way `jcwatch scan` does.

use std::process::{Command, Stdio};

use chrono::{TimeDelta, Utc};
use jcwatch_model::time::format_timestamp;
use jcwatch_simulator::Simulator;
use serde_json::{Value, json};

const KEY: &str = "jca_0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a";
const ORG: &str = "5bf6defbdcd8233029e0c598";

/// Twelve failed logins for one account, twenty minutes ago.
fn brute_force() -> Vec<Value> {
    let start = Utc::now() - TimeDelta::minutes(20);
    (0..12)
        .map(|i| {
            json!({
                "id": format!("6a0b{i:020}"),
                "event_type": "user_login_attempt",
                "service": "directory",
                "organization": ORG,
                "timestamp": format_timestamp(start + TimeDelta::seconds(15 * i)),
                "client_ip": "198.18.0.9",
                "initiated_by": {"type": "user", "username": "jane.doe"},
                "success": false,
                "error_message": "invalid credentials"
            })
        })
        .collect()
}

async fn poll_once(sim: &Simulator, state: &std::path::Path) -> (Option<i32>, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jcwatch"));
    command
        .args(["poll", "--once", "--base-url", sim.base_url(), "--state"])
        .arg(state)
        .args(["--since", "2h", "--lag", "5s", "--format", "jsonl"])
        .env_remove("JC_CLIENT_ID")
        .env_remove("JC_CLIENT_SECRET")
        .env_remove("JCWATCH_LOG")
        .env("JC_API_KEY", KEY)
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output().expect("jcwatch runs"))
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn alert_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("alert_id").is_some())
        .collect()
}

#[tokio::test]
async fn a_poll_prints_the_alerts_of_what_it_fetched_and_a_rerun_adds_none() {
    let sim = Simulator::builder()
        .api_key(KEY, ORG)
        .events(ORG, brute_force())
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");

    let (code, first, err) = poll_once(&sim, &state).await;
    let (again_code, second, _) = poll_once(&sim, &state).await;

    assert_eq!(code, Some(0), "{err}");
    let alerts = alert_lines(&first);
    assert_eq!(alerts.len(), 1, "{first}");
    assert_eq!(alerts[0]["rule_id"], "jc.auth.brute_force");
    assert_eq!(alerts[0]["event_ids"].as_array().unwrap().len(), 12);
    assert_eq!(again_code, Some(0));
    assert!(alert_lines(&second).is_empty(), "{second}");
}
