//! The end-to-end run of both Lambda functions under `cargo lambda watch`, checked from the
//! outside: the poll function is invoked with a scheduler event through Lambda's invoke API,
//! polls the Directory Insights simulator, hands its batches to the detect function through
//! the same API (watch runs `Event` invocations at once), and the detect function stores
//! alerts in DynamoDB and publishes notifications to SNS. The alerts are read back from the
//! emulator's table and the notifications through an SQS subscription.
//!
//! Run by `tests/e2e/lambda_watch.sh` (which builds the functions, provides cargo-lambda and
//! the emulators): `cargo run -p jcwatch-tests --example lambda_watch -- <scheduler event>`.
//! Exits 0 when every check passes, 1 with the reason and the functions' logs otherwise.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use chrono::{DurationRound, Utc};
use jcwatch_aws::alerts::{DynamoAlertStore, create_alerts_table};
use jcwatch_aws::create_cache_table;
use jcwatch_aws::state::create_state_table;
use jcwatch_detection::{AlertQuery, AlertStore};
use jcwatch_simulator::Simulator;
use jcwatch_simulator::generate::{EventFactory, Person, Place};
use jcwatch_tests::moto::{Moto, sdk_config};
use jcwatch_tests::poll::API_KEY;
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, String>;

const ORG: &str = "64f0a1b2c3d4e5f6a7b8c9d0";

macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+));
        }
    };
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(event_file) = std::env::args().nth(1) else {
        eprintln!("usage: lambda_watch <scheduler event JSON file>");
        return ExitCode::from(2);
    };
    match run(Path::new(&event_file)).await {
        Ok(()) => {
            println!("lambda_watch: poll -> detect -> DynamoDB and SNS: all checks passed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lambda_watch: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The events the simulator serves: ordinary activity, a password-guessing run against one
/// user ending in a success, and a login attempt with a revoked API key.
fn scenario() -> (Vec<Value>, String) {
    let factory = EventFactory::new(ORG);
    let now = Utc::now()
        .duration_trunc(chrono::Duration::milliseconds(1))
        .unwrap();
    let start = now - chrono::Duration::minutes(40);
    let mut events = factory.ordinary_activity(start, 30, chrono::Duration::seconds(20));

    let victim = Person::new("dana.fox", "example.com");
    let attacker = Place::lagos();
    let guessing = start + chrono::Duration::minutes(15);
    for i in 0..12 {
        let at = guessing + chrono::Duration::seconds(5 * i);
        events.push(factory.user_login_attempt(at, &victim, &attacker, false));
    }
    events.push(factory.user_login_attempt(
        guessing + chrono::Duration::seconds(70),
        &victim,
        &attacker,
        true,
    ));

    let admin = Person::new("former.admin", "example.com");
    let old_key =
        factory.admin_old_api_key_attempt(start + chrono::Duration::minutes(20), &admin, &attacker);
    let old_key_id = old_key["id"].as_str().unwrap_or_default().to_string();
    events.push(old_key);
    (events, old_key_id)
}

async fn run(event_file: &Path) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace root")?
        .to_path_buf();
    let scheduler_event =
        std::fs::read(event_file).map_err(|e| format!("reading {}: {e}", event_file.display()))?;

    let moto = Moto::connect().await;
    let secret = moto
        .create_secret("e2e-jc", &json!({ "api_key": API_KEY }).to_string())
        .await;
    let cursor_table = moto.create_table("e2e-cursor").await;
    let alerts_table = jcwatch_tests::moto::unique_name("e2e-alerts");
    create_alerts_table(&moto.dynamodb(), &alerts_table).await?;
    let state_table = jcwatch_tests::moto::unique_name("e2e-state");
    create_state_table(&moto.dynamodb(), &state_table).await?;
    // The detect function enriches with the same JumpCloud credential, and then needs its cache.
    let cache_table = jcwatch_tests::moto::unique_name("e2e-cache");
    create_cache_table(&moto.dynamodb(), &cache_table).await?;
    let topic = moto.create_topic("e2e-alerts").await;
    let queue = moto.subscribe_queue(&topic).await;

    let (events, old_key_id) = scenario();
    let sim = Simulator::builder()
        .api_key(API_KEY, ORG)
        .events(ORG, events.clone())
        .start()
        .await
        .map_err(|e| format!("starting the simulator: {e}"))?;

    let port = free_port()?;
    let env = [
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint.clone()),
        ("AWS_ENDPOINT_URL_SNS", moto.endpoint.clone()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto.endpoint.clone()),
        ("AWS_ENDPOINT_URL_S3", moto.endpoint.clone()),
        (
            "AWS_ENDPOINT_URL_LAMBDA",
            format!("http://127.0.0.1:{port}"),
        ),
        ("JC_SECRET_ARN", secret),
        ("JC_BASE_URL", sim.base_url().to_string()),
        ("JC_ORG_IDS", ORG.to_string()),
        ("CURSOR_TABLE", cursor_table),
        ("DETECT_FUNCTION", "detect".to_string()),
        ("TOPIC_ARN", topic),
        ("ALERTS_TABLE", alerts_table.clone()),
        ("STATE_TABLE", state_table),
        ("CACHE_TABLE", cache_table),
        ("RUST_LOG", "info".to_string()),
    ];
    let mut watch = Watch::start(&root, port, &env)?;
    let outcome = check(
        &moto,
        &watch,
        &scheduler_event,
        &events,
        &old_key_id,
        &alerts_table,
        &queue,
    )
    .await;
    watch.stop();
    outcome.map_err(|e| format!("{e}\n--- cargo lambda watch output ---\n{}", watch.output()))
}

async fn check(
    moto: &Moto,
    watch: &Watch,
    scheduler_event: &[u8],
    events: &[Value],
    old_key_id: &str,
    alerts_table: &str,
    queue: &str,
) -> Result<()> {
    let lambda = aws_sdk_lambda::Client::new(&sdk_config(&watch.url()).await);

    let first = invoke_poll(&lambda, scheduler_event).await?;
    ensure!(
        first["handed_over"] == json!(events.len()) && first["failed"] == json!(0),
        "the first poll should hand over all {} events: {first}",
        events.len()
    );
    let logged = watch.output();
    ensure!(
        logged
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|l| { l["fields"]["events_fetched"] == json!(events.len()) }),
        "no JSON log line carries fields.events_fetched = {} (the CloudWatch metric filter reads it)",
        events.len()
    );

    let store = DynamoAlertStore::new(moto.dynamodb(), alerts_table);
    let alerts = store
        .list(&AlertQuery {
            org: Some(ORG.to_string()),
            since: None,
            until: None,
            limit: 1000,
        })
        .await
        .map_err(|e| format!("listing alerts: {e}"))?;
    ensure!(!alerts.is_empty(), "the detect function stored no alert");
    ensure!(
        alerts
            .iter()
            .any(|a| a.event_ids.iter().any(|id| id == old_key_id)),
        "no alert names the revoked-key event {old_key_id}: {:?}",
        alerts.iter().map(|a| &a.rule_id).collect::<Vec<_>>()
    );
    let notified: BTreeSet<String> = alerts
        .iter()
        .filter(|a| a.notified)
        .map(|a| a.rule_id.clone())
        .collect();
    ensure!(
        !notified.is_empty(),
        "no stored alert is marked notified: {alerts:?}"
    );

    let received = moto
        .receive(queue, notified.len(), Duration::from_secs(10))
        .await;
    let published: BTreeSet<String> = received
        .iter()
        .filter_map(|m| m.attributes.get("rule_id").cloned())
        .collect();
    ensure!(
        notified.is_subset(&published),
        "notified rules {notified:?} but SNS delivered {published:?}"
    );
    ensure!(
        received
            .iter()
            .all(|m| m.attributes.contains_key("route") && !m.body.is_empty()),
        "a notification lacks its route attribute or body: {received:?}"
    );

    println!(
        "lambda_watch: {} events handed over; {} alerts stored ({}); {} notifications read back",
        first["handed_over"],
        alerts.len(),
        alerts
            .iter()
            .map(|a| a.rule_id.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", "),
        received.len()
    );

    let second = invoke_poll(&lambda, scheduler_event).await?;
    ensure!(
        second["handed_over"] == json!(0),
        "the second poll should hand over nothing new: {second}"
    );
    let again = moto.receive(queue, 1, Duration::from_secs(3)).await;
    ensure!(
        again.is_empty(),
        "a second notification was published: {again:?}"
    );
    Ok(())
}

