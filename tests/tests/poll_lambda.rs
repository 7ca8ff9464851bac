//! The poll Lambda's handler against the local AWS emulators and the Directory Insights
//! simulator: the credential from Secrets Manager, the cursor in DynamoDB, the batches and
//! the shard hand-offs as asynchronous invocations recorded by the Lambda emulator.
//!
//! Needs `JCWATCH_TEST_AWS_ENDPOINT` and `JCWATCH_TEST_LAMBDA_ENDPOINT`
//! (`eval "$(.ci/emulators start)"`); without them every test here fails and says so.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use jcwatch_core::poll::ErrorCategory;
use jcwatch_core::ports::CursorStore;
use jcwatch_model::Batch;
use jcwatch_simulator::Simulator;
use jcwatch_tests::moto::{Moto, MotoLambda, RecordedRequest};
use jcwatch_tests::poll::{API_KEY, ids, recent_events, simulator};
use poll_function::config::{
    CURSOR_TABLE_ENV, DETECT_FUNCTION_ENV, JC_BASE_URL_ENV, JC_ORG_IDS_ENV, JC_SECRET_ARN_ENV,
    POLL_SHARD_SIZE_ENV, TOPIC_ARN_ENV,
};
use poll_function::{AwsClients, FunctionConfig, PollFunction};
use serde_json::{Value, json};

/// What EventBridge Scheduler sends when the schedule's input carries its context.
fn scheduler_event() -> Value {
    json!({
        "source": "jcwatch.schedule",
        "scheduled_time": Utc::now().to_rfc3339(),
        "schedule_arn": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/jcwatch-poll"
    })
}

/// The AWS side of one poll function: secret, cursor table, topic, a detect function.
struct Deployment {
    moto: Moto,
    lambda: MotoLambda,
    env: HashMap<String, String>,
    detect: String,
    cursor_table: String,
}

impl Deployment {
    async fn new(sim: &Simulator, orgs: &str) -> Deployment {
        let moto = Moto::connect().await;
        let lambda = MotoLambda::connect().await;
        let secret = moto
            .create_secret("jc", &json!({ "api_key": API_KEY }).to_string())
            .await;
        let cursor_table = moto.create_table("cursor").await;
        let topic = moto.create_topic("alerts").await;
        let detect = lambda.create_function("detect").await;
        let env = HashMap::from([
            (JC_SECRET_ARN_ENV.to_string(), secret),
            (JC_BASE_URL_ENV.to_string(), sim.base_url().to_string()),
            (JC_ORG_IDS_ENV.to_string(), orgs.to_string()),
            (CURSOR_TABLE_ENV.to_string(), cursor_table.clone()),
            (DETECT_FUNCTION_ENV.to_string(), detect.clone()),
            (TOPIC_ARN_ENV.to_string(), topic),
        ]);
        Deployment {
            moto,
            lambda,
            env,
            detect,
            cursor_table,
        }
    }

    fn function(&self) -> PollFunction {
        let env = self.env.clone();
        let config = FunctionConfig::from_lookup(move |name| env.get(name).cloned());
        let mut clients = AwsClients::from_sdk(&self.moto.sdk);
        clients.lambda = self.lambda.lambda();
        PollFunction::new(config, clients)
    }
}

/// The asynchronous invocations of `function` among `requests`.
fn invocations_of<'a>(requests: &'a [RecordedRequest], function: &str) -> Vec<&'a RecordedRequest> {
    let path = format!("/functions/{function}/invocations");
    requests
        .iter()
        .filter(|r| r.path.ends_with(&path))
        .inspect(|r| {
            assert_eq!(
                r.headers.get("x-amz-invocation-type").map(String::as_str),
                Some("Event"),
                "{r:?}"
            )
        })
        .collect()
}

#[tokio::test]
async fn a_scheduled_tick_hands_every_new_event_to_the_detect_function() {
    let org = "60a1b2c3d4e5f6a7b8c9d0e1";
    let events = recent_events(org, 40);
    let sim = simulator(org, events.clone()).await;
    let deployment = Deployment::new(&sim, org).await;
    let function = deployment.function();
    let lambda_deadline = Some(Utc::now() + chrono::Duration::minutes(5));

    let (result, requests) = deployment
        .lambda
        .record(function.handle(scheduler_event(), lambda_deadline, "jcwatch-poll"))
        .await;

    let summary = result.unwrap();
    assert_eq!(summary.events_fetched, 40);
    assert_eq!(summary.handed_over, 40);
    assert_eq!(summary.completed, 1);
    let handed: Vec<String> = invocations_of(&requests, &deployment.detect)
        .iter()
        .flat_map(|r| serde_json::from_str::<Batch>(&r.body).unwrap().events)
        .map(|e| e.id)
        .collect();
    assert_eq!(handed.len(), 40);
    assert_eq!(handed.into_iter().collect::<BTreeSet<_>>(), ids(&events));
    let cursors =
        jcwatch_aws::DynamoCursorStore::new(deployment.moto.dynamodb(), &deployment.cursor_table);
    let cursor = cursors.load(org).await.unwrap().expect("cursor saved");
    assert!(cursor.high_water.is_some());
}

