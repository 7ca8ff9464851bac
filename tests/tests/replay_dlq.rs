//! The dead-letter replay against the local AWS emulators: failure records, a bare batch and
//! a message that is neither on a real SQS queue (moto), replayed into a Lambda function
//! (moto's Docker-free Lambda, with its recorder showing what was invoked), through the SQS
//! and Lambda adapters and the core use case.

use std::time::Duration;

use jcwatch_aws::{InvokeMode, LambdaReplayTarget, SqsDeadLetterQueue};
use jcwatch_core::replay::{
    LetterError, MessageReport, Outcome, ReplayError, ReplayOptions, ReplaySummary, StopReason,
    replay_dead_letters,
};
use jcwatch_tests::moto::{Moto, MotoLambda, sdk_config};
use jcwatch_tests::replay::{
    FailingLambda, FilledQueue, batch, by_batch_id, failure_record, filled_queue, invocations_of,
    queue_depth, remaining_bodies,
};
use serde_json::Value;

const GARBAGE: &str = "this is not a failure record";

fn dead_letter_queue(moto: &Moto, url: &str) -> SqsDeadLetterQueue {
    SqsDeadLetterQueue::new(moto.sqs(), url, Duration::from_secs(60))
}

/// Two failure records, a bare batch and a message that is neither.
async fn mixed_queue(moto: &Moto) -> (FilledQueue, Vec<Value>) {
    let batches = vec![batch("b-record-1"), batch("b-record-2"), batch("b-bare")];
    let bodies = vec![
        failure_record(&batches[0], "req-1"),
        GARBAGE.to_string(),
        failure_record(&batches[1], "req-2"),
        batches[2].to_string(),
    ];
    (filled_queue(moto, &bodies).await, batches)
}

async fn replay(
    queue: &SqsDeadLetterQueue,
    target: &LambdaReplayTarget,
    options: ReplayOptions,
) -> (ReplaySummary, Vec<MessageReport>) {
    let mut reports = Vec::new();
    let summary = replay_dead_letters(queue, target, &options, |r| reports.push(r.clone())).await;
    (summary, reports)
}

#[tokio::test]
async fn failed_batches_are_invoked_again_unchanged_and_their_messages_deleted() {
    let moto = Moto::connect().await;
    let lambda = MotoLambda::connect().await;
    let function = lambda.create_function("detect").await;
    let (filled, batches) = mixed_queue(&moto).await;
    let queue = dead_letter_queue(&moto, &filled.url);
    let target = LambdaReplayTarget::new(lambda.lambda(), &function, InvokeMode::Async);

    let ((summary, _), requests) = lambda
        .record(replay(&queue, &target, ReplayOptions::default()))
        .await;

    let invocations = invocations_of(&requests, &function);
    assert!(
        invocations.iter().all(|(kind, _)| kind == "Event"),
        "{invocations:?}"
    );
    let payloads = invocations.into_iter().map(|(_, p)| p).collect();
    assert_eq!(by_batch_id(payloads), by_batch_id(batches));
    assert_eq!((summary.replayed, summary.unreadable), (3, 1));
    assert!(!summary.all_replayed());
    assert_eq!(remaining_bodies(&moto, &filled.url).await, vec![GARBAGE]);
}

#[tokio::test]
async fn a_message_that_is_not_a_batch_is_reported_by_id_and_left_visible_in_the_queue() {
    let moto = Moto::connect().await;
    let lambda = MotoLambda::connect().await;
    let function = lambda.create_function("detect").await;
    let (filled, _) = mixed_queue(&moto).await;
    let queue = dead_letter_queue(&moto, &filled.url);
    let target = LambdaReplayTarget::new(lambda.lambda(), &function, InvokeMode::Async);

    let (_, reports) = replay(&queue, &target, ReplayOptions::default()).await;

    let garbage = reports
        .iter()
        .find(|r| r.message_id == filled.id_of(GARBAGE))
        .expect("a report for the garbage message");
    assert!(
        matches!(
            garbage.outcome,
            Outcome::Unreadable(LetterError::NotJson { .. })
        ),
        "{garbage:?}"
    );
    assert_eq!(garbage.letter, None);
    assert_eq!(
        queue_depth(&moto, &filled.url).await,
        (1, 0),
        "the kept message is visible again at once"
    );
}

