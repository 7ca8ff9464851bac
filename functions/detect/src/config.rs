//! The detect function's settings from its environment, read once per cold start. Every
//! variable the function reads is named by a `*_ENV` constant here, and every missing or
//! bad one is reported at once.

use std::fmt;

use jcwatch_aws::S3Location;
use jcwatch_dirinsights::Region;

/// The DynamoDB alerts table.
pub const ALERTS_TABLE_ENV: &str = "ALERTS_TABLE";
/// The DynamoDB rule-state table.
pub const STATE_TABLE_ENV: &str = "STATE_TABLE";
/// The SNS topic notifications are published to.
pub const TOPIC_ARN_ENV: &str = "TOPIC_ARN";
/// Optional `s3://bucket/key` of the TOML configuration; the embedded defaults without it.
pub const JCWATCH_CONFIG_S3_ENV: &str = "JCWATCH_CONFIG_S3";
/// The DynamoDB enrichment cache (profiles, address history). Required with
/// `JC_SECRET_ARN`; without either, the cache lives in the instance's memory.
pub const CACHE_TABLE_ENV: &str = "CACHE_TABLE";
/// Secrets Manager secret (name or ARN) of the JumpCloud credential enrichment looks people
/// up with. Optional: unset, enrichment adds address context only.
pub const JC_SECRET_ARN_ENV: &str = "JC_SECRET_ARN";
/// JumpCloud region of the directory: `us` (default), `eu` or `in`.
pub const JC_REGION_ENV: &str = "JC_REGION";
/// Overrides the region's API hosts (tests, proxies).
pub const JC_BASE_URL_ENV: &str = "JC_BASE_URL";

/// The detect function's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectEnv {
    pub alerts_table: String,
    pub state_table: String,
    pub topic_arn: String,
    pub config_s3: Option<S3Location>,
    /// Enrichment's JumpCloud settings; `None` when `JC_SECRET_ARN` is unset.
    pub jumpcloud: Option<JumpCloudEnv>,
    pub cache_table: Option<String>,
}

/// Where enrichment finds JumpCloud.
#[derive(Debug, Clone, PartialEq)]
pub struct JumpCloudEnv {
    pub secret_id: String,
    pub region: Region,
    pub base_url: Option<String>,
}

/// Every problem with the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct EnvError {
    pub problems: Vec<String>,
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the detect function is misconfigured: {}",
            self.problems.join("; ")
        )
    }
}

