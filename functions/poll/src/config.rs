//! The poll function's configuration, read once per cold start from its environment.
//!
//! Every variable is named by a `pub const <NAME>_ENV` here and read nowhere else, so the
//! Terraform wiring test can check that the module sets each one. All problems are collected
//! and reported together, each naming its variable.

use std::fmt;
use std::time::Duration;

use jcwatch_aws::S3Location;
use jcwatch_dirinsights::Region;
use jcwatch_model::time::parse_duration;

/// Secrets Manager secret (name or ARN) holding the JumpCloud credential. Required.
pub const JC_SECRET_ARN_ENV: &str = "JC_SECRET_ARN";
/// JumpCloud region: `us` (default), `eu` or `in`.
pub const JC_REGION_ENV: &str = "JC_REGION";
/// Overrides the region's API host (tests, proxies).
pub const JC_BASE_URL_ENV: &str = "JC_BASE_URL";
/// Comma-separated organisation ids for an MSP key; unset polls the key's own organisation.
pub const JC_ORG_IDS_ENV: &str = "JC_ORG_IDS";
/// DynamoDB table of the cursors. Required.
pub const CURSOR_TABLE_ENV: &str = "CURSOR_TABLE";
/// The detect function batches are handed to. Required.
pub const DETECT_FUNCTION_ENV: &str = "DETECT_FUNCTION";
/// SNS topic for operational notifications. Required.
pub const TOPIC_ARN_ENV: &str = "TOPIC_ARN";
/// How far behind now the window ends (a duration like `2m`); overrides the config file.
pub const POLL_LAG_ENV: &str = "POLL_LAG";
/// How far below the cursor the next window starts; overrides the config file.
pub const POLL_OVERLAP_ENV: &str = "POLL_OVERLAP";
/// How far back an organisation's first poll reads; overrides the config file.
pub const POLL_BACKFILL_ENV: &str = "POLL_BACKFILL";
/// Organisations one invocation polls; more are handed to further invocations. Default 25.
pub const POLL_SHARD_SIZE_ENV: &str = "POLL_SHARD_SIZE";
/// `s3://bucket/key` of the TOML configuration file; its `[poll]` section applies.
pub const JCWATCH_CONFIG_S3_ENV: &str = "JCWATCH_CONFIG_S3";

/// Default organisations per invocation.
pub const DEFAULT_SHARD_SIZE: usize = 25;

/// Longest lag and backfill accepted, the same bounds the configuration file has.
const MAX_LAG: Duration = Duration::from_secs(3_600);
const MAX_BACKFILL: Duration = Duration::from_secs(90 * 86_400);

/// The poll function's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    pub secret_id: String,
    pub region: Region,
    pub base_url: Option<String>,
    /// `[None]` for the key's own organisation, else the listed ids, in order, without
    /// repeats.
    pub orgs: Vec<Option<String>>,
    pub cursor_table: String,
    pub detect_function: String,
    pub topic_arn: String,
    pub lag: Option<Duration>,
    pub overlap: Option<Duration>,
    pub backfill: Option<Duration>,
    pub shard_size: usize,
    pub config_s3: Option<S3Location>,
}

