//! `jcwatch replay-dlq`: sends the batches held in the detect function's dead-letter queue to
//! the function again, one line per message and a summary, deleting a message only once its
//! batch was accepted. The work is the core's replay use case over the SQS and Lambda
//! adapters; this module reads the flags, builds the clients and prints.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use jcwatch_aws::{
    InvokeMode, LambdaReplayTarget, MAX_VISIBILITY_TIMEOUT, SqsDeadLetterQueue, load_sdk_config,
};
use jcwatch_core::replay::{
    MessageReport, Origin, Outcome, ReplayOptions, ReplaySummary, replay_dead_letters,
};
use jcwatch_model::time::{format_duration, parse_duration};

use crate::error::CliError;

/// What `-h` adds under the flags.
const SHORT_AFTER_HELP: &str = "\
Safe to run again, even for a batch that partly succeeded: detection is idempotent, so a \
replayed batch raises no second alert and sends no second notification. More with --help.";

/// The longer help: what the command is safe for, what it needs.
const AFTER_HELP: &str = "\
Each message in the queue is Lambda's failure record for one batch (or the batch itself). \
Its batch is sent to the function unchanged; the message is deleted only after the \
function accepted it. A message that holds no batch, or whose batch the function refuses, \
stays in the queue and is reported.

Replaying is safe even when a batch partly succeeded before it failed: detection is \
idempotent (alert ids are deterministic and rule state is kept as mergeable observations), \
so a batch handled twice raises no second alert and sends no second notification.

By default the function is invoked asynchronously, like the poll function does: a batch that \
fails again returns to the dead-letter queue after Lambda's retries. With --sync the \
command waits for the function and reports its error, and the message stays.

AWS credentials and region come from the usual places (environment, profile, instance \
role); without a region, the queue URL's is used. The caller needs sqs:ReceiveMessage, \
sqs:DeleteMessage and sqs:ChangeMessageVisibility on the queue, kms:Decrypt on its key, and \
lambda:InvokeFunction on the function.

Exit status: 0 when every message was replayed (or, with --dry-run, holds a batch), 1 when \
some were kept or the run stopped early, 2 for bad flags.";

/// Send the batches in the detect function's dead-letter queue to it again.
#[derive(Debug, Args)]
#[command(after_help = SHORT_AFTER_HELP, after_long_help = AFTER_HELP)]
pub struct ReplayArgs {
    /// URL of the dead-letter queue (the Terraform output `dlq_url`).
    #[arg(long, value_name = "URL", value_parser = parse_queue_url)]
    queue_url: String,

    /// Name or ARN of the detect function.
    #[arg(long = "function", value_name = "NAME", value_parser = parse_function)]
    function: String,

    /// Handle at most N messages, then stop.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max: Option<u32>,

    /// Read and check every message and say what would be replayed; invoke nothing, delete
    /// nothing.
    #[arg(long)]
    dry_run: bool,

    /// Wait for the function to finish each batch (RequestResponse) and report its error;
    /// a batch it fails on stays in the queue.
    #[arg(long)]
    sync: bool,

    /// How long the messages being replayed stay hidden from other readers of the queue.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_visibility)]
    visibility_timeout: Duration,
}

fn parse_queue_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    if !(text.starts_with("https://") || text.starts_with("http://")) {
        return Err(format!(
            "{text:?} is not a queue URL: expected https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"
        ));
    }
    Ok(text.to_string())
}

fn parse_function(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() || text.chars().any(char::is_whitespace) {
        return Err(format!("{text:?} is not a function name or ARN"));
    }
    Ok(text.to_string())
}

fn parse_visibility(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_secs(1) || duration > MAX_VISIBILITY_TIMEOUT {
        return Err(format!(
            "must be between 1s and {} (SQS's limits)",
            format_duration(MAX_VISIBILITY_TIMEOUT)
        ));
    }
    Ok(duration)
}