#[tokio::test]
async fn more_organisations_than_a_shard_are_handed_to_further_invocations() {
    let orgs: Vec<String> = (1..=5).map(|i| format!("0rg{i:021}")).collect();
    let mut builder = Simulator::builder().msp_api_key(API_KEY, orgs.clone());
    for org in &orgs {
        builder = builder.events(org, recent_events(org, 3));
    }
    let sim = builder.start().await.unwrap();
    let mut deployment = Deployment::new(&sim, &orgs.join(",")).await;
    deployment
        .env
        .insert(POLL_SHARD_SIZE_ENV.to_string(), "2".to_string());
    let itself = deployment.lambda.create_function("poll").await;
    let function = deployment.function();

    let (result, requests) = deployment
        .lambda
        .record(function.handle(scheduler_event(), None, &itself))
        .await;

    let summary = result.unwrap();
    assert_eq!((summary.orgs, summary.shards_dispatched), (2, 2));
    assert_eq!(summary.handed_over, 6, "its own two organisations' events");
    let shards: Vec<Value> = invocations_of(&requests, &itself)
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(
        shards,
        vec![
            json!({"orgs": [orgs[2], orgs[3]]}),
            json!({"orgs": [orgs[4]]})
        ]
    );
}

#[tokio::test]
async fn a_shard_invocation_polls_only_its_organisations_and_hands_nothing_on() {
    let orgs: Vec<String> = (1..=5).map(|i| format!("0rg{i:021}")).collect();
    let mut builder = Simulator::builder().msp_api_key(API_KEY, orgs.clone());
    for org in &orgs {
        builder = builder.events(org, recent_events(org, 3));
    }
    let sim = builder.start().await.unwrap();
    let mut deployment = Deployment::new(&sim, &orgs.join(",")).await;
    deployment
        .env
        .insert(POLL_SHARD_SIZE_ENV.to_string(), "2".to_string());
    let function = deployment.function();

    let summary = function
        .handle(json!({"orgs": [orgs[2], orgs[3]]}), None, "jcwatch-poll")
        .await
        .unwrap();

    assert_eq!(summary.trigger, "shard");
    assert_eq!((summary.orgs, summary.shards_dispatched), (2, 0));
    assert_eq!(summary.handed_over, 6);
    let polled: BTreeSet<String> = sim.requests().into_iter().flat_map(|r| r.org_ids).collect();
    assert_eq!(polled, BTreeSet::from([orgs[2].clone(), orgs[3].clone()]));
}

#[tokio::test]
async fn a_missing_secret_fails_the_invocation_as_fatal_before_any_request() {
    let org = "60a1b2c3d4e5f6a7b8c9d0e2";
    let sim = simulator(org, recent_events(org, 3)).await;
    let mut deployment = Deployment::new(&sim, org).await;
    deployment.env.insert(
        JC_SECRET_ARN_ENV.to_string(),
        "jcwatch/never-created".to_string(),
    );
    let function = deployment.function();

    let error = function
        .handle(scheduler_event(), None, "jcwatch-poll")
        .await
        .unwrap_err();

    assert_eq!(error.category, ErrorCategory::Fatal);
    assert!(
        error.message.contains("jcwatch/never-created"),
        "{}",
        error.message
    );
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn a_revoked_key_fails_the_invocation_as_fatal() {
    let org = "60a1b2c3d4e5f6a7b8c9d0e3";
    let sim = simulator(org, recent_events(org, 3)).await;
    let mut deployment = Deployment::new(&sim, org).await;
    let revoked = deployment
        .moto
        .create_secret("jc", "jca_revoked_key_value_0000000000")
        .await;
    deployment
        .env
        .insert(JC_SECRET_ARN_ENV.to_string(), revoked);
    let function = deployment.function();

    let error = function
        .handle(scheduler_event(), None, "jcwatch-poll")
        .await
        .unwrap_err();

    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "Fatal");
    assert!(
        diagnostic.error_message.contains("401"),
        "{}",
        diagnostic.error_message
    );
    assert!(!diagnostic.error_message.contains("jca_revoked_key_value"));
}

#[tokio::test]
async fn a_misconfigured_function_names_every_problem_in_each_invocation() {
    let function = PollFunction::new(
        FunctionConfig::from_lookup(|_| None),
        AwsClients::from_sdk(&Moto::connect().await.sdk),
    );

    let error = function
        .handle(json!({}), None, "jcwatch-poll")
        .await
        .unwrap_err();

    assert_eq!(error.category, ErrorCategory::BadInput);
    for name in [
        JC_SECRET_ARN_ENV,
        CURSOR_TABLE_ENV,
        DETECT_FUNCTION_ENV,
        TOPIC_ARN_ENV,
    ] {
        assert!(error.message.contains(name), "{}", error.message);
    }
}