#[tokio::test]
async fn a_dry_run_reads_every_message_but_invokes_and_deletes_nothing() {
    let moto = Moto::connect().await;
    let lambda = MotoLambda::connect().await;
    let function = lambda.create_function("detect").await;
    let (filled, _) = mixed_queue(&moto).await;
    let queue = dead_letter_queue(&moto, &filled.url);
    let target = LambdaReplayTarget::new(lambda.lambda(), &function, InvokeMode::Async);
    let options = ReplayOptions {
        dry_run: true,
        ..ReplayOptions::default()
    };

    let ((summary, reports), requests) = lambda.record(replay(&queue, &target, options)).await;

    assert!(invocations_of(&requests, &function).is_empty());
    assert_eq!((summary.would_replay, summary.unreadable), (3, 1));
    let record = reports
        .iter()
        .find(|r| r.message_id == filled.messages[0].0)
        .expect("the first record's report");
    let info = record.letter.as_ref().expect("the record was read");
    assert_eq!(
        (info.batch_id.as_str(), info.event_count),
        ("b-record-1", 3)
    );
    assert_eq!(queue_depth(&moto, &filled.url).await, (4, 0));
}

#[tokio::test]
async fn a_synchronous_replay_waits_for_the_function_and_deletes_what_it_ran() {
    let moto = Moto::connect().await;
    let lambda = MotoLambda::connect().await;
    let function = lambda.create_function("detect").await;
    let batches = vec![batch("b-sync-1"), batch("b-sync-2")];
    let bodies: Vec<String> = batches
        .iter()
        .map(|b| failure_record(b, "req-sync"))
        .collect();
    let filled = filled_queue(&moto, &bodies).await;
    let queue = dead_letter_queue(&moto, &filled.url);
    let target = LambdaReplayTarget::new(lambda.lambda(), &function, InvokeMode::Sync);

    let ((summary, _), requests) = lambda
        .record(replay(&queue, &target, ReplayOptions::default()))
        .await;

    let invocations = invocations_of(&requests, &function);
    assert!(
        invocations
            .iter()
            .all(|(kind, _)| kind == "RequestResponse"),
        "{invocations:?}"
    );
    let payloads = invocations.into_iter().map(|(_, p)| p).collect();
    assert_eq!(by_batch_id(payloads), batches);
    assert!(summary.all_replayed(), "{summary:?}");
    assert_eq!(queue_depth(&moto, &filled.url).await, (0, 0));
}

#[tokio::test]
async fn a_batch_the_function_fails_on_again_stays_in_the_queue_with_the_functions_error() {
    let moto = Moto::connect().await;
    let failing = FailingLambda::start().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk_config(&failing.endpoint).await);
    let filled = filled_queue(&moto, &[failure_record(&batch("b-again"), "req-a")]).await;
    let queue = dead_letter_queue(&moto, &filled.url);
    let target = LambdaReplayTarget::new(lambda, "jcwatch-detect", InvokeMode::Sync);

    let (summary, reports) = replay(&queue, &target, ReplayOptions::default()).await;

    let Outcome::Failed(ReplayError::Batch { detail }) = &reports[0].outcome else {
        panic!("expected a failed batch, got {:?}", reports[0].outcome);
    };
    assert!(
        detail.contains("Unhandled") && detail.contains("Retryable: batch store"),
        "{detail}"
    );
    assert_eq!(summary.failed, 1);
    assert!(summary.stopped.is_none());
    let received = failing.received.lock().unwrap().clone();
    assert_eq!(
        received,
        vec![("RequestResponse".to_string(), batch("b-again"))]
    );
    assert_eq!(queue_depth(&moto, &filled.url).await, (1, 0));
}

#[tokio::test]
async fn a_function_nobody_answers_for_stops_the_run_and_every_message_stays() {
    let moto = Moto::connect().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let lambda = aws_sdk_lambda::Client::new(&sdk_config(&endpoint).await);
    let bodies: Vec<String> = (0..3)
        .map(|n| failure_record(&batch(&format!("b-{n}")), "req"))
        .collect();
    let filled = filled_queue(&moto, &bodies).await;
    let queue = dead_letter_queue(&moto, &filled.url);
    let target = LambdaReplayTarget::new(lambda, "jcwatch-detect", InvokeMode::Async);

    let (summary, reports) = replay(&queue, &target, ReplayOptions::default()).await;

    assert!(
        matches!(summary.stopped, Some(StopReason::Target(_))),
        "{:?}",
        summary.stopped
    );
    assert_eq!(summary.failed, 1, "the run stops at the first failure");
    assert_eq!(summary.received, reports.len());
    assert!(
        reports[1..].iter().all(|r| r.outcome == Outcome::NotTried),
        "{reports:?}"
    );
    assert_eq!(queue_depth(&moto, &filled.url).await, (3, 0));
}
