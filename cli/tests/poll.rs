//! `jcwatch poll` end to end: the built binary against the Directory Insights simulator over
//! loopback HTTP, run again and again while faults strike and late events arrive, with the
//! events file checked for every event exactly once.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use jcwatch_model::time::format_timestamp;
use jcwatch_simulator::generate::{EventFactory, Person, Place};
use jcwatch_simulator::{Fault, FaultRule, Outcome as Answer, Simulator};
use serde_json::{Value, json};

const KEY: &str = "jca_5c1f0e9d8b7a6f5e4d3c2b1a09f8e7d6";
const ORG: &str = "5bf6defbdcd8233029e0c598";
/// Events per page the simulator serves, whatever the client asks for.
const PAGE: usize = 100;

/// What one run of the binary did.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// The per-organisation report lines; the alert lines detection prints beside them
    /// (they carry `alert_id`) are left out.
    fn reports(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .filter(|v| v.get("alert_id").is_none())
            .collect()
    }
}

/// A state directory, an events file, and the simulator they poll.
struct Bench {
    sim: Simulator,
    dir: tempfile::TempDir,
}

impl Bench {
    async fn start(events: Vec<Value>) -> Self {
        let sim = Simulator::builder()
            .api_key(KEY, ORG)
            .limits(PAGE, PAGE)
            .events(ORG, events)
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        // These runs are about the poll: enrichment's own JumpCloud requests (directory
        // look-ups, person-filtered searches) would take their share of the queued faults.
        std::fs::write(
            dir.path().join("jcwatch.toml"),
            "[enrichment]\ndirectory = false\nactivity_query = false\n",
        )
        .unwrap();
        Bench { sim, dir }
    }

    fn events_file(&self) -> PathBuf {
        self.dir.path().join("out/events.jsonl")
    }