/// Everything wrong with the environment, one line per problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the poll function's environment is not usable:")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl FunctionConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<FunctionConfig, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (the environment, or a map in tests). An empty
    /// value counts as unset.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<FunctionConfig, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut required = |name: &str, what: &str| {
            get(name).unwrap_or_else(|| {
                problems.push(format!("{name} is not set: it must name {what}"));
                String::new()
            })
        };

        let secret_id = required(
            JC_SECRET_ARN_ENV,
            "the Secrets Manager secret with the JumpCloud credential",
        );
        let cursor_table = required(CURSOR_TABLE_ENV, "the DynamoDB cursor table");
        let detect_function = required(DETECT_FUNCTION_ENV, "the detect Lambda function");
        let topic_arn = required(TOPIC_ARN_ENV, "the SNS topic for notifications");

        let region = match get(JC_REGION_ENV) {
            None => Region::Us,
            Some(text) => text.parse().unwrap_or_else(|e| {
                problems.push(format!("{JC_REGION_ENV}: {e}"));
                Region::Us
            }),
        };
        let base_url = get(JC_BASE_URL_ENV);
        if let Some(url) = &base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            problems.push(format!(
                "{JC_BASE_URL_ENV} {url:?} must start with https:// or http://"
            ));
        }
        let orgs = match get(JC_ORG_IDS_ENV) {
            None => vec![None],
            Some(text) => parse_org_ids(&text).unwrap_or_else(|problem| {
                problems.push(format!("{JC_ORG_IDS_ENV}: {problem}"));
                Vec::new()
            }),
        };

        let mut duration = |name: &str| {
            get(name).and_then(|text| match parse_duration(&text) {
                Ok(d) => Some(d),
                Err(e) => {
                    problems.push(format!("{name}: {e}"));
                    None
                }
            })
        };
        let lag = duration(POLL_LAG_ENV);
        let overlap = duration(POLL_OVERLAP_ENV);
        let backfill = duration(POLL_BACKFILL_ENV);
        if lag.is_some_and(|l| l > MAX_LAG) {
            problems.push(format!("{POLL_LAG_ENV} must be at most 1h"));
        }
        if overlap.is_some_and(|o| o.is_zero()) {
            problems.push(format!(
                "{POLL_OVERLAP_ENV} must be more than zero, or events arriving late are missed"
            ));
        }
        if backfill.is_some_and(|b| b > MAX_BACKFILL) {
            problems.push(format!(
                "{POLL_BACKFILL_ENV} must be at most 90d (Directory Insights keeps 90 days)"
            ));
        }

        let shard_size = match get(POLL_SHARD_SIZE_ENV) {
            None => DEFAULT_SHARD_SIZE,
            Some(text) => match text.parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    problems.push(format!(
                        "{POLL_SHARD_SIZE_ENV} {text:?} must be a whole number of at least 1"
                    ));
                    DEFAULT_SHARD_SIZE
                }
            },
        };
        let config_s3 = get(JCWATCH_CONFIG_S3_ENV).and_then(|text| match text.parse() {
            Ok(location) => Some(location),
            Err(e) => {
                problems.push(format!("{JCWATCH_CONFIG_S3_ENV}: {e}"));
                None
            }
        });

        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(FunctionConfig {
            secret_id,
            region,
            base_url,
            orgs,
            cursor_table,
            detect_function,
            topic_arn,
            lag,
            overlap,
            backfill,
            shard_size,
            config_s3,
        })
    }
}