impl DetectEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let mut problems = Vec::new();
        let mut required = |name: &str| match lookup(name).map(|v| v.trim().to_string()) {
            Some(value) if !value.is_empty() => value,
            _ => {
                problems.push(format!("{name} is not set"));
                String::new()
            }
        };
        let alerts_table = required(ALERTS_TABLE_ENV);
        let state_table = required(STATE_TABLE_ENV);
        let topic_arn = required(TOPIC_ARN_ENV);

        let config_s3 = match lookup(JCWATCH_CONFIG_S3_ENV).map(|v| v.trim().to_string()) {
            Some(value) if !value.is_empty() => match value.parse::<S3Location>() {
                Ok(location) => Some(location),
                Err(e) => {
                    problems.push(format!("{JCWATCH_CONFIG_S3_ENV}: {e}"));
                    None
                }
            },
            _ => None,
        };
        if !topic_arn.is_empty() && !topic_arn.starts_with("arn:") {
            problems.push(format!("{TOPIC_ARN_ENV} {topic_arn:?} is not an ARN"));
        }

        let optional = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let cache_table = optional(CACHE_TABLE_ENV);
        let region = match optional(JC_REGION_ENV) {
            None => Region::default(),
            Some(text) => text.parse::<Region>().unwrap_or_else(|e| {
                problems.push(format!("{JC_REGION_ENV}: {e}"));
                Region::default()
            }),
        };
        let jumpcloud = optional(JC_SECRET_ARN_ENV).map(|secret_id| JumpCloudEnv {
            secret_id,
            region,
            base_url: optional(JC_BASE_URL_ENV),
        });
        if jumpcloud.is_some() && cache_table.is_none() {
            problems.push(format!(
                "{CACHE_TABLE_ENV} is not set; with {JC_SECRET_ARN_ENV} set, enrichment looks \
                 people up and needs its cache table"
            ));
        }

        if !problems.is_empty() {
            return Err(EnvError { problems });
        }
        Ok(DetectEnv {
            alerts_table,
            state_table,
            topic_arn,
            config_s3,
            jumpcloud,
            cache_table,
        })
    }
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

    #[test]
    fn every_missing_variable_is_named_at_once() {
        let error =
            DetectEnv::from_lookup(lookup(&[(JCWATCH_CONFIG_S3_ENV, "bucket/key")])).unwrap_err();

        let text = error.to_string();
        for name in [
            ALERTS_TABLE_ENV,
            STATE_TABLE_ENV,
            TOPIC_ARN_ENV,
            JCWATCH_CONFIG_S3_ENV,
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        assert_eq!(error.problems.len(), 4);
    }

    #[test]
    fn a_complete_environment_gives_the_settings() {
        let env = DetectEnv::from_lookup(lookup(&[
            (ALERTS_TABLE_ENV, "alerts"),
            (STATE_TABLE_ENV, "state"),
            (TOPIC_ARN_ENV, "arn:aws:sns:us-east-1:123456789012:jcwatch"),
            (JCWATCH_CONFIG_S3_ENV, "s3://cfg/jcwatch.toml"),
        ]))
        .unwrap();

        assert_eq!(env.alerts_table, "alerts");
        assert_eq!(env.config_s3.unwrap().key, "jcwatch.toml");
    }

    #[test]
    fn enrichment_settings_are_read_when_a_secret_is_named() {
        let env = DetectEnv::from_lookup(lookup(&[
            (ALERTS_TABLE_ENV, "alerts"),
            (STATE_TABLE_ENV, "state"),
            (TOPIC_ARN_ENV, "arn:aws:sns:us-east-1:123456789012:jcwatch"),
            (CACHE_TABLE_ENV, "cache"),
            (
                JC_SECRET_ARN_ENV,
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:jc",
            ),
            (JC_REGION_ENV, "eu"),
        ]))
        .unwrap();

        let jumpcloud = env.jumpcloud.unwrap();
        assert_eq!(jumpcloud.region, Region::Eu);
        assert_eq!(env.cache_table.as_deref(), Some("cache"));
    }

    #[test]
    fn a_secret_without_a_cache_table_or_a_bad_region_is_named() {
        let error = DetectEnv::from_lookup(lookup(&[
            (ALERTS_TABLE_ENV, "alerts"),
            (STATE_TABLE_ENV, "state"),
            (TOPIC_ARN_ENV, "arn:aws:sns:us-east-1:123456789012:jcwatch"),
            (JC_SECRET_ARN_ENV, "jc"),
            (JC_REGION_ENV, "mars"),
        ]))
        .unwrap_err();

        let text = error.to_string();
        assert!(text.contains("CACHE_TABLE is not set"), "{text}");
        assert!(text.contains("JC_REGION"), "{text}");
        assert_eq!(error.problems.len(), 2);
    }

    #[test]
    fn without_a_secret_enrichment_needs_nothing_more() {
        let env = DetectEnv::from_lookup(lookup(&[
            (ALERTS_TABLE_ENV, "alerts"),
            (STATE_TABLE_ENV, "state"),
            (TOPIC_ARN_ENV, "arn:aws:sns:us-east-1:123456789012:jcwatch"),
        ]))
        .unwrap();

        assert_eq!(env.jumpcloud, None);
        assert_eq!(env.cache_table, None);
    }

    #[test]
    fn the_configuration_location_is_optional() {
        let env = DetectEnv::from_lookup(lookup(&[
            (ALERTS_TABLE_ENV, "alerts"),
            (STATE_TABLE_ENV, "state"),
            (TOPIC_ARN_ENV, "arn:aws:sns:us-east-1:123456789012:jcwatch"),
        ]))
        .unwrap();

        assert_eq!(env.config_s3, None);
    }
}
