//! One invocation of the poll function: work out which organisations to poll (all of them,
//! or the shard another invocation handed over), hand further shards on, poll up to a
//! deadline safely before Lambda's own, and report counts in one log line.
//!
//! The parts that need the JumpCloud credential (the Directory Insights client and the
//! poller) are built on the first invocation and kept for the life of the execution
//! environment; a failure there (Secrets Manager unreachable, say) is retried on the next
//! invocation instead of poisoning the environment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use jcwatch_aws::{
    DynamoCursorStore, LambdaBatchSink, LambdaInvoker, S3ConfigLoader, S3Error, SecretError,
    SecretLoader, SnsNotifier,
};
use jcwatch_core::poll::{OrgOutcome, PollPorts, PollRun, PollSettings, Poller};
use jcwatch_core::ports::SystemClock;
use jcwatch_dirinsights::{Client, ClientConfig, RetryPolicy};
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::{error, info, warn};

use crate::config::{ConfigError, FunctionConfig};
use crate::error::FunctionError;
use crate::shard::{ShardPayload, plan_shards};

/// Time kept free before Lambda's deadline: one page fetch with all its retries, and the
/// hand-off of that page. Stopping inside it would not lose anything (the cursor moves only
/// after a hand-off), but would fetch the page again next time.
const HAND_OFF_ALLOWANCE: Duration = Duration::from_secs(30);

/// The largest share of an invocation's time the margin may take, so a function with a
/// short timeout still polls.
const MAX_MARGIN_SHARE: f64 = 0.4;

/// What started this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// The schedule (EventBridge Scheduler's input, whatever it is) or a manual run.
    Scheduled,
    /// Another invocation of this function handed over these organisations.
    Shard(Vec<Option<String>>),
}

impl Trigger {
    /// Reads the event. Anything without an `orgs` key is a scheduled tick, because the
    /// scheduler's input is set by whoever deploys; `orgs` must be a shard payload.
    pub fn from_payload(payload: &Value) -> Result<Trigger, FunctionError> {
        if payload.get("orgs").is_none() {
            return Ok(Trigger::Scheduled);
        }
        let shard: ShardPayload = serde_json::from_value(payload.clone()).map_err(|e| {
            FunctionError::bad_input(format!(
                "the event has `orgs` but is not a shard payload {{\"orgs\": [\"<org id>\", ...]}}: {e}"
            ))
        })?;
        if shard.orgs.is_empty() {
            return Err(FunctionError::bad_input(
                "the shard payload lists no organisations",
            ));
        }
        Ok(Trigger::Shard(shard.orgs))
    }

    fn name(&self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::Shard(_) => "shard",
        }
    }
}

/// The time the schedule fired, as the scheduler's input carries it (`time` in the
/// EventBridge-shaped input, or `scheduled_time`), bounded for the log line.
fn scheduled_time(payload: &Value) -> Option<String> {
    ["time", "scheduled_time"]
        .iter()
        .find_map(|key| payload.get(key).and_then(Value::as_str))
        .map(|t| t.chars().take(64).collect())
}

/// The runtime's deadline (epoch milliseconds) when it is one Lambda could give: at most 15
/// minutes ahead and not long past. Local emulators send other values (`cargo lambda watch`
/// sends a few seconds after the epoch); those mean "no deadline", not "stop at once".
pub fn plausible_deadline(deadline_ms: u64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let deadline = DateTime::from_timestamp_millis(i64::try_from(deadline_ms).ok()?)?;
    let earliest = now - chrono::Duration::minutes(1);
    let latest = now + chrono::Duration::minutes(16);
    (earliest..=latest).contains(&deadline).then_some(deadline)
}

/// The deadline the poll stops at: Lambda's deadline less a margin of `margin`, but at most
/// [`MAX_MARGIN_SHARE`] of the time left. A deadline already passed gives `now`.
pub fn poll_deadline(
    lambda_deadline: DateTime<Utc>,
    now: DateTime<Utc>,
    margin: Duration,
) -> DateTime<Utc> {
    let Ok(remaining) = (lambda_deadline - now).to_std() else {
        return now;
    };
    let margin = margin.min(remaining.mul_f64(MAX_MARGIN_SHARE));
    lambda_deadline - chrono::Duration::from_std(margin).unwrap_or_default()
}

