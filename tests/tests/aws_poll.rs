//! The AWS adapters of the poll path against the local AWS emulator (moto): the DynamoDB
//! cursor store, the SNS notifier read back through SQS, the Secrets Manager credential, the
//! S3 configuration loader and the asynchronous Lambda invoker.
//!
//! Needs `JCWATCH_TEST_AWS_ENDPOINT` and `JCWATCH_TEST_LAMBDA_ENDPOINT`
//! (`eval "$(.ci/emulators start)"`); without them every test here fails and says so.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use jcwatch_aws::{
    DynamoCursorStore, LambdaBatchSink, LambdaInvoker, S3ConfigLoader, S3Error, SecretError,
    SecretLoader, SnsNotifier,
};
use jcwatch_core::ports::{
    BatchSink, Cursor, CursorStore, Notification, Notifier, SeenEvent, StoreError,
};
use jcwatch_dirinsights::Credential;
use jcwatch_model::{Batch, Event, Route, Severity};
use jcwatch_tests::moto::{Moto, MotoLambda};
use serde_json::{Value, json};

fn cursor(org_id: &str, version: u64) -> Cursor {
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    Cursor {
        org_id: org_id.into(),
        high_water: Some(at),
        polled_until: Some(at),
        seen: vec![SeenEvent {
            timestamp: at,
            id: "evt-1".into(),
        }],
        last_ops_notice: None,
        version,
    }
}

fn notification(rule_id: &str) -> Notification {
    Notification {
        route: Route::Ops,
        severity: Severity::High,
        rule_id: rule_id.into(),
        subject: "jcwatch: Directory Insights refused the API key".into(),
        text: "The poll for organisation org-1 got HTTP 401.\nRotate the key.".into(),
        chat: json!({
            "version": "1.0",
            "source": "custom",
            "content": {"title": "API key refused", "description": "HTTP 401 for *org-1*"}
        }),
    }
}

#[tokio::test]
async fn a_first_cursor_is_saved_and_loads_back_with_its_version() {
    let moto = Moto::connect().await;
    let table = moto.create_table("cursor").await;
    let store = DynamoCursorStore::new(moto.dynamodb(), &table);

    store.save(&cursor("org-a", 1), None).await.unwrap();
    let loaded = store.load("org-a").await.unwrap();

    assert_eq!(loaded, Some(cursor("org-a", 1)));
}

#[tokio::test]
async fn a_cursor_never_saved_loads_as_none() {
    let moto = Moto::connect().await;
    let table = moto.create_table("cursor").await;
    let store = DynamoCursorStore::new(moto.dynamodb(), &table);

    let loaded = store.load("org-nobody").await.unwrap();

    assert_eq!(loaded, None);
}

#[tokio::test]
async fn saving_over_a_stale_version_is_a_conflict_and_keeps_the_newer_cursor() {
    let moto = Moto::connect().await;
    let table = moto.create_table("cursor").await;
    let store = DynamoCursorStore::new(moto.dynamodb(), &table);
    store.save(&cursor("org-a", 1), None).await.unwrap();
    store.save(&cursor("org-a", 2), Some(1)).await.unwrap();

    let mut stale = cursor("org-a", 2);
    stale.seen.clear();
    let result = store.save(&stale, Some(1)).await;

    assert!(
        matches!(&result, Err(StoreError::Conflict { org_id, expected: Some(1) }) if org_id == "org-a"),
        "{result:?}"
    );
    assert_eq!(store.load("org-a").await.unwrap(), Some(cursor("org-a", 2)));
}

