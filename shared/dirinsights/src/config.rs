//! What a [`crate::Client`] is built from: the credential, the host, the retry policy, and the
//! checks that turn a bad setting into one clear error before any request is sent.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Url;

use crate::secret::Secret;

/// JumpCloud's default OAuth token endpoint for service accounts.
pub const DEFAULT_TOKEN_URL: &str = "https://admin-oauth.id.jumpcloud.com/oauth2/token";

/// The largest page Directory Insights serves; larger requests silently get 1000 instead.
pub const MAX_PAGE_LIMIT: u32 = 10_000;

/// The JumpCloud region whose API host serves the organisation's data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Region {
    /// `https://api.jumpcloud.com`
    #[default]
    Us,
    /// `https://api.eu.jumpcloud.com`
    Eu,
    /// `https://api.in.jumpcloud.com`
    In,
}

impl Region {
    /// The API base URL of the region.
    pub fn base_url(self) -> &'static str {
        match self {
            Self::Us => "https://api.jumpcloud.com",
            Self::Eu => "https://api.eu.jumpcloud.com",
            Self::In => "https://api.in.jumpcloud.com",
        }
    }

    /// The base URL of the region's directory API (`/api/systemusers`, `/api/v2/...`), which
    /// JumpCloud serves from the console host rather than the Directory Insights host.
    ///
    /// N.B. the US and EU hosts are documented; the India host follows the same pattern and
    /// is not confirmed by a public source. `directory_base_url` overrides it.
    pub fn directory_base_url(self) -> &'static str {
        match self {
            Self::Us => "https://console.jumpcloud.com",
            Self::Eu => "https://console.eu.jumpcloud.com",
            Self::In => "https://console.in.jumpcloud.com",
        }
    }

    /// The short name used in configuration (`us`, `eu`, `in`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Us => "us",
            Self::Eu => "eu",
            Self::In => "in",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A region name that is not `us`, `eu` or `in`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown JumpCloud region {0:?}: use us, eu or in")]
pub struct UnknownRegion(pub String);

impl FromStr for Region {
    type Err = UnknownRegion;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "us" => Ok(Self::Us),
            "eu" => Ok(Self::Eu),
            "in" => Ok(Self::In),
            _ => Err(UnknownRegion(text.to_owned())),
        }
    }
}

/// How the client proves who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An administrator's API key, sent as `x-api-key`.
    ApiKey(Secret),
    /// A JumpCloud service account: its client id and secret are exchanged for a bearer token
    /// (OAuth client credentials), which is cached until shortly before it expires.
    ServiceAccount {
        client_id: String,
        client_secret: Secret,
    },
}

impl Credential {
    /// Reads a stored credential (a Secrets Manager value, a file): either the bare API key,
    /// or JSON `{"api_key": "..."}`, or JSON `{"client_id": "...", "client_secret": "..."}`.
    ///
    /// The error never quotes the text, which is secret.
    pub fn from_secret_text(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        let refuse = |problem: String| ConfigError {
            problems: vec![problem],
        };
        if text.is_empty() {
            return Err(refuse("the stored credential is empty".to_owned()));
        }
        if !text.starts_with('{') {
            return Ok(Self::ApiKey(Secret::new(text)));
        }

        let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(text) else {
            return Err(refuse(
                "the stored credential starts like JSON but is not a JSON object".to_owned(),
            ));
        };
        let field = |name: &str| {
            fields
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        match (field("api_key"), field("client_id"), field("client_secret")) {
            (Some(key), None, None) => Ok(Self::ApiKey(Secret::new(key))),
            (None, Some(client_id), Some(client_secret)) => Ok(Self::ServiceAccount {
                client_id: client_id.to_owned(),
                client_secret: Secret::new(client_secret),
            }),
            _ => {
                let mut names: Vec<&str> = fields.keys().map(String::as_str).take(10).collect();
                names.sort_unstable();
                Err(refuse(format!(
                    "the stored credential must hold a non-empty \"api_key\", or both \"client_id\" \
                     and \"client_secret\" (and not both kinds); it has the keys {names:?}"
                )))
            }
        }
    }

    /// Every secret value this credential holds, to scrub from text that leaves the client.
    pub(crate) fn secrets(&self) -> Vec<&Secret> {
        match self {
            Self::ApiKey(key) => vec![key],
            Self::ServiceAccount { client_secret, .. } => vec![client_secret],
        }
    }
}

/// How often and how long the client retries 429, 5xx and transport errors.
///
/// The delay before retry `n` (1-based) is drawn uniformly from `[0, min(max_delay,
/// base_delay * 2^(n-1))]` ("full jitter"), unless the server sent `Retry-After`, which wins.
/// Retrying stops at `max_attempts` attempts in all, or when the next wait would end after
/// `max_total` from the first attempt, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included; at least 1.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The whole budget for one call, waits and attempts included.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_total: Duration::from_secs(120),
        }
    }
}