/// One invocation's counts: the Lambda's response and its info log line.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InvocationSummary {
    pub trigger: &'static str,
    /// The schedule's `time` (or `scheduled_time`), when the event carries one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<String>,
    pub orgs: usize,
    pub shards_dispatched: usize,
    pub shard_failures: usize,
    pub pages: u64,
    pub events_fetched: u64,
    pub handed_over: u64,
    pub duplicates: u64,
    pub malformed: u64,
    pub oversize: u64,
    pub batches: u64,
    pub completed: usize,
    pub skipped: usize,
    pub deadline_reached: usize,
    pub conflicts: usize,
    pub failed: usize,
    pub ops_notified: usize,
    pub duration_ms: u64,
    /// Time left before Lambda's deadline when the invocation started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_left_ms: Option<i64>,
}

impl InvocationSummary {
    fn add_run(&mut self, run: &PollRun) {
        for org in &run.orgs {
            self.pages += org.pages;
            self.events_fetched += org.fetched;
            self.handed_over += org.handed_over;
            self.duplicates += org.duplicates;
            self.malformed += org.malformed;
            self.oversize += org.oversize;
            self.batches += org.batches;
            self.ops_notified += usize::from(org.ops_notified);
            match org.outcome {
                OrgOutcome::Completed => self.completed += 1,
                OrgOutcome::Skipped => self.skipped += 1,
                // N.B. nothing interrupts a Lambda but its deadline; both stop cleanly.
                OrgOutcome::DeadlineReached | OrgOutcome::Interrupted => self.deadline_reached += 1,
                OrgOutcome::Conflict => self.conflicts += 1,
                OrgOutcome::Failed { .. } => self.failed += 1,
            }
        }
    }

    fn log(&self) {
        info!(
            trigger = self.trigger,
            scheduled_time = self.scheduled_time.as_deref(),
            orgs = self.orgs,
            shards_dispatched = self.shards_dispatched,
            shard_failures = self.shard_failures,
            pages = self.pages,
            events_fetched = self.events_fetched,
            handed_over = self.handed_over,
            duplicates = self.duplicates,
            malformed = self.malformed,
            oversize = self.oversize,
            batches = self.batches,
            completed = self.completed,
            skipped = self.skipped,
            deadline_reached = self.deadline_reached,
            conflicts = self.conflicts,
            failed = self.failed,
            ops_notified = self.ops_notified,
            duration_ms = self.duration_ms,
            time_left_ms = self.time_left_ms,
            "poll function invocation finished"
        );
    }
}

/// The SDK clients, built once per execution environment.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub sns: aws_sdk_sns::Client,
    pub s3: aws_sdk_s3::Client,
}

impl AwsClients {
    /// Every client from one SDK configuration (endpoints per service come from
    /// `AWS_ENDPOINT_URL_<SERVICE>` when set).
    pub fn from_sdk(sdk: &SdkConfig) -> Self {
        AwsClients {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            s3: jcwatch_aws::s3_client(sdk),
        }
    }
}

/// The poll function's state across invocations.
pub struct PollFunction {
    config: Result<FunctionConfig, ConfigError>,
    clients: AwsClients,
    poller: OnceCell<Poller>,
}

impl std::fmt::Debug for PollFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollFunction")
            .field("config", &self.config)
            .field("ready", &self.poller.initialized())
            .finish_non_exhaustive()
    }
}

impl PollFunction {
    /// A bad configuration is kept and reported by every invocation as `BadInput`, so it
    /// shows in each invocation's error, not only at start.
    pub fn new(config: Result<FunctionConfig, ConfigError>, clients: AwsClients) -> Self {
        PollFunction {
            config,
            clients,
            poller: OnceCell::new(),
        }
    }