#[tokio::test]
async fn a_second_first_save_is_a_conflict() {
    let moto = Moto::connect().await;
    let table = moto.create_table("cursor").await;
    let store = DynamoCursorStore::new(moto.dynamodb(), &table);
    store.save(&cursor("org-a", 1), None).await.unwrap();

    let result = store.save(&cursor("org-a", 1), None).await;

    assert!(
        matches!(result, Err(StoreError::Conflict { expected: None, .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn organisations_have_separate_cursors() {
    let moto = Moto::connect().await;
    let table = moto.create_table("cursor").await;
    let store = DynamoCursorStore::new(moto.dynamodb(), &table);

    store.save(&cursor("org-a", 1), None).await.unwrap();
    store.save(&cursor("", 1), None).await.unwrap();

    assert_eq!(store.load("org-a").await.unwrap().unwrap().org_id, "org-a");
    assert_eq!(store.load("").await.unwrap().unwrap().org_id, "");
    assert_eq!(store.load("org-b").await.unwrap(), None);
}

#[tokio::test]
async fn a_missing_table_is_a_backend_error_naming_the_table() {
    let moto = Moto::connect().await;
    let store = DynamoCursorStore::new(moto.dynamodb(), "no-such-cursor-table");

    let error = store.load("org-a").await.unwrap_err();

    assert!(matches!(error, StoreError::Backend { .. }), "{error:?}");
    assert!(
        error.to_string().contains("no-such-cursor-table"),
        "{error}"
    );
}

#[tokio::test]
async fn a_published_notification_reaches_an_sqs_subscriber_with_its_attributes() {
    let moto = Moto::connect().await;
    let topic = moto.create_topic("alerts").await;
    let queue = moto.subscribe_queue(&topic).await;
    let notifier = SnsNotifier::new(moto.sns(), &topic);

    notifier
        .publish(&notification("poll.auth_refused"))
        .await
        .unwrap();
    let received = moto.receive(&queue, 1, Duration::from_secs(10)).await;

    assert_eq!(received.len(), 1, "{received:?}");
    let message = &received[0];
    assert_eq!(
        message.body,
        "The poll for organisation org-1 got HTTP 401.\nRotate the key."
    );
    assert_eq!(
        message.attributes.get("route").map(String::as_str),
        Some("ops")
    );
    assert_eq!(
        message.attributes.get("severity").map(String::as_str),
        Some("high")
    );
    assert_eq!(
        message.attributes.get("rule_id").map(String::as_str),
        Some("poll.auth_refused")
    );
}

#[tokio::test]
async fn subscriptions_filtered_on_route_get_only_their_route() {
    let moto = Moto::connect().await;
    let topic = moto.create_topic("alerts").await;
    let ops = moto
        .subscribe_queue_filtered(&topic, Some(r#"{"route": ["ops"]}"#))
        .await;
    let people = moto
        .subscribe_queue_filtered(&topic, Some(r#"{"route": ["duet", "alert"]}"#))
        .await;
    let notifier = SnsNotifier::new(moto.sns(), &topic);
    let mut duet = notification("mfa.disabled");
    duet.route = Route::Duet;
    duet.text = "Did you turn off MFA?".into();

    notifier
        .publish(&notification("poll.auth_refused"))
        .await
        .unwrap();
    notifier.publish(&duet).await.unwrap();
    let to_ops = moto.receive(&ops, 2, Duration::from_secs(4)).await;
    let to_people = moto.receive(&people, 2, Duration::from_secs(4)).await;

    let rules = |received: &[jcwatch_tests::moto::Received]| -> Vec<String> {
        received
            .iter()
            .filter_map(|m| m.attributes.get("rule_id").cloned())
            .collect()
    };
    assert_eq!(rules(&to_ops), ["poll.auth_refused"]);
    assert_eq!(rules(&to_people), ["mfa.disabled"]);
    assert_eq!(to_people[0].body, "Did you turn off MFA?");
}

#[tokio::test]
async fn a_notification_over_the_sns_limit_is_refused_before_publishing() {
    let moto = Moto::connect().await;
    let topic = moto.create_topic("alerts").await;
    let queue = moto.subscribe_queue(&topic).await;
    let notifier = SnsNotifier::new(moto.sns(), &topic);
    let mut big = notification("rule.big");
    big.text = "x".repeat(100 * 1024);

    let error = notifier.publish(&big).await.unwrap_err();
    let received = moto.receive(&queue, 1, Duration::from_secs(2)).await;

    assert!(error.to_string().contains("over SNS's"), "{error}");
    assert_eq!(error.rule_id, "rule.big");
    assert!(received.is_empty(), "{received:?}");
}

#[tokio::test]
async fn publishing_to_a_missing_topic_is_an_error_naming_the_topic() {
    let moto = Moto::connect().await;
    let topic = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    let notifier = SnsNotifier::new(moto.sns(), topic);

    let error = notifier.publish(&notification("rule.x")).await.unwrap_err();

    assert!(error.to_string().contains("no-such-topic"), "{error}");
}

/// (kind, client id, secret value), to compare credentials in assertions.
fn parts(credential: &Credential) -> (&'static str, Option<&str>, &str) {
    match credential {
        Credential::ApiKey(key) => ("api_key", None, key.expose()),
        Credential::ServiceAccount {
            client_id,
            client_secret,
        } => ("service_account", Some(client_id), client_secret.expose()),
    }
}

#[tokio::test]
async fn the_secret_loader_reads_all_three_shapes() {
    let moto = Moto::connect().await;
    let loader = SecretLoader::new(moto.secrets());
    let plain = moto.create_secret("jc-plain", "plainkey123").await;
    let json_key = moto
        .create_secret("jc-json", r#"{"api_key": "jsonkey456"}"#)
        .await;
    let account = moto
        .create_secret(
            "jc-sa",
            r#"{"client_id": "client-789", "client_secret": "clientsecret000"}"#,
        )
        .await;

    let plain = loader.load(&plain).await.unwrap();
    let json_key = loader.load(&json_key).await.unwrap();
    let account = loader.load(&account).await.unwrap();

    assert_eq!(parts(&plain), ("api_key", None, "plainkey123"));
    assert_eq!(parts(&json_key), ("api_key", None, "jsonkey456"));
    assert_eq!(
        parts(&account),
        ("service_account", Some("client-789"), "clientsecret000")
    );
}

#[tokio::test]
async fn a_missing_secret_is_named_and_a_malformed_one_shows_no_value() {
    let moto = Moto::connect().await;
    let loader = SecretLoader::new(moto.secrets());
    let malformed = moto
        .create_secret(
            "jc-bad",
            r#"{"client_id": "c", "api_secret": "leakycanary42"}"#,
        )
        .await;

    let missing = loader.load("jcwatch/no-such-secret").await.unwrap_err();
    let malformed = loader.load(&malformed).await.unwrap_err();

    assert!(
        matches!(missing, SecretError::NotFound { .. }),
        "{missing:?}"
    );
    assert!(
        missing.to_string().contains("jcwatch/no-such-secret"),
        "{missing}"
    );
    assert!(
        matches!(malformed, SecretError::Malformed { .. }),
        "{malformed:?}"
    );
    let printed = format!("{malformed} {malformed:?}");
    assert!(!printed.contains("leakycanary42"), "{printed}");
}

#[tokio::test]
async fn the_s3_loader_reads_an_object_as_text() {
    let moto = Moto::connect().await;
    let bucket = moto.create_bucket("config").await;
    let toml = "# jcwatch\n[notify]\nroutes = [\"duet\", \"alert\"]\n";
    moto.put_object(&bucket, "jcwatch/config.toml", toml).await;
    let loader = S3ConfigLoader::new(moto.s3());

    let text = loader
        .load_text(&format!("s3://{bucket}/jcwatch/config.toml"))
        .await
        .unwrap();

    assert_eq!(text, toml);
}

#[tokio::test]
async fn the_s3_loader_names_a_missing_object_and_rejects_binary() {
    let moto = Moto::connect().await;
    let bucket = moto.create_bucket("config").await;
    moto.put_object(&bucket, "blob.bin", vec![0xff, 0xfe, 0x00])
        .await;
    let loader = S3ConfigLoader::new(moto.s3());

    let missing = loader
        .load_text(&format!("s3://{bucket}/missing.toml"))
        .await
        .unwrap_err();
    let binary = loader
        .load_text(&format!("s3://{bucket}/blob.bin"))
        .await
        .unwrap_err();

    assert!(matches!(missing, S3Error::NotFound { .. }), "{missing:?}");
    assert!(missing.to_string().contains("missing.toml"), "{missing}");
    assert!(matches!(binary, S3Error::NotText { .. }), "{binary:?}");
}

fn event(id: &str, second: u32) -> Event {
    Event::from_value(json!({
        "id": id,
        "event_type": "user_login_attempt",
        "service": "sso",
        "timestamp": format!("2026-11-30T12:00:{second:02}.123Z"),
        "initiated_by": {"type": "user", "username": "alice"},
        "success": true
    }))
    .unwrap()
}

#[tokio::test]
async fn a_batch_is_handed_to_the_detect_function_as_an_event_invocation() {
    let emulator = MotoLambda::connect().await;
    let function = emulator.create_function("detect").await;
    let sink = LambdaBatchSink::new(LambdaInvoker::new(emulator.lambda()), &function);
    let batch = Batch::new(Some("org-a".into()), vec![event("e1", 1), event("e2", 2)]);

    let (result, requests) = emulator.record(sink.hand_off(&batch)).await;

    result.unwrap();
    let ours: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.path
                .ends_with(&format!("/functions/{function}/invocations"))
        })
        .collect();
    assert_eq!(ours.len(), 1, "{requests:?}");
    assert_eq!(
        ours[0]
            .headers
            .get("x-amz-invocation-type")
            .map(String::as_str),
        Some("Event")
    );
    let delivered: Batch = serde_json::from_str(&ours[0].body).unwrap();
    assert_eq!(delivered, batch);
}

#[tokio::test]
async fn an_invocation_nobody_answers_is_an_error_naming_the_function() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let sdk = jcwatch_tests::moto::sdk_config(&endpoint).await;
    let invoker = LambdaInvoker::new(aws_sdk_lambda::Client::new(&sdk));

    let result = invoker.invoke_async("jcwatch-detect", b"{}".to_vec()).await;

    let error = result.unwrap_err().to_string();
    assert!(error.contains("invoking jcwatch-detect failed"), "{error}");
}

#[tokio::test]
async fn a_payload_over_the_async_limit_is_refused_without_a_call() {
    let emulator = MotoLambda::connect().await;
    let function = emulator.create_function("detect").await;
    let invoker = LambdaInvoker::new(emulator.lambda());
    let payload = serde_json::to_vec(&Value::String("x".repeat(1024 * 1024))).unwrap();

    let (result, requests) = emulator
        .record(invoker.invoke_async(&function, payload))
        .await;

    assert!(result.unwrap_err().to_string().contains("over Lambda's"));
    assert!(
        !requests.iter().any(|r| r.path.contains(&function)),
        "{requests:?}"
    );
}

// The poll use case over real HTTP (the simulator) with the DynamoDB cursor store.

mod poll_path {
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use jcwatch_aws::{DynamoCursorStore, SnsNotifier};
    use jcwatch_core::memory::{RecordingNotifier, RecordingSink};
    use jcwatch_core::poll::{
        AUTH_FAILURE_RULE_ID, ErrorCategory, OrgOutcome, PollPorts, PollSettings, Poller,
    };
    use jcwatch_core::ports::{BatchSink, Clock, CursorStore, HandOffError, SystemClock};
    use jcwatch_model::Batch;
    use jcwatch_simulator::{Fault, FaultRule};
    use jcwatch_tests::moto::Moto;
    use jcwatch_tests::poll::{API_KEY, JumpingClock, client, ids, recent_events, simulator};

    use super::Duration;

    const ORG: &str = "5f0c1a2b3c4d5e6f7a8b9c0d";

    fn org() -> Vec<Option<String>> {
        vec![Some(ORG.to_string())]
    }

    fn poller(
        source: jcwatch_dirinsights::Client,
        cursors: Arc<dyn CursorStore>,
        sink: Arc<dyn BatchSink>,
        clock: Arc<dyn Clock>,
    ) -> Poller {
        let ports = PollPorts {
            source: Arc::new(source),
            cursors,
            sink,
            notifier: Arc::new(RecordingNotifier::default()),
            clock,
        };
        Poller::new(ports, PollSettings::default())
    }

    /// Hands over to a recording sink and jumps the clock past the deadline after a number
    /// of hand-offs, as if the Lambda's time ran out there.
    struct CuttingSink {
        inner: RecordingSink,
        clock: Arc<JumpingClock>,
        cut_after: usize,
        handed: AtomicUsize,
    }

    #[async_trait]
    impl BatchSink for CuttingSink {
        async fn hand_off(&self, batch: &Batch) -> Result<(), HandOffError> {
            self.inner.hand_off(batch).await?;
            if self.handed.fetch_add(1, Ordering::SeqCst) + 1 == self.cut_after {
                self.clock.jump();
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_whole_poll_hands_every_event_over_once_and_the_next_poll_nothing() {
        let moto = Moto::connect().await;
        let table = moto.create_table("cursor").await;
        let events = recent_events(ORG, 95);
        let sim = simulator(ORG, events.clone()).await;
        let cursors = Arc::new(DynamoCursorStore::new(moto.dynamodb(), &table));
        let sink = Arc::new(RecordingSink::default());
        let poller = poller(
            client(&sim, API_KEY, 20),
            cursors.clone(),
            sink.clone(),
            Arc::new(SystemClock),
        );

        let first = poller.run(&org(), None).await;
        let second = poller.run(&org(), None).await;

        assert_eq!(first.orgs[0].outcome, OrgOutcome::Completed, "{first:?}");
        assert_eq!(first.orgs[0].pages, 5);
        let handed = sink.event_ids();
        assert_eq!(handed.len(), 95, "each event once");
        assert_eq!(
            handed.iter().cloned().collect::<BTreeSet<_>>(),
            ids(&events)
        );
        assert_eq!(second.orgs[0].handed_over, 0, "{second:?}");
        let stored = cursors.load(ORG).await.unwrap().expect("cursor stored");
        assert_eq!(stored.polled_until, second.orgs[0].cursor_after);
    }

    #[tokio::test]
    async fn a_restart_after_a_deadline_cut_off_loses_and_repeats_nothing() {
        let moto = Moto::connect().await;
        let table = moto.create_table("cursor").await;
        let events = recent_events(ORG, 100);
        let sim = simulator(ORG, events.clone()).await;
        let cursors = Arc::new(DynamoCursorStore::new(moto.dynamodb(), &table));
        let clock = JumpingClock::new();
        let cut = Arc::new(CuttingSink {
            inner: RecordingSink::default(),
            clock: clock.clone(),
            cut_after: 2,
            handed: AtomicUsize::new(0),
        });
        let deadline = chrono::Utc::now() + chrono::Duration::hours(1);
        let cut_poller = poller(
            client(&sim, API_KEY, 20),
            cursors.clone(),
            cut.clone(),
            clock,
        );
        let rest = Arc::new(RecordingSink::default());
        let restarted = poller(
            client(&sim, API_KEY, 20),
            cursors.clone(),
            rest.clone(),
            Arc::new(SystemClock),
        );

        let cut_run = cut_poller.run(&org(), Some(deadline)).await;
        let rest_run = restarted.run(&org(), None).await;

        assert_eq!(
            cut_run.orgs[0].outcome,
            OrgOutcome::DeadlineReached,
            "{cut_run:?}"
        );
        assert_eq!(cut_run.orgs[0].handed_over, 40);
        assert_eq!(
            rest_run.orgs[0].outcome,
            OrgOutcome::Completed,
            "{rest_run:?}"
        );
        let mut all = cut.inner.event_ids();
        all.extend(rest.event_ids());
        assert_eq!(all.len(), 100, "nothing repeated");
        assert_eq!(
            all.into_iter().collect::<BTreeSet<_>>(),
            ids(&events),
            "nothing lost"
        );
    }

    #[tokio::test]
    async fn two_concurrent_polls_on_one_dynamo_cursor_advance_it_once() {
        let moto = Moto::connect().await;
        let table = moto.create_table("cursor").await;
        let events = recent_events(ORG, 60);
        let sim = simulator(ORG, events.clone()).await;
        // Slow first answers: both polls have read the (empty) cursor before either saves.
        sim.push_fault(
            FaultRule::new(Fault::Delay(std::time::Duration::from_millis(500))).times(2),
        );
        let cursors = Arc::new(DynamoCursorStore::new(moto.dynamodb(), &table));
        let (sink_a, sink_b) = (
            Arc::new(RecordingSink::default()),
            Arc::new(RecordingSink::default()),
        );
        let a = poller(
            client(&sim, API_KEY, 20),
            cursors.clone(),
            sink_a.clone(),
            Arc::new(SystemClock),
        );
        let b = poller(
            client(&sim, API_KEY, 20),
            cursors.clone(),
            sink_b.clone(),
            Arc::new(SystemClock),
        );

        let orgs = org();
        let (run_a, run_b) = tokio::join!(a.run(&orgs, None), b.run(&orgs, None));

        let outcomes = [&run_a.orgs[0].outcome, &run_b.orgs[0].outcome];
        assert!(outcomes.contains(&&OrgOutcome::Completed), "{outcomes:?}");
        assert!(outcomes.contains(&&OrgOutcome::Conflict), "{outcomes:?}");
        let (winner, winner_sink, loser_sink) = if run_a.orgs[0].outcome == OrgOutcome::Completed {
            (&run_a.orgs[0], &sink_a, &sink_b)
        } else {
            (&run_b.orgs[0], &sink_b, &sink_a)
        };
        assert_eq!(winner_sink.event_ids().len(), 60);
        assert_eq!(
            winner_sink.event_ids().into_iter().collect::<BTreeSet<_>>(),
            ids(&events)
        );
        assert!(
            loser_sink.event_ids().len() <= 20,
            "the loser stops at its first save"
        );
        let stored = cursors.load(ORG).await.unwrap().expect("cursor stored");
        assert_eq!(stored.polled_until, winner.cursor_after);
        assert_eq!(
            stored.version, winner.pages,
            "one save per page of the winner only"
        );
    }

    #[tokio::test]
    async fn a_401_sends_one_ops_notification_and_the_next_run_is_rate_limited() {
        let moto = Moto::connect().await;
        let table = moto.create_table("cursor").await;
        let topic = moto.create_topic("alerts").await;
        let queue = moto.subscribe_queue(&topic).await;
        let sim = simulator(ORG, recent_events(ORG, 5)).await;
        let revoked_key = "jca_revoked_key_value_9876543210";
        let cursors = Arc::new(DynamoCursorStore::new(moto.dynamodb(), &table));
        let sink = Arc::new(RecordingSink::default());
        let ports = PollPorts {
            source: Arc::new(client(&sim, revoked_key, 20)),
            cursors: cursors.clone(),
            sink: sink.clone(),
            notifier: Arc::new(SnsNotifier::new(moto.sns(), &topic)),
            clock: Arc::new(SystemClock),
        };
        let poller = Poller::new(ports, PollSettings::default());

        let first = poller.run(&org(), None).await;
        let second = poller.run(&org(), None).await;
        let received = moto.receive(&queue, 2, Duration::from_secs(4)).await;

        assert!(
            matches!(
                &first.orgs[0].outcome,
                OrgOutcome::Failed {
                    category: ErrorCategory::Fatal,
                    ..
                }
            ),
            "{first:?}"
        );
        assert!(first.orgs[0].ops_notified);
        assert!(!second.orgs[0].ops_notified, "{second:?}");
        assert!(sink.event_ids().is_empty());
        assert_eq!(received.len(), 1, "{received:?}");
        let message = &received[0];
        assert_eq!(
            message.attributes.get("route").map(String::as_str),
            Some("ops")
        );
        assert_eq!(
            message.attributes.get("rule_id").map(String::as_str),
            Some(AUTH_FAILURE_RULE_ID)
        );
        assert!(message.body.contains("HTTP 401"), "{}", message.body);
        assert!(
            !message.body.contains(revoked_key),
            "the key leaked: {}",
            message.body
        );
        let stored = cursors
            .load(ORG)
            .await
            .unwrap()
            .expect("cursor keeps the notice time");
        assert!(stored.last_ops_notice.is_some());
    }
}