/// Everything a [`crate::Client`] needs. Build with [`ClientConfig::new`] and adjust the
/// public fields.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub credential: Credential,
    /// Which JumpCloud host to call, unless `base_url` is set.
    pub region: Region,
    /// Overrides the region's host (tests, proxies), like `http://127.0.0.1:8080`.
    pub base_url: Option<String>,
    /// Overrides the region's directory host (`/api/systemusers`, `/api/v2/...`). Without
    /// it, a `base_url` override serves the directory too (the simulator serves both).
    pub directory_base_url: Option<String>,
    /// Overrides the service-account token endpoint (tests).
    pub token_url: Option<String>,
    pub retry: RetryPolicy,
    /// Longest wait for one HTTP answer; a page of 10,000 events can take a while.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Events per page asked for; the server may answer with fewer (see `X-Limit`).
    pub page_limit: u32,
}

impl ClientConfig {
    /// The defaults: US region, 10,000 events per page, [`RetryPolicy::default`].
    pub fn new(credential: Credential) -> Self {
        Self {
            credential,
            region: Region::Us,
            base_url: None,
            directory_base_url: None,
            token_url: None,
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            page_limit: MAX_PAGE_LIMIT,
        }
    }

    /// The API base URL the client will call: the override, else the region's host.
    pub fn effective_base_url(&self) -> &str {
        self.base_url
            .as_deref()
            .unwrap_or_else(|| self.region.base_url())
    }

    /// The directory API base URL the client will call: its own override, else the
    /// `base_url` override, else the region's console host.
    pub fn effective_directory_base_url(&self) -> &str {
        self.directory_base_url
            .as_deref()
            .or(self.base_url.as_deref())
            .unwrap_or_else(|| self.region.directory_base_url())
    }

    /// Checks every setting and reports all problems at once.
    pub(crate) fn validate(&self) -> Result<Validated, ConfigError> {
        let mut problems = Vec::new();

        match &self.credential {
            Credential::ApiKey(key) if key.is_empty() => {
                problems.push("the API key is empty".to_owned());
            }
            Credential::ServiceAccount {
                client_id,
                client_secret,
            } => {
                if client_id.trim().is_empty() {
                    problems.push("the service account's client id is empty".to_owned());
                }
                if client_secret.is_empty() {
                    problems.push("the service account's client secret is empty".to_owned());
                }
            }
            Credential::ApiKey(_) => {}
        }
        let base = parse_http_url("base URL", self.effective_base_url(), &mut problems);
        let events_url = base
            .as_ref()
            .and_then(|base| events_url(base, &mut problems));
        // A `base_url` override serves the directory too; it is checked once, above.
        let directory_base = match (&self.directory_base_url, &self.base_url) {
            (None, Some(_)) => base,
            _ => parse_http_url(
                "directory base URL",
                self.effective_directory_base_url(),
                &mut problems,
            ),
        };
        let directory_url = directory_base.and_then(|base| directory_url(&base, &mut problems));
        let token_url = parse_http_url(
            "token URL",
            self.token_url.as_deref().unwrap_or(DEFAULT_TOKEN_URL),
            &mut problems,
        );
        if self.retry.max_attempts == 0 {
            problems.push("retry.max_attempts must be at least 1".to_owned());
        }
        if self.retry.max_delay < self.retry.base_delay {
            problems.push(format!(
                "retry.max_delay ({:?}) is shorter than retry.base_delay ({:?})",
                self.retry.max_delay, self.retry.base_delay
            ));
        }
        if self.request_timeout.is_zero() {
            problems.push("request_timeout must be longer than zero".to_owned());
        }
        if !(1..=MAX_PAGE_LIMIT).contains(&self.page_limit) {
            problems.push(format!(
                "page_limit {} is outside 1..={MAX_PAGE_LIMIT}",
                self.page_limit
            ));
        }

        match (events_url, directory_url, token_url) {
            (Some(events_url), Some(directory_url), Some(token_url)) if problems.is_empty() => {
                Ok(Validated {
                    events_url,
                    directory_url,
                    token_url,
                })
            }
            _ => Err(ConfigError { problems }),
        }
    }
}

/// The URLs a valid configuration resolves to.
pub(crate) struct Validated {
    pub events_url: Url,
    /// The directory base with a trailing slash, so relative paths (`api/systemusers`) join
    /// under any path prefix it carries.
    pub directory_url: Url,
    pub token_url: Url,
}

fn parse_http_url(what: &str, text: &str, problems: &mut Vec<String>) -> Option<Url> {
    let url = match Url::parse(text.trim()) {
        Ok(url) => url,
        Err(e) => {
            problems.push(format!("the {what} {text:?} is not a URL: {e}"));
            return None;
        }
    };
    if !matches!(url.scheme(), "http" | "https") {
        problems.push(format!(
            "the {what} {text:?} must start with https:// or http://"
        ));
        return None;
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        problems.push(format!(
            "the {what} {text:?} must not carry a query, a fragment or user information"
        ));
        return None;
    }
    Some(url)
}

