//! `jcwatch replay-dlq` end to end: the built binary with the AWS SDK's usual environment
//! (static credentials, a region, `AWS_ENDPOINT_URL_SQS` and `AWS_ENDPOINT_URL_LAMBDA`)
//! pointed at the local emulators, reading a dead-letter queue in moto and invoking a function
//! in moto's Docker-free Lambda, whose recorder shows what was invoked.

use std::process::Command;

use jcwatch_tests::moto::{Moto, MotoLambda};
use jcwatch_tests::replay::{
    FailingLambda, batch, by_batch_id, failure_record, filled_queue, invocations_of, queue_depth,
    remaining_bodies,
};
use serde_json::Value;

const GARBAGE: &str = "<html>not a failure record</html>";

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `jcwatch ARGS` with the SDK pointed at the emulators, nothing read from the user's
/// own AWS configuration.
async fn jcwatch(sqs_endpoint: &str, lambda_endpoint: &str, args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_jcwatch"));
    command
        .args(args)
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_SQS", sqs_endpoint)
        .env("AWS_ENDPOINT_URL_LAMBDA", lambda_endpoint)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("JCWATCH_LOG");

    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("running jcwatch");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn line_for<'a>(run: &'a Run, message_id: &str) -> &'a str {
    let needle = format!("message={message_id}");
    run.stdout
        .lines()
        .find(|l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no line for {message_id} in:\n{}", run.stdout))
}

#[tokio::test]
async fn the_command_replays_every_failed_batch_and_keeps_the_message_that_is_not_one() {
    let moto = Moto::connect().await;
    let lambda = MotoLambda::connect().await;
    let function = lambda.create_function("detect").await;
    let batches = vec![batch("b-cli-1"), batch("b-cli-2"), batch("b-cli-bare")];
    let bodies = vec![
        failure_record(&batches[0], "req-1"),
        failure_record(&batches[1], "req-2"),
        GARBAGE.to_string(),
        batches[2].to_string(),
    ];
    let filled = filled_queue(&moto, &bodies).await;

    let (run, requests) = lambda
        .record(jcwatch(
            &moto.endpoint,
            &lambda.endpoint,
            &[
                "replay-dlq",
                "--queue-url",
                &filled.url,
                "--function",
                &function,
            ],
        ))
        .await;

    assert_eq!(run.code, Some(1), "{run:?}");
    let invocations = invocations_of(&requests, &function);
    assert!(
        invocations.iter().all(|(kind, _)| kind == "Event"),
        "{invocations:?}"
    );
    let payloads: Vec<Value> = invocations.into_iter().map(|(_, p)| p).collect();
    assert_eq!(by_batch_id(payloads), by_batch_id(batches));
    assert_eq!(remaining_bodies(&moto, &filled.url).await, vec![GARBAGE]);

    let record = line_for(&run, &filled.messages[0].0);
    assert!(record.starts_with("replayed"), "{record}");
    for part in [
        "batch=b-cli-1",
        "events=3",
        "condition=RetriesExhausted",
        "attempts=3",
        "last_error=\"Retryable: batch store: alerts table unavailable\"",
    ] {
        assert!(record.contains(part), "{part} missing from: {record}");
    }
    let bare = line_for(&run, &filled.messages[3].0);
    assert!(
        bare.starts_with("replayed") && bare.contains("condition=none"),
        "{bare}"
    );
    let garbage = line_for(&run, filled.id_of(GARBAGE));
    assert!(
        garbage.starts_with("kept") && garbage.contains("not JSON"),
        "{garbage}"
    );
    assert!(
        run.stdout
            .contains("4 messages: 3 replayed, 1 kept in the queue (1 not a batch"),
        "{}",
        run.stdout
    );
    let everything = format!("{}{}", run.stdout, run.stderr);
    assert!(
        !everything.contains("alice.martin"),
        "event content printed:\n{everything}"
    );
    assert!(
        !everything.contains("203.0.113.7"),
        "event content printed:\n{everything}"
    );
}

#[tokio::test]
async fn with_sync_every_batch_runs_to_completion_and_the_command_exits_zero() {
    let moto = Moto::connect().await;
    let lambda = MotoLambda::connect().await;
    let function = lambda.create_function("detect").await;
    let batches: Vec<Value> = (0..12).map(|n| batch(&format!("b-sync-{n:02}"))).collect();
    let bodies: Vec<String> = batches.iter().map(|b| failure_record(b, "req")).collect();
    let filled = filled_queue(&moto, &bodies).await;

    let (run, requests) = lambda
        .record(jcwatch(
            &moto.endpoint,
            &lambda.endpoint,
            &[
                "replay-dlq",
                "--queue-url",
                &filled.url,
                "--function",
                &function,
                "--sync",
            ],
        ))
        .await;

    assert_eq!(run.code, Some(0), "{run:?}");
    let invocations = invocations_of(&requests, &function);
    assert!(
        invocations
            .iter()
            .all(|(kind, _)| kind == "RequestResponse"),
        "{invocations:?}"
    );
    let payloads: Vec<Value> = invocations.into_iter().map(|(_, p)| p).collect();
    assert_eq!(by_batch_id(payloads), batches);
    assert_eq!(queue_depth(&moto, &filled.url).await, (0, 0));
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("replayed"))
            .count(),
        12
    );
}

