//! The JumpCloud Directory Insights client.
//!
//! It reads the audit log page by page (`POST /insights/directory/v1/events`, ascending,
//! `search_after` paging until `X-Result-Count < X-Limit`), authenticating with an API key or a
//! service account's OAuth token, for one organisation at a time (`x-org-id`), on the US, EU or
//! India host. 429, 5xx and transport errors are retried with exponential backoff and full
//! jitter, honouring `Retry-After`, within a bound on attempts and on total time; 401, 402 and
//! 403 are fatal and say what to check. No credential ever appears in a log line, an error or
//! a `Debug` output.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use jcwatch_dirinsights::{Client, ClientConfig, Credential, Region, Secret};
//! let mut config = ClientConfig::new(Credential::ApiKey(Secret::new("jca_...")));
//! config.region = "eu".parse::<Region>()?;
//! let client = Client::new(config)?;
//! # let _ = client;
//! # Ok(()) }
//! ```
//!
//! The client implements [`jcwatch_core::ports::EventSource`] for the poll use case, and
//! [`jcwatch_core::directory::UserDirectory`] and [`jcwatch_core::directory::ActivitySource`]
//! for enrichment: the same credential, host selection, retries and error handling serve
//! JumpCloud's user, administrator and group APIs, on the region's console host.

mod client;
mod config;
mod directory;
mod error;
mod page;
mod retry;
mod secret;
mod source;

pub use client::{Client, USER_AGENT};
pub use config::{
    ClientConfig, ConfigError, Credential, DEFAULT_TOKEN_URL, MAX_PAGE_LIMIT, Region, RetryPolicy,
    UnknownRegion,
};
pub use directory::{MAX_GROUPS, profile_from_admin, profile_from_user};
pub use error::{ClientError, Endpoint};
pub use secret::{REDACTED, Secret};