    fn rejects_file(&self) -> PathBuf {
        self.dir.path().join("out/events.rejects.jsonl")
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_jcwatch"));
        command
            .args(["poll", "--base-url", self.sim.base_url(), "--state"])
            .arg(self.dir.path().join("state"))
            .args(["--since", "2h", "--lag", "5s", "--overlap", "15m"])
            .arg("--config")
            .arg(self.dir.path().join("jcwatch.toml"))
            .arg("--events-out")
            .arg(self.events_file())
            .args(extra)
            .env_remove("JC_CLIENT_ID")
            .env_remove("JC_CLIENT_SECRET")
            .env_remove("JCWATCH_LOG")
            .env("JC_API_KEY", KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs `jcwatch poll --once --format jsonl` to the end.
    async fn poll_once(&self) -> Outcome {
        let command = self.command(&["--once", "--format", "jsonl"]);
        run(command).await
    }
}

async fn run(mut command: Command) -> Outcome {
    tokio::task::spawn_blocking(move || {
        let output = command.output().expect("jcwatch runs");
        Outcome {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}

fn ids_of(events: &[Value]) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect()
}

/// Every id in the events file, with how often it appears.
fn written(path: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        *counts
            .entry(event["id"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
}

fn logins(
    factory: &EventFactory,
    start: DateTime<Utc>,
    count: usize,
    spacing: TimeDelta,
) -> Vec<Value> {
    factory.ordinary_activity(start, count, spacing)
}

fn assert_completed(outcome: &Outcome) {
    assert_eq!(outcome.code, Some(0), "{outcome:#?}");
    let reports = outcome.reports();
    assert_eq!(reports.len(), 1, "{outcome:#?}");
    assert_eq!(reports[0]["status"], "completed", "{outcome:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_comes_out_exactly_once_across_runs_with_faults_late_arrivals_and_a_kill() {
    let factory = EventFactory::new(ORG);
    let now = Utc::now();
    let mut expected = Vec::new();
    let mut initial = logins(
        &factory,
        now - TimeDelta::minutes(90),
        600,
        TimeDelta::seconds(8),
    );
    // More ties in one millisecond than a page holds.
    initial.extend(factory.same_millisecond(now - TimeDelta::minutes(45), PAGE * 2 + 50));
    expected.extend(initial.iter().cloned());
    let malformed = json!({
        "event_type": "user_login_attempt",
        "service": "directory",
        "timestamp": format_timestamp(now - TimeDelta::minutes(30)),
    });
    initial.push(malformed.clone());
    let bench = Bench::start(initial).await;
    // Run 1 meets a 429 with Retry-After, a 503 and a dropped connection between pages.
    bench
        .sim
        .push_fault(FaultRule::new(Fault::too_many_requests(1)).after(2));
    bench
        .sim
        .push_fault(FaultRule::new(Fault::server_error(503)).after(1));
    bench.sim.push_fault(FaultRule::new(Fault::Drop).after(1));

    let first = bench.poll_once().await;

    assert_completed(&first);
    assert!(
        first.reports()[0]["pages"].as_u64().unwrap() > 8,
        "{first:#?}"
    );
    let answers: Vec<Answer> = bench.sim.requests().iter().map(|r| r.outcome).collect();
    for fault in [
        Answer::Answered(429),
        Answer::Answered(503),
        Answer::Dropped,
    ] {
        assert!(
            answers.contains(&fault),
            "{fault:?} never happened: {answers:?}"
        );
    }
    // Late arrivals: stamped minutes before the first run's window end, added after it.
    let after_first = Utc::now();
    let late = logins(
        &factory,
        after_first - TimeDelta::minutes(4),
        40,
        TimeDelta::seconds(3),
    );
    let fresh = logins(
        &factory,
        after_first - TimeDelta::seconds(90),
        30,
        TimeDelta::seconds(2),
    );
    bench.sim.add_events(ORG, late.iter().cloned()).unwrap();
    bench.sim.add_events(ORG, fresh.iter().cloned()).unwrap();
    expected.extend(late);
    expected.extend(fresh);
    bench
        .sim
        .push_fault(FaultRule::new(Fault::server_error(500)).after(1));
    bench.sim.push_fault(FaultRule::new(Fault::Drop));

    let second = bench.poll_once().await;

    assert_completed(&second);
    assert_eq!(second.reports()[0]["handed_over"], 70, "{second:#?}");
    // Run 3 is killed while it waits for a slow page, part-way through a window.
    let before_kill = Utc::now();
    let burst = logins(
        &factory,
        before_kill - TimeDelta::minutes(3),
        450,
        TimeDelta::milliseconds(300),
    );
    bench.sim.add_events(ORG, burst.iter().cloned()).unwrap();
    expected.extend(burst);
    bench
        .sim
        .push_fault(FaultRule::new(Fault::Delay(Duration::from_secs(20))).after(2));
    let lines_before_kill = written(&bench.events_file()).len();
    let requests_before_kill = bench.sim.requests().len();
    let mut killed = bench
        .command(&["--once", "--format", "jsonl"])
        .spawn()
        .unwrap();
    wait_for_requests(&bench.sim, requests_before_kill + 3).await;
    killed.kill().unwrap();
    killed.wait().unwrap();
    // The kill landed while a request was still being answered. On a loaded machine the
    // client may already have timed out and retried it, so look at every request of the
    // killed run rather than only the last one.
    assert!(
        bench.sim.requests()[requests_before_kill..]
            .iter()
            .any(|r| r.outcome == Answer::Pending),
        "no request of the killed run was still in flight: {:?}",
        bench.sim.requests()[requests_before_kill..]
            .iter()
            .map(|r| &r.outcome)
            .collect::<Vec<_>>()
    );
    assert!(
        written(&bench.events_file()).len() > lines_before_kill,
        "the killed run handed pages over before it died"
    );
    bench.sim.clear_faults();
    let late_again = logins(
        &factory,
        Utc::now() - TimeDelta::minutes(6),
        25,
        TimeDelta::seconds(5),
    );
    bench
        .sim
        .add_events(ORG, late_again.iter().cloned())
        .unwrap();
    expected.extend(late_again);

    let resumed = bench.poll_once().await;
    let idle = bench.poll_once().await;

    assert_completed(&resumed);
    assert_completed(&idle);
    assert_eq!(idle.reports()[0]["handed_over"], 0, "{idle:#?}");
    let counts = written(&bench.events_file());
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "written more than once: {repeated:?}");
    let written_ids: BTreeSet<String> = counts.into_keys().collect();
    let expected_ids = ids_of(&expected);
    let missing: Vec<_> = expected_ids.difference(&written_ids).collect();
    let extra: Vec<_> = written_ids.difference(&expected_ids).collect();
    assert!(
        missing.is_empty(),
        "{} events never written: {missing:?}",
        missing.len()
    );
    assert!(extra.is_empty(), "unknown events written: {extra:?}");
    let rejects = std::fs::read_to_string(bench.rejects_file()).unwrap();
    assert_eq!(rejects.lines().count(), 1, "{rejects}");
    let reject: Value = serde_json::from_str(rejects.lines().next().unwrap()).unwrap();
    assert_eq!(reject["event"], malformed);
    assert!(reject["reason"].as_str().unwrap().contains("no `id`"));
}

/// Waits until the simulator has seen `count` requests in all.
async fn wait_for_requests(sim: &Simulator, count: usize) {
    for _ in 0..600 {
        if sim.requests().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the simulator saw {} requests, expected {count}",
        sim.requests().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_exits_3_says_what_to_check_notifies_once_and_never_prints_the_key() {
    let bench = Bench::start(Vec::new()).await;
    bench
        .sim
        .push_fault(FaultRule::new(Fault::unauthorized()).always());

    let first = bench.poll_once().await;
    let second = bench.poll_once().await;

    for outcome in [&first, &second] {
        assert_eq!(outcome.code, Some(3), "{outcome:#?}");
        assert!(outcome.stderr.contains("HTTP 401"), "{}", outcome.stderr);
        assert!(outcome.stderr.contains("expired"), "{}", outcome.stderr);
        assert!(!outcome.stderr.contains(KEY) && !outcome.stdout.contains(KEY));
        assert_eq!(outcome.reports()[0]["status"], "failed");
    }
    assert_eq!(
        first.stderr.matches("[ops high]").count(),
        1,
        "{}",
        first.stderr
    );
    assert!(!second.stderr.contains("[ops high]"), "{}", second.stderr);
    assert_eq!(std::fs::read_to_string(bench.events_file()).unwrap(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_exits_2_naming_the_variables() {
    let bench = Bench::start(Vec::new()).await;
    let mut command = bench.command(&["--once"]);
    command.env_remove("JC_API_KEY");

    let outcome = run(command).await;

    assert_eq!(outcome.code, Some(2), "{outcome:#?}");
    assert!(outcome.stderr.contains("JC_API_KEY"), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("JC_CLIENT_SECRET"),
        "{}",
        outcome.stderr
    );
    assert!(bench.sim.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_flags_exit_2_and_say_which() {
    let bench = Bench::start(Vec::new()).await;

    let no_mode = run(bench.command(&[])).await;
    let bad_duration = run(bench.command(&["--once", "--lag", "soon"])).await;

    assert_eq!(no_mode.code, Some(2));
    assert!(no_mode.stderr.contains("--once"), "{}", no_mode.stderr);
    assert_eq!(bad_duration.code, Some(2));
    assert!(
        bad_duration.stderr.contains("--lag"),
        "{}",
        bad_duration.stderr
    );
    assert!(bench.sim.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_polls_until_interrupted_and_picks_up_events_that_arrive_meanwhile() {
    let factory = EventFactory::new(ORG);
    let user = Person::new("jane.doe", "example.com");
    let now = Utc::now();
    let first =
        factory.user_login_attempt(now - TimeDelta::minutes(5), &user, &Place::paris(), true);
    let bench = Bench::start(vec![first.clone()]).await;
    let child = bench
        .command(&["--follow", "--interval", "1s", "--format", "jsonl"])
        .spawn()
        .unwrap();
    wait_for_requests(&bench.sim, 1).await;
    let second = factory.user_login_attempt(
        Utc::now() - TimeDelta::minutes(1),
        &user,
        &Place::paris(),
        false,
    );
    bench.sim.add_events(ORG, [second.clone()]).unwrap();
    let seen_before = bench.sim.requests().len();
    wait_for_requests(&bench.sim, seen_before + 2).await;

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();

    assert!(status.success());
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let rounds = String::from_utf8_lossy(&output.stdout).lines().count();
    assert!(rounds >= 2, "one report per round: {rounds}");
    let counts = written(&bench.events_file());
    assert_eq!(counts.len(), 2);
    assert!(counts.values().all(|n| *n == 1));
    assert_eq!(ids_of(&[first, second]), counts.into_keys().collect());
}