#[tokio::test]
async fn a_dry_run_exits_zero_and_leaves_the_queue_as_it_was() {
    let moto = Moto::connect().await;
    let lambda = MotoLambda::connect().await;
    let function = lambda.create_function("detect").await;
    let bodies = vec![
        failure_record(&batch("b-dry-1"), "req-1"),
        batch("b-dry-2").to_string(),
    ];
    let filled = filled_queue(&moto, &bodies).await;

    let (run, requests) = lambda
        .record(jcwatch(
            &moto.endpoint,
            &lambda.endpoint,
            // `replay` is the short name the Terraform module's output uses.
            &[
                "replay",
                "--queue-url",
                &filled.url,
                "--function",
                &function,
                "--dry-run",
            ],
        ))
        .await;

    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(invocations_of(&requests, &function).is_empty());
    assert_eq!(queue_depth(&moto, &filled.url).await, (2, 0));
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("would replay"))
            .count(),
        2,
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("dry run, 2 messages: 2 would be replayed, 0 not a batch; nothing was invoked or deleted"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn max_stops_after_that_many_messages() {
    let moto = Moto::connect().await;
    let lambda = MotoLambda::connect().await;
    let function = lambda.create_function("detect").await;
    let bodies: Vec<String> = (0..5)
        .map(|n| failure_record(&batch(&format!("b-max-{n}")), "req"))
        .collect();
    let filled = filled_queue(&moto, &bodies).await;

    let (run, requests) = lambda
        .record(jcwatch(
            &moto.endpoint,
            &lambda.endpoint,
            &[
                "replay-dlq",
                "--queue-url",
                &filled.url,
                "--function",
                &function,
                "--max",
                "2",
            ],
        ))
        .await;

    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(invocations_of(&requests, &function).len(), 2);
    assert_eq!(queue_depth(&moto, &filled.url).await, (3, 0));
}

#[tokio::test]
async fn a_batch_the_function_fails_on_with_sync_is_reported_and_stays_in_the_queue() {
    let moto = Moto::connect().await;
    let failing = FailingLambda::start().await;
    let filled = filled_queue(&moto, &[failure_record(&batch("b-fails"), "req")]).await;

    let run = jcwatch(
        &moto.endpoint,
        &failing.endpoint,
        &[
            "replay-dlq",
            "--queue-url",
            &filled.url,
            "--function",
            "jcwatch-detect",
            "--sync",
        ],
    )
    .await;

    assert_eq!(run.code, Some(1), "{run:?}");
    let line = line_for(&run, &filled.messages[0].0);
    assert!(line.starts_with("kept"), "{line}");
    assert!(
        line.contains("-> failed: jcwatch-detect reported a Unhandled function error: Retryable: batch store: alerts table unavailable"),
        "{line}"
    );
    assert_eq!(failing.received.lock().unwrap().len(), 1);
    assert_eq!(queue_depth(&moto, &filled.url).await, (1, 0));
}

#[tokio::test]
async fn bad_flags_exit_with_two_and_say_what_is_wrong() {
    let url = "http://127.0.0.1:9/123456789012/dlq";
    let cases: [(&[&str], &str); 4] = [
        (&["replay-dlq", "--queue-url", url], "--function"),
        (
            &["replay-dlq", "--queue-url", "my-queue", "--function", "f"],
            "is not a queue URL",
        ),
        (
            &[
                "replay-dlq",
                "--queue-url",
                url,
                "--function",
                "f",
                "--max",
                "0",
            ],
            "--max",
        ),
        (
            &[
                "replay-dlq",
                "--queue-url",
                url,
                "--function",
                "f",
                "--visibility-timeout",
                "2d",
            ],
            "between 1s and",
        ),
    ];

    for (args, expected) in cases {
        let run = jcwatch("http://127.0.0.1:9", "http://127.0.0.1:9", args).await;

        assert_eq!(run.code, Some(2), "{args:?}: {run:?}");
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
    }
}

#[tokio::test]
async fn without_a_region_from_anywhere_the_command_exits_with_two() {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_jcwatch"))
        .args([
            "replay-dlq",
            "--queue-url",
            "http://127.0.0.1:9/123456789012/dlq",
            "--function",
            "jcwatch-detect",
        ])
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no AWS region"), "{stderr}");
}