    /// The Lambda entry: reads the deadline and this function's name from the context.
    pub async fn invoke(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<InvocationSummary, FunctionError> {
        let deadline = plausible_deadline(event.context.deadline, Utc::now());
        if deadline.is_none() {
            warn!(
                deadline_ms = event.context.deadline,
                "the runtime gave no usable deadline; polling without one"
            );
        }
        let function_name = event.context.env_config.function_name.clone();
        self.handle(event.payload, deadline, &function_name).await
    }

    /// Handles one event. `function_name` is this function's own name, for shard hand-offs.
    pub async fn handle(
        &self,
        payload: Value,
        lambda_deadline: Option<DateTime<Utc>>,
        function_name: &str,
    ) -> Result<InvocationSummary, FunctionError> {
        let started = Instant::now();
        let config = self
            .config
            .as_ref()
            .map_err(|e| FunctionError::bad_input(e.to_string()))?;
        let trigger = Trigger::from_payload(&payload)?;

        let (mine, others) = match &trigger {
            Trigger::Scheduled => {
                let plan = plan_shards(&config.orgs, config.shard_size);
                (plan.mine, plan.others)
            }
            Trigger::Shard(orgs) => (known_orgs(orgs, &config.orgs)?, Vec::new()),
        };
        let poller = self.poller(config).await?;

        let mut summary = InvocationSummary {
            trigger: trigger.name(),
            scheduled_time: scheduled_time(&payload),
            time_left_ms: lambda_deadline.map(|d| (d - Utc::now()).num_milliseconds()),
            orgs: mine.len(),
            ..Default::default()
        };
        let mut failure = self
            .dispatch_shards(others, function_name, &mut summary)
            .await;

        let deadline = lambda_deadline.map(|d| {
            poll_deadline(
                d,
                Utc::now(),
                RetryPolicy::default().max_total + HAND_OFF_ALLOWANCE,
            )
        });
        let run = poller.run(&mine, deadline).await;
        summary.add_run(&run);
        summary.duration_ms = started.elapsed().as_millis() as u64;
        summary.log();

        if let Some((category, message)) = run.worst_failure()
            && failure.as_ref().is_none_or(|f| category > f.category)
        {
            failure = Some(FunctionError::new(category, message));
        }
        match failure {
            Some(error) => {
                error!(error_type = error.category.as_str(), error = %error.message, "poll function invocation failed");
                Err(error)
            }
            None => Ok(summary),
        }
    }

    /// Hands each further shard to an asynchronous invocation of this function. A failed
    /// hand-off is logged and makes the invocation fail as retryable; the shard's
    /// organisations are polled on the next tick from their cursors, so nothing is lost.
    async fn dispatch_shards(
        &self,
        shards: Vec<Vec<Option<String>>>,
        function_name: &str,
        summary: &mut InvocationSummary,
    ) -> Option<FunctionError> {
        if shards.is_empty() {
            return None;
        }
        if function_name.is_empty() {
            summary.shard_failures = shards.len();
            return Some(FunctionError::bad_input(format!(
                "{} organisations need further shards, but the function's own name is unknown \
                 (AWS_LAMBDA_FUNCTION_NAME)",
                shards.iter().map(Vec::len).sum::<usize>()
            )));
        }

        let invoker = LambdaInvoker::new(self.clients.lambda.clone());
        let mut failed = Vec::new();
        for orgs in shards {
            let count = orgs.len();
            let payload = serde_json::to_vec(&ShardPayload { orgs }).unwrap_or_default();
            match invoker.invoke_async(function_name, payload).await {
                Ok(()) => summary.shards_dispatched += 1,
                Err(e) => {
                    warn!(orgs = count, error = %e, "handing a shard to another invocation failed");
                    failed.push(e.to_string());
                }
            }
        }
        summary.shard_failures = failed.len();
        (!failed.is_empty()).then(|| {
            FunctionError::retryable(format!(
                "{} shard hand-off(s) failed; those organisations are polled next tick: {}",
                failed.len(),
                failed.join("; ")
            ))
        })
    }

    async fn poller(&self, config: &FunctionConfig) -> Result<&Poller, FunctionError> {
        self.poller
            .get_or_try_init(|| build_poller(config, &self.clients))
            .await
    }
}

/// A shard may only name organisations this function is configured for; anything else is a
/// forged or stale payload.
fn known_orgs(
    requested: &[Option<String>],
    configured: &[Option<String>],
) -> Result<Vec<Option<String>>, FunctionError> {
    let unknown: Vec<String> = requested
        .iter()
        .filter(|org| !configured.contains(org))
        .map(|org| jcwatch_core::poll::org_label(org.as_deref()).to_string())
        .collect();
    if unknown.is_empty() {
        Ok(requested.to_vec())
    } else {
        Err(FunctionError::bad_input(format!(
            "the shard payload names organisations not in JC_ORG_IDS: {}",
            unknown.join(", ")
        )))
    }
}

/// Everything that needs the credential or the configuration file, built once.
async fn build_poller(
    config: &FunctionConfig,
    clients: &AwsClients,
) -> Result<Poller, FunctionError> {
    let settings = settings(config, clients).await?;

    let credential = SecretLoader::new(clients.secrets.clone())
        .load(&config.secret_id)
        .await
        .map_err(|e| match e {
            SecretError::Call { .. } => FunctionError::retryable(e.to_string()),
            SecretError::NotFound { .. }
            | SecretError::Empty { .. }
            | SecretError::Malformed { .. } => FunctionError::fatal(e.to_string()),
        })?;
    let mut client_config = ClientConfig::new(credential);
    client_config.region = config.region;
    client_config.base_url = config.base_url.clone();
    let source = Client::new(client_config).map_err(|e| FunctionError::bad_input(e.to_string()))?;

    let invoker = LambdaInvoker::new(clients.lambda.clone());
    let ports = PollPorts {
        source: Arc::new(source),
        cursors: Arc::new(DynamoCursorStore::new(
            clients.dynamodb.clone(),
            &config.cursor_table,
        )),
        sink: Arc::new(LambdaBatchSink::new(invoker, &config.detect_function)),
        notifier: Arc::new(SnsNotifier::new(clients.sns.clone(), &config.topic_arn)),
        clock: Arc::new(SystemClock),
    };
    info!(
        orgs = config.orgs.len(),
        region = config.region.as_str(),
        lag_s = settings.lag.as_secs(),
        overlap_s = settings.overlap.as_secs(),
        backfill_s = settings.backfill.as_secs(),
        "poll function ready"
    );
    Ok(Poller::new(ports, settings))
}

/// The poll settings: the configuration file's `[poll]` section (or its defaults), with the
/// function's environment variables taking precedence.
async fn settings(
    config: &FunctionConfig,
    clients: &AwsClients,
) -> Result<PollSettings, FunctionError> {
    let file = match &config.config_s3 {
        None => jcwatch_detection::Config::default(),
        Some(location) => {
            let location = location.to_string();
            let text = S3ConfigLoader::new(clients.s3.clone())
                .load_text(&location)
                .await
                .map_err(|e| match e {
                    S3Error::Call { .. } => FunctionError::retryable(e.to_string()),
                    _ => FunctionError::bad_input(e.to_string()),
                })?;
            jcwatch_detection::Config::from_toml_named(&text, &location)
                .map_err(|e| FunctionError::bad_input(e.to_string()))?
        }
    };

    let poll = &file.poll;
    Ok(PollSettings {
        lag: config.lag.unwrap_or(poll.lag.as_duration()),
        overlap: config.overlap.unwrap_or(poll.overlap.as_duration()),
        backfill: config.backfill.unwrap_or(poll.backfill.as_duration()),
        ops_notice_interval: poll.ops_notice_interval.as_duration(),
        ..PollSettings::default()
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use jcwatch_core::poll::ErrorCategory;

    #[test]
    fn any_event_without_orgs_is_a_scheduled_tick() {
        for payload in [
            json!({}),
            json!(null),
            json!("tick"),
            json!({"scheduled_time": "2026-12-03T17:00:00Z", "schedule": "arn:aws:scheduler:::schedule/default/jcwatch"}),
            json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}),
        ] {
            assert_eq!(
                Trigger::from_payload(&payload),
                Ok(Trigger::Scheduled),
                "{payload}"
            );
        }
    }

    #[test]
    fn the_scheduled_time_is_read_from_the_schedules_input() {
        let eventbridge_shaped =
            json!({"detail-type": "Scheduled Event", "time": "2026-12-03T17:05:00Z"});
        let own = json!({"scheduled_time": "2026-12-03T17:10:00Z"});

        assert_eq!(
            scheduled_time(&eventbridge_shaped).as_deref(),
            Some("2026-12-03T17:05:00Z")
        );
        assert_eq!(
            scheduled_time(&own).as_deref(),
            Some("2026-12-03T17:10:00Z")
        );
        assert_eq!(scheduled_time(&json!({})), None);
    }

    #[test]
    fn an_orgs_payload_is_a_shard() {
        let trigger = Trigger::from_payload(&json!({"orgs": ["a", "b"]})).unwrap();

        assert_eq!(
            trigger,
            Trigger::Shard(vec![Some("a".into()), Some("b".into())])
        );
    }

    #[test]
    fn a_malformed_or_empty_shard_payload_is_bad_input() {
        for payload in [
            json!({"orgs": "a"}),
            json!({"orgs": [1]}),
            json!({"orgs": []}),
            json!({"orgs": ["a"], "x": 1}),
        ] {
            let error = Trigger::from_payload(&payload).unwrap_err();

            assert_eq!(error.category, ErrorCategory::BadInput, "{payload}");
        }
    }

    #[test]
    fn a_shard_may_only_name_configured_organisations() {
        let configured = vec![Some("a".into()), Some("b".into())];

        let ok = known_orgs(&[Some("b".into())], &configured);
        let forged = known_orgs(&[Some("b".into()), Some("zz".into())], &configured);

        assert_eq!(ok.unwrap(), vec![Some("b".to_string())]);
        let error = forged.unwrap_err();
        assert_eq!(error.category, ErrorCategory::BadInput);
        assert!(error.message.contains("zz"), "{}", error.message);
    }

    #[test]
    fn the_poll_stops_a_margin_before_the_lambda_deadline() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 17, 0, 0).unwrap();
        let deadline = now + chrono::Duration::minutes(15);

