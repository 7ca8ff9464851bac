//! The poll Lambda's entry point: JSON logs, configuration and SDK clients once per cold
//! start, then the runtime loop. Everything else is in the `poll_function` library.

use poll_function::{AwsClients, FunctionConfig, PollFunction};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // CloudWatch stamps each line itself and shows no colours.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .without_time()
        .with_ansi(false)
        .with_target(false)
        .with_current_span(false)
        .init();

    let config = FunctionConfig::from_env();
    if let Err(e) = &config {
        tracing::error!(error = %e, "poll function misconfigured; every invocation will fail");
    }
    let sdk = jcwatch_aws::load_sdk_config().await;
    let function = PollFunction::new(config, AwsClients::from_sdk(&sdk));

    // Boxed: the handler's future nested in the runtime's is deeper than the compiler's
    // default layout recursion limit.
    lambda_runtime::run(lambda_runtime::service_fn(|event| {
        Box::pin(function.invoke(event))
    }))
    .await
}