/// Runs the command.
pub async fn run(args: ReplayArgs) -> Result<ExitCode, CliError> {
    let (queue, target) = adapters(&args).await?;
    let options = ReplayOptions {
        max: args.max.map(|n| n as usize),
        dry_run: args.dry_run,
    };

    let summary = replay_dead_letters(&queue, &target, &options, |report| {
        println!("{}", message_line(report));
    })
    .await;

    println!("{}", summary_line(&summary, args.dry_run));
    for failure in &summary.release_failures {
        eprintln!(
            "warning: a kept message stays hidden until its visibility timeout runs out: {failure}"
        );
    }
    if let Some(reason) = &summary.stopped {
        eprintln!("error: stopped early, {reason}");
    }
    Ok(if summary.all_replayed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn adapters(args: &ReplayArgs) -> Result<(SqsDeadLetterQueue, LambdaReplayTarget), CliError> {
    let sdk = load_sdk_config().await;
    let region = match sdk.region() {
        Some(region) => region.to_string(),
        None => region_of_queue(&args.queue_url).ok_or_else(|| {
            CliError::Usage(
                "no AWS region: set AWS_REGION (or a profile's region), or give the queue's \
                 https://sqs.REGION.amazonaws.com/... URL"
                    .to_string(),
            )
        })?,
    };

    let sqs = aws_sdk_sqs::config::Builder::from(&sdk)
        .region(aws_sdk_sqs::config::Region::new(region.clone()))
        .build();
    let lambda = aws_sdk_lambda::config::Builder::from(&sdk)
        .region(aws_sdk_lambda::config::Region::new(region))
        .build();
    let mode = if args.sync {
        InvokeMode::Sync
    } else {
        InvokeMode::Async
    };
    Ok((
        SqsDeadLetterQueue::new(
            aws_sdk_sqs::Client::from_conf(sqs),
            &args.queue_url,
            args.visibility_timeout,
        ),
        LambdaReplayTarget::new(
            aws_sdk_lambda::Client::from_conf(lambda),
            &args.function,
            mode,
        ),
    ))
}

/// `us-east-1` from `https://sqs.us-east-1.amazonaws.com/123456789012/name`.
fn region_of_queue(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    let region = host.strip_prefix("sqs.")?.split('.').next()?;
    let plausible = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    plausible.then(|| region.to_string())
}

/// One message: what became of it, then what it held. Never the batch's events.
fn message_line(report: &MessageReport) -> String {
    let status = match &report.outcome {
        Outcome::Replayed => "replayed",
        Outcome::ReplayedNotDeleted(_) => "replayed",
        Outcome::WouldReplay => "would replay",
        Outcome::Unreadable(_) | Outcome::Failed(_) => "kept",
        Outcome::NotTried => "not tried",
    };
    let mut line = format!("{status:<12}  message={}", report.message_id);

    if let Some(info) = &report.letter {
        line.push_str(&format!("  batch={}", info.batch_id));
        if let Some(org) = &info.org_id {
            line.push_str(&format!("  org={org}"));
        }
        line.push_str(&format!("  events={}", info.event_count));
        match &info.origin {
            Origin::FailureRecord(record) => {
                let condition = record.condition.as_deref().unwrap_or("unknown");
                line.push_str(&format!("  condition={condition}"));
                if let Some(attempts) = record.approximate_invoke_count {
                    line.push_str(&format!("  attempts={attempts}"));
                }
            }
            Origin::BareBatch { .. } => line.push_str("  condition=none (bare batch)"),
        }
        if let Some(error) = info.origin.error() {
            line.push_str(&format!("  last_error={:?}", error.to_string()));
        }
    }

    match &report.outcome {
        Outcome::Replayed | Outcome::WouldReplay | Outcome::NotTried => {}
        Outcome::ReplayedNotDeleted(error) => line.push_str(&format!(
            "  -> not deleted ({error}); a later run replays it again, which is harmless"
        )),
        Outcome::Unreadable(error) => line.push_str(&format!("  -> not a batch: {error}")),
        Outcome::Failed(error) => line.push_str(&format!("  -> failed: {error}")),
    }
    line
}

fn summary_line(summary: &ReplaySummary, dry_run: bool) -> String {
    let kept = summary.unreadable + summary.failed + summary.not_tried;
    let messages = match summary.received {
        1 => "1 message".to_string(),
        n => format!("{n} messages"),
    };
    if dry_run {
        return format!(
            "dry run, {messages}: {} would be replayed, {} not a batch; nothing was invoked or deleted",
            summary.would_replay, summary.unreadable
        );
    }
    let mut line = format!(
        "{messages}: {} replayed, {kept} kept in the queue ({} not a batch, {} failed, {} not tried)",
        summary.replayed + summary.replayed_not_deleted,
        summary.unreadable,
        summary.failed,
        summary.not_tried,
    );
    if summary.replayed_not_deleted > 0 {
        line.push_str(&format!(
            "; {} replayed but not deleted",
            summary.replayed_not_deleted
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use jcwatch_core::replay::{FailureRecord, LetterError, LetterInfo, PriorError, ReplayError};

    use super::*;

    fn info(origin: Origin) -> LetterInfo {
        LetterInfo {
            batch_id: "5f2c0a9e41d3b7c8a1e0f6d2".into(),
            org_id: Some("org-1".into()),
            event_count: 12,
            origin,
        }
    }

    #[test]
    fn a_replayed_failure_record_line_names_message_batch_count_condition_and_outcome() {
        let report = MessageReport {
            message_id: "m-1".into(),
            letter: Some(info(Origin::FailureRecord(FailureRecord {
                condition: Some("RetriesExhausted".into()),
                approximate_invoke_count: Some(3),
                error: Some(PriorError {
                    error_type: Some("Retryable".into()),
                    message: Some("table unavailable".into()),
                }),
                ..FailureRecord::default()
            }))),
            outcome: Outcome::Replayed,
        };

        let line = message_line(&report);

        assert_eq!(
            line,
            "replayed      message=m-1  batch=5f2c0a9e41d3b7c8a1e0f6d2  org=org-1  events=12  \
             condition=RetriesExhausted  attempts=3  last_error=\"Retryable: table unavailable\""
        );
    }

    #[test]
    fn a_kept_message_line_says_why() {
        let unreadable = MessageReport {
            message_id: "m-2".into(),
            letter: None,
            outcome: Outcome::Unreadable(LetterError::NotAnObject { found: "array" }),
        };
        let failed = MessageReport {
            message_id: "m-3".into(),
            letter: Some(info(Origin::BareBatch { error: None })),
            outcome: Outcome::Failed(ReplayError::Batch {
                detail: "jcwatch-detect reported a Unhandled function error: Retryable: x".into(),
            }),
        };

        assert_eq!(
            message_line(&unreadable),
            "kept          message=m-2  -> not a batch: the body is a JSON array, not a failure \
             record or a batch"
        );
        assert!(
            message_line(&failed).ends_with(
                "condition=none (bare batch)  -> failed: jcwatch-detect reported a Unhandled \
                 function error: Retryable: x"
            ),
            "{}",
            message_line(&failed)
        );
    }

    #[test]
    fn the_summary_counts_replayed_and_kept_messages() {
        let summary = ReplaySummary {
            received: 4,
            replayed: 2,
            unreadable: 1,
            failed: 1,
            ..ReplaySummary::default()
        };

        assert_eq!(
            summary_line(&summary, false),
            "4 messages: 2 replayed, 2 kept in the queue (1 not a batch, 1 failed, 0 not tried)"
        );
    }

    #[test]
    fn the_region_comes_from_an_aws_queue_url() {
        assert_eq!(
            region_of_queue("https://sqs.eu-west-1.amazonaws.com/123456789012/jcwatch-detect-dlq")
                .as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region_of_queue("http://127.0.0.1:5055/123456789012/q"),
            None
        );
    }

    #[test]
    fn visibility_timeouts_outside_sqs_limits_are_refused() {
        assert!(parse_visibility("30s").is_ok());
        assert!(
            parse_visibility("13h")
                .unwrap_err()
                .contains("between 1s and")
        );
        assert!(parse_queue_url("sqs/queue").is_err());
        assert!(parse_function("my function").is_err());
    }
}