/// Splits a comma-separated list of organisation ids, dropping empty entries and repeats.
/// Ids are JumpCloud object ids; anything but letters, digits, `-` and `_` is a mistake
/// (a stray quote or space from copying), rejected rather than sent as a header.
pub fn parse_org_ids(text: &str) -> Result<Vec<Option<String>>, String> {
    let mut orgs: Vec<Option<String>> = Vec::new();
    for id in text.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "{id:?} is not an organisation id (letters, digits, - and _ only)"
            ));
        }
        let id = Some(id.to_string());
        if !orgs.contains(&id) {
            orgs.push(id);
        }
    }
    if orgs.is_empty() {
        return Err("lists no organisation id; leave it unset to poll the key's own".into());
    }
    Ok(orgs)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const MINIMAL: &[(&str, &str)] = &[
        (
            JC_SECRET_ARN_ENV,
            "arn:aws:secretsmanager:us-east-1:1:secret:jc",
        ),
        (CURSOR_TABLE_ENV, "jcwatch-cursors"),
        (DETECT_FUNCTION_ENV, "jcwatch-detect"),
        (TOPIC_ARN_ENV, "arn:aws:sns:us-east-1:1:jcwatch"),
    ];

    #[test]
    fn the_minimal_environment_polls_the_own_organisation_in_the_us() {
        let config = FunctionConfig::from_lookup(lookup(MINIMAL)).unwrap();

        assert_eq!(config.region, Region::Us);
        assert_eq!(config.orgs, vec![None]);
        assert_eq!(config.shard_size, DEFAULT_SHARD_SIZE);
        assert_eq!(config.cursor_table, "jcwatch-cursors");
        assert_eq!(
            (config.lag, config.overlap, config.backfill),
            (None, None, None)
        );
        assert_eq!(config.config_s3, None);
    }

    #[test]
    fn every_missing_required_variable_is_named_at_once() {
        let error = FunctionConfig::from_lookup(lookup(&[])).unwrap_err();

        let text = error.to_string();
        assert_eq!(error.problems.len(), 4, "{text}");
        for name in [
            JC_SECRET_ARN_ENV,
            CURSOR_TABLE_ENV,
            DETECT_FUNCTION_ENV,
            TOPIC_ARN_ENV,
        ] {
            assert!(text.contains(name), "{name} missing from: {text}");
        }
    }

    #[test]
    fn every_bad_optional_value_is_named_at_once() {
        let mut pairs = MINIMAL.to_vec();
        pairs.extend([
            (JC_REGION_ENV, "mars"),
            (JC_BASE_URL_ENV, "api.example.com"),
            (JC_ORG_IDS_ENV, "abc, 'def'"),
            (POLL_LAG_ENV, "5 minutes"),
            (POLL_OVERLAP_ENV, "0s"),
            (POLL_BACKFILL_ENV, "365d"),
            (POLL_SHARD_SIZE_ENV, "0"),
            (JCWATCH_CONFIG_S3_ENV, "bucket/key.toml"),
        ]);

        let error = FunctionConfig::from_lookup(lookup(&pairs)).unwrap_err();

        let text = error.to_string();
        assert_eq!(error.problems.len(), 8, "{text}");
        for name in [
            JC_REGION_ENV,
            JC_BASE_URL_ENV,
            JC_ORG_IDS_ENV,
            POLL_LAG_ENV,
            POLL_OVERLAP_ENV,
            POLL_BACKFILL_ENV,
            POLL_SHARD_SIZE_ENV,
            JCWATCH_CONFIG_S3_ENV,
        ] {
            assert!(text.contains(name), "{name} missing from: {text}");
        }
    }

    #[test]
    fn optional_values_are_read_when_set() {
        let mut pairs = MINIMAL.to_vec();
        pairs.extend([
            (JC_REGION_ENV, "EU"),
            (JC_BASE_URL_ENV, "http://127.0.0.1:8080"),
            (JC_ORG_IDS_ENV, " org-a,org-b,,org-a "),
            (POLL_LAG_ENV, "90s"),
            (POLL_OVERLAP_ENV, "10m"),
            (POLL_BACKFILL_ENV, "7d"),
            (POLL_SHARD_SIZE_ENV, "10"),
            (JCWATCH_CONFIG_S3_ENV, "s3://cfg/jcwatch.toml"),
        ]);

        let config = FunctionConfig::from_lookup(lookup(&pairs)).unwrap();

        assert_eq!(config.region, Region::Eu);
        assert_eq!(config.base_url.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(
            config.orgs,
            vec![Some("org-a".into()), Some("org-b".into())]
        );
        assert_eq!(config.lag, Some(Duration::from_secs(90)));
        assert_eq!(config.overlap, Some(Duration::from_secs(600)));
        assert_eq!(config.backfill, Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(config.shard_size, 10);
        assert_eq!(
            config.config_s3.unwrap().to_string(),
            "s3://cfg/jcwatch.toml"
        );
    }

    #[test]
    fn an_org_list_of_only_commas_is_a_mistake() {
        assert!(
            parse_org_ids(" , ,")
                .unwrap_err()
                .contains("no organisation id")
        );
    }
}