/// Invokes the poll function synchronously through watch and returns its summary.
async fn invoke_poll(lambda: &aws_sdk_lambda::Client, event: &[u8]) -> Result<Value> {
    let output = lambda
        .invoke()
        .function_name("poll")
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(event.to_vec()))
        .send()
        .await
        .map_err(|e| {
            format!(
                "invoking poll: {}",
                aws_sdk_lambda::error::DisplayErrorContext(&e)
            )
        })?;
    let body = output
        .payload
        .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned())
        .unwrap_or_default();
    ensure!(
        output.function_error.is_none(),
        "the poll function failed ({:?}): {body}",
        output.function_error
    );
    serde_json::from_str(&body).map_err(|e| format!("the poll function answered {body:?}: {e}"))
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    Ok(port)
}

/// `cargo lambda watch` in its own process group, its output in a file.
struct Watch {
    child: Child,
    port: u16,
    output: PathBuf,
    stopped: bool,
}

impl Watch {
    fn start(root: &Path, port: u16, env: &[(&str, String)]) -> Result<Watch> {
        let output =
            std::env::temp_dir().join(format!("jcwatch-lambda-watch-{}.log", std::process::id()));
        let log = File::create(&output).map_err(|e| e.to_string())?;
        let mut command = Command::new("cargo");
        command
            .args(["lambda", "watch", "--ignore-changes", "--timeout", "600"])
            .args(["-A", "127.0.0.1", "-P", &port.to_string()])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .process_group(0);
        // Only the endpoints set here: a general override would send every service to moto.
        for (name, _) in std::env::vars() {
            if name.starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        let child = command.spawn().map_err(|e| {
            format!("starting `cargo lambda watch` (is cargo-lambda installed?): {e}")
        })?;
        let mut watch = Watch {
            child,
            port,
            output,
            stopped: false,
        };

        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = watch.child.try_wait() {
                return Err(format!(
                    "cargo lambda watch exited with {status}:\n{}",
                    watch.output()
                ));
            }
            if Instant::now() > deadline {
                watch.stop();
                return Err(format!(
                    "cargo lambda watch did not listen on port {port}:\n{}",
                    watch.output()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(watch)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What watch and the functions printed, each line cut to a readable length (watch
    /// dumps the whole cargo metadata on one line when it stops).
    fn output(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.output) {
            let _ = file.read_to_string(&mut text);
        }
        text.lines()
            .map(|line| line.chars().take(2_000).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Stops watch and the functions it runs: the whole process group, politely first.
    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop();
    }
}
