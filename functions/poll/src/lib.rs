//! The poll Lambda: configuration from the environment, the per-invocation handler, and the
//! split of many organisations into shards handed to further invocations of itself. The
//! poll itself is `jcwatch_core::poll`; this crate wires it to AWS.

pub mod config;
pub mod error;
pub mod handler;
pub mod shard;

pub use config::{ConfigError, FunctionConfig};
pub use error::FunctionError;
pub use handler::{AwsClients, InvocationSummary, PollFunction, Trigger, poll_deadline};
pub use shard::{ShardPlan, plan_shards};
