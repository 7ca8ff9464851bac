//! The detect Lambda: set up JSON logs, read the settings and the configuration file once,
//! build the SDK clients, the rule engine and the enricher once, then hand each invocation to
//! [`detect::handler::App::handle`].

use detect::config::DetectEnv;
use detect::handler::App;
use jcwatch_aws::alerts::DynamoAlertStore;
use jcwatch_aws::state::DynamoStateStore;
use jcwatch_aws::{S3ConfigLoader, SnsNotifier, load_sdk_config, s3_client};
use jcwatch_core::ports::SystemClock;
use jcwatch_detection::config::Config;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        // CloudWatch stamps every line itself.
        .without_time()
        .with_current_span(false)
        .init();

    let env = DetectEnv::from_env()?;
    let sdk = load_sdk_config().await;
    let mut config = match &env.config_s3 {
        Some(location) => {
            let text = S3ConfigLoader::new(s3_client(&sdk))
                .load_text(&location.to_string())
                .await?;
            Config::from_toml_named(&text, &location.to_string())?
        }
        None => Config::default(),
    };
    let lists = detect::enrichment::load_lists(&mut config, &sdk).await?;
    let engine = jcwatch_detection::engine::build(&config)?;
    let enricher = detect::enrichment::build(&env, &config, &lists, &sdk).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);

    let app = App {
        engine: Box::new(engine),
        alerts: Box::new(DynamoAlertStore::new(dynamo.clone(), &env.alerts_table)),
        state: Box::new(DynamoStateStore::new(dynamo, &env.state_table)),
        notifier: Box::new(SnsNotifier::new(
            aws_sdk_sns::Client::new(&sdk),
            &env.topic_arn,
        )),
        clock: Box::new(SystemClock),
        config,
        enricher: Some(enricher),
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event.payload).await
    }))
    .await
}