        let stop = poll_deadline(deadline, now, Duration::from_secs(150));

        assert_eq!(stop, deadline - chrono::Duration::seconds(150));
    }

    #[test]
    fn a_short_invocation_keeps_most_of_its_time_for_polling() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 17, 0, 0).unwrap();
        let deadline = now + chrono::Duration::seconds(60);

        let stop = poll_deadline(deadline, now, Duration::from_secs(150));

        assert_eq!(stop, now + chrono::Duration::seconds(36));
    }

    #[test]
    fn only_a_deadline_lambda_could_give_is_used() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 17, 0, 0).unwrap();
        let ms = |t: DateTime<Utc>| t.timestamp_millis() as u64;
        let in_five = now + chrono::Duration::minutes(5);

        assert_eq!(plausible_deadline(ms(in_five), now), Some(in_five));
        assert_eq!(plausible_deadline(3_400, now), None);
        assert_eq!(plausible_deadline(0, now), None);
        assert_eq!(
            plausible_deadline(ms(now + chrono::Duration::hours(2)), now),
            None
        );
        assert_eq!(plausible_deadline(u64::MAX, now), None);
    }

    #[test]
    fn a_passed_deadline_stops_at_once() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 17, 0, 0).unwrap();

        let stop = poll_deadline(
            now - chrono::Duration::seconds(1),
            now,
            Duration::from_secs(150),
        );

        assert_eq!(stop, now);
    }
}