fn events_url(base: &Url, problems: &mut Vec<String>) -> Option<Url> {
    // Keep any path prefix of the base (a proxy mounted under /jc, say).
    let path = format!(
        "{}/insights/directory/v1/events",
        base.path().trim_end_matches('/')
    );
    let mut url = base.clone();
    url.set_path(&path);
    if url.cannot_be_a_base() {
        problems.push(format!("the base URL {base} cannot carry a path"));
        return None;
    }
    Some(url)
}

fn directory_url(base: &Url, problems: &mut Vec<String>) -> Option<Url> {
    if base.cannot_be_a_base() {
        problems.push(format!("the directory base URL {base} cannot carry a path"));
        return None;
    }
    let mut url = base.clone();
    let path = format!("{}/", base.path().trim_end_matches('/'));
    url.set_path(&path);
    Some(url)
}

/// The configuration cannot work; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Directory Insights client configuration: {}", problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse_in_any_case_and_name_the_choices_when_unknown() {
        assert_eq!("EU".parse::<Region>(), Ok(Region::Eu));
        assert_eq!(" in ".parse::<Region>(), Ok(Region::In));
        assert_eq!("us".parse::<Region>(), Ok(Region::Us));

        let err = "apac".parse::<Region>().unwrap_err();

        assert!(err.to_string().contains("us, eu or in"), "{err}");
    }

    #[test]
    fn base_url_override_wins_over_region_and_keeps_its_path_prefix() {
        let mut config = ClientConfig::new(Credential::ApiKey(Secret::new("jca_k")));
        config.region = Region::Eu;
        config.base_url = Some("http://127.0.0.1:9/proxy/".to_owned());

        let validated = config.validate().unwrap();

        assert_eq!(
            validated.events_url.as_str(),
            "http://127.0.0.1:9/proxy/insights/directory/v1/events"
        );
    }

    #[test]
    fn each_region_resolves_to_its_host() {
        for (region, host) in [
            (Region::Us, "api.jumpcloud.com"),
            (Region::Eu, "api.eu.jumpcloud.com"),
            (Region::In, "api.in.jumpcloud.com"),
        ] {
            let mut config = ClientConfig::new(Credential::ApiKey(Secret::new("jca_k")));
            config.region = region;

            let validated = config.validate().unwrap();

            assert_eq!(validated.events_url.host_str(), Some(host));
            assert_eq!(validated.events_url.path(), "/insights/directory/v1/events");
        }
    }

    #[test]
    fn the_directory_is_on_the_console_host_unless_overridden() {
        let mut config = ClientConfig::new(Credential::ApiKey(Secret::new("jca_k")));
        config.region = Region::Eu;
        let regional = config.validate().unwrap();
        config.base_url = Some("http://127.0.0.1:9/proxy".to_owned());
        let through_base = config.validate().unwrap();
        config.directory_base_url = Some("http://127.0.0.1:10".to_owned());
        let own = config.validate().unwrap();

        assert_eq!(
            regional.directory_url.as_str(),
            "https://console.eu.jumpcloud.com/"
        );
        assert_eq!(
            through_base.directory_url.as_str(),
            "http://127.0.0.1:9/proxy/"
        );
        assert_eq!(own.directory_url.as_str(), "http://127.0.0.1:10/");
    }

    #[test]
    fn a_stored_credential_is_a_bare_key_or_json_of_either_kind() {
        let bare = Credential::from_secret_text("jca_abc123\n").unwrap();
        let json_key = Credential::from_secret_text(r#"{"api_key": "jca_abc123"}"#).unwrap();
        let account =
            Credential::from_secret_text(r#"{"client_id": "svc", "client_secret": "s3"}"#).unwrap();

        assert!(matches!(bare, Credential::ApiKey(k) if k.expose() == "jca_abc123"));
        assert!(matches!(json_key, Credential::ApiKey(k) if k.expose() == "jca_abc123"));
        assert!(matches!(
            account,
            Credential::ServiceAccount { client_id, client_secret }
                if client_id == "svc" && client_secret.expose() == "s3"
        ));
    }

    #[test]
    fn a_malformed_stored_credential_is_refused_without_quoting_it() {
        let cases = [
            ("", "is empty"),
            (r#"{"api_key": "jca_secret1", "#, "not a JSON object"),
            (
                r#"{"client_id": "svc", "secret": "jca_secret1"}"#,
                "\"client_secret\"",
            ),
            (
                r#"{"api_key": "jca_secret1", "client_id": "a", "client_secret": "b"}"#,
                "not both",
            ),
        ];

        for (text, expected) in cases {
            let error = Credential::from_secret_text(text).unwrap_err().to_string();

            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("jca_secret1"), "{error}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut config = ClientConfig::new(Credential::ApiKey(Secret::new("  ")));
        config.base_url = Some("ftp://example.com".to_owned());
        config.retry.max_attempts = 0;
        config.page_limit = 20_000;

        let err = config.validate().err().unwrap();

        assert_eq!(err.problems.len(), 4, "{err}");
        assert!(err.to_string().contains("API key is empty"));
        assert!(err.to_string().contains("ftp://example.com"));
        assert!(err.to_string().contains("max_attempts"));
        assert!(err.to_string().contains("20000"));
    }
}
