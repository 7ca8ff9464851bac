//! The Directory Insights HTTP client: authentication (API key or service-account token),
//! the retry loop, and reading one page of events with its paging headers.
//!
//! The request and retry machinery ([`Client::send_authorized`], [`Client::send_with_retry`])
//! knows nothing about events, so other JumpCloud endpoints can reuse the same credential,
//! host selection, retries and error handling.

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use jcwatch_core::ports::{Page, PageRequest};
use jcwatch_model::time::format_timestamp;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{RequestBuilder, Url};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::config::{ClientConfig, ConfigError, Credential, RetryPolicy};
use crate::error::{ClientError, Endpoint, TOKEN_HINT, auth_hint_for};
use crate::page::{PageHeaders, parse_page};
use crate::retry::{backoff_delay, is_retryable_status, jitter, parse_retry_after};
use crate::secret::Secret;

/// Sent with every request, so JumpCloud can tell who is calling.
pub const USER_AGENT: &str = concat!(
    "jcwatch/",
    env!("CARGO_PKG_VERSION"),
    " (+https://github.com/jcwatch/jcwatch)"
);

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const X_ORG_ID: HeaderName = HeaderName::from_static("x-org-id");
const X_REQUEST_ID: &str = "x-request-id";

/// Longest server message kept in an error.
const MAX_SERVER_MESSAGE: usize = 300;

/// A Directory Insights client. Cheap to clone; clones share the connection pool and the
/// cached service-account token.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    credential: Credential,
    events_url: Url,
    /// The directory API base, ending in `/`.
    directory_url: Url,
    token_url: Url,
    retry: RetryPolicy,
    request_timeout: Duration,
    page_limit: u32,
    /// The service account's bearer token; the lock is held while a new one is fetched, so
    /// concurrent callers wait for one token request instead of each sending their own.
    token: Mutex<Option<CachedToken>>,
    /// Group names by (organisation, group id): groups are few and rarely renamed, so one
    /// look-up per group per cold start is enough.
    group_names: std::sync::Mutex<std::collections::HashMap<(String, String), String>>,
}

#[derive(Debug, Clone)]
struct CachedToken {
    value: Secret,
    refresh_at: Instant,
}

/// One HTTP answer, read to the end, that is not worth retrying.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub request_id: Option<String>,
    /// How many attempts it took.
    pub attempts: u32,
}

/// The authentication header of one request.
struct Auth {
    name: HeaderName,
    value: HeaderValue,
    /// A token from the cache (rather than just fetched) may have been revoked early.
    cached_token: bool,
}

impl Client {
    /// Builds a client; fails with every configuration problem named.
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        let urls = config.validate()?;
        for url in [&urls.events_url, &urls.directory_url, &urls.token_url] {
            if url.scheme() == "http" && !is_loopback(url) {
                tracing::warn!(
                    url = %url,
                    "credentials will cross the network unencrypted; use https outside tests"
                );
            }
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| ConfigError {
                problems: vec![format!("the HTTP client could not be built: {e}")],
            })?;

        Ok(Self {
            inner: Arc::new(Inner {
                http,
                credential: config.credential,
                events_url: urls.events_url,
                directory_url: urls.directory_url,
                token_url: urls.token_url,
                retry: config.retry,
                request_timeout: config.request_timeout,
                page_limit: config.page_limit,
                token: Mutex::new(None),
                group_names: std::sync::Mutex::new(std::collections::HashMap::new()),
            }),
        })
    }

    /// The events endpoint this client calls.
    pub fn events_url(&self) -> &str {
        self.inner.events_url.as_str()
    }

    /// The directory API base this client calls (ends in `/`).
    pub fn directory_url(&self) -> &str {
        self.inner.directory_url.as_str()
    }

    /// A directory URL: the base followed by `segments`, each percent-encoded as one path
    /// segment (so an id from an event cannot climb to another path).
    pub(crate) fn directory_endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.directory_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    /// The cached name of a group, if it was looked up before.
    pub(crate) fn cached_group_name(&self, org: &str, group_id: &str) -> Option<String> {
        self.inner
            .group_names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(org.to_owned(), group_id.to_owned()))
            .cloned()
    }

    /// Remembers a group's name, forgetting every name when too many pile up.
    pub(crate) fn remember_group_name(&self, org: &str, group_id: &str, name: &str) {
        const MAX_NAMES: usize = 20_000;
        let mut names = self
            .inner
            .group_names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if names.len() >= MAX_NAMES {
            names.clear();
        }
        names.insert((org.to_owned(), group_id.to_owned()), name.to_owned());
    }

    /// Searches events of `[start, end)` matching `search_term`, oldest first, one page of at
    /// most `limit`; the flag says whether more matched.
    pub(crate) async fn search_events(
        &self,
        org_id: Option<&str>,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
        search_term: Value,
        limit: u32,
    ) -> Result<(Vec<Value>, bool), ClientError> {
        let body = json!({
            "service": ["all"],
            "start_time": format_timestamp(start),
            "end_time": format_timestamp(end),
            "limit": limit.clamp(1, crate::config::MAX_PAGE_LIMIT),
            "sort": "ASC",
            "search_term": search_term,
        });
        let url = self.inner.events_url.clone();

        let answer = self
            .send_authorized(Endpoint::Events, org_id, |http| {
                http.post(url.clone()).json(&body)
            })
            .await?;
        if let Some(error) = self.fatal_error(Endpoint::Events, &answer) {
            return Err(error);
        }
        if !(200..300).contains(&answer.status) {
            return Err(self.rejected(Endpoint::Events, &answer));
        }
        let page = parse_page(&PageHeaders::from_map(&answer.headers), &answer.body, None)
            .map_err(|detail| ClientError::Rejected {
                endpoint: Endpoint::Events,
                status: Some(answer.status),
                detail: self.scrub(&detail),
                request_id: answer.request_id.clone(),
            })?;
        Ok((page.events, !page.last))
    }

    /// Fetches one page of `[start, end)` for one organisation, in ascending time order,
    /// starting after `search_after`. The page is the last when `X-Result-Count < X-Limit`.
    pub async fn fetch_page(&self, request: &PageRequest) -> Result<Page, ClientError> {
        let mut body = json!({
            "service": ["all"],
            "start_time": format_timestamp(request.start),
            "end_time": format_timestamp(request.end),
            "limit": self.inner.page_limit,
            "sort": "ASC",
        });
        if let Some(after) = &request.search_after {
            body["search_after"] = after.clone();
        }
        let url = self.inner.events_url.clone();

        let answer = self
            .send_authorized(Endpoint::Events, request.org_id.as_deref(), |http| {
                http.post(url.clone()).json(&body)
            })
            .await?;
        if let Some(error) = self.fatal_error(Endpoint::Events, &answer) {
            return Err(error);
        }
        if !(200..300).contains(&answer.status) {
            return Err(self.rejected(Endpoint::Events, &answer));
        }
        let page = parse_page(
            &PageHeaders::from_map(&answer.headers),
            &answer.body,
            request.search_after.as_ref(),
        )
        .map_err(|detail| ClientError::Rejected {
            endpoint: Endpoint::Events,
            status: Some(answer.status),
            detail: self.scrub(&detail),
            request_id: answer.request_id.clone(),
        })?;

        tracing::debug!(
            org_id = request.org_id.as_deref().unwrap_or(""),
            status = answer.status,
            count = page.events.len(),
            last = page.last,
            request_id = answer.request_id.as_deref().unwrap_or(""),
            attempt = answer.attempts,
            "fetched a Directory Insights page"
        );
        Ok(page)
    }

    /// Sends an authenticated request (with `x-org-id` when given), retrying per the policy.
    /// A 401 answered to a cached service-account token fetches a new token and tries once
    /// more, since a token can be revoked before its announced expiry.
    ///
    /// Returns any answer that is not worth retrying, fatal ones included: the caller knows
    /// what a 404 or a 401 means for its endpoint (see [`Client::fatal_error`]).
    pub(crate) async fn send_authorized<F>(
        &self,
        endpoint: Endpoint,
        org_id: Option<&str>,
        build: F,
    ) -> Result<Answer, ClientError>
    where
        F: Fn(&reqwest::Client) -> RequestBuilder,
    {
        let org = org_id.map(|org| org_header(endpoint, org)).transpose()?;
        let mut refreshed = false;

        loop {
            let auth = self.auth().await?;
            let answer = self
                .send_with_retry(endpoint, || {
                    let request = build(&self.inner.http).header(&auth.name, auth.value.clone());
                    match &org {
                        Some(org) => request.header(X_ORG_ID, org.clone()),
                        None => request,
                    }
                })
                .await?;

            if answer.status == 401 && auth.cached_token && !refreshed {
                tracing::warn!(
                    request_id = answer.request_id.as_deref().unwrap_or(""),
                    "cached service-account token refused; fetching a new one"
                );
                *self.inner.token.lock().await = None;
                refreshed = true;
                continue;
            }
            return Ok(answer);
        }
    }

    /// Sends the request `build` makes, again and again while the answer is 429, 5xx or a
    /// transport error, within the retry policy's attempts and total time. Waits honour
    /// `Retry-After`, else back off exponentially with full jitter.
    pub(crate) async fn send_with_retry<F>(
        &self,
        endpoint: Endpoint,
        build: F,
    ) -> Result<Answer, ClientError>
    where
        F: Fn() -> RequestBuilder,
    {
        let policy = self.inner.retry;
        let started = Instant::now();
        let mut attempt = 0;

        loop {
            attempt += 1;
            let remaining = policy.max_total.saturating_sub(started.elapsed());
            // The last attempt must not run past the total budget either.
            let timeout = self
                .inner
                .request_timeout
                .min(remaining)
                .max(Duration::from_millis(1));

            let failure = match send_once(build().timeout(timeout)).await {
                Ok(mut answer) if !is_retryable_status(answer.status) => {
                    answer.attempts = attempt;
                    return Ok(answer);
                }
                Ok(answer) => Failure {
                    detail: self.status_detail(&answer),
                    retry_after: answer
                        .headers
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now())),
                    request_id: answer.request_id,
                },
                Err(error) if error.is_builder() || error.is_redirect() => {
                    return Err(ClientError::Rejected {
                        endpoint,
                        status: None,
                        detail: self.scrub(&describe_transport(&error)),
                        request_id: None,
                    });
                }
                Err(error) => Failure {
                    detail: self.scrub(&describe_transport(&error)),
                    retry_after: None,
                    request_id: None,
                },
            };

            let give_up = |why: String| ClientError::Unavailable {
                endpoint,
                attempts: attempt,
                elapsed: started.elapsed(),
                detail: format!("{}; {why}", failure.detail),
                request_id: failure.request_id.clone(),
            };
            if attempt >= policy.max_attempts {
                return Err(give_up(format!(
                    "no attempts left (at most {})",
                    policy.max_attempts
                )));
            }
            let delay = failure
                .retry_after
                .unwrap_or_else(|| backoff_delay(&policy, attempt, jitter()));
            if started.elapsed() + delay >= policy.max_total {
                return Err(give_up(format!(
                    "waiting {:.1}s more would pass the retry budget of {:.1}s",
                    delay.as_secs_f64(),
                    policy.max_total.as_secs_f64()
                )));
            }

            tracing::warn!(
                endpoint = %endpoint,
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                retry_after = failure.retry_after.is_some(),
                request_id = failure.request_id.as_deref().unwrap_or(""),
                failure = %failure.detail,
                "retrying a JumpCloud request"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// The error for a fatal answer (401, 402, 403), if it is one.
    pub(crate) fn fatal_error(&self, endpoint: Endpoint, answer: &Answer) -> Option<ClientError> {
        if !matches!(answer.status, 401..=403) {
            return None;
        }
        Some(ClientError::Auth {
            endpoint,
            status: answer.status,
            hint: auth_hint_for(endpoint, answer.status).to_owned(),
            server_message: self.server_message(&answer.body),
            request_id: answer.request_id.clone(),
        })
    }

    /// The error for any other answer the caller cannot use.
    pub(crate) fn rejected(&self, endpoint: Endpoint, answer: &Answer) -> ClientError {
        ClientError::Rejected {
            endpoint,
            status: Some(answer.status),
            detail: self
                .server_message(&answer.body)
                .unwrap_or_else(|| "the answer had no message".to_owned()),
            request_id: answer.request_id.clone(),
        }
    }

    async fn auth(&self) -> Result<Auth, ClientError> {
        match &self.inner.credential {
            Credential::ApiKey(key) => Ok(Auth {
                name: X_API_KEY,
                value: sensitive_header(key.expose())?,
                cached_token: false,
            }),
            Credential::ServiceAccount {
                client_id,
                client_secret,
            } => {
                let (token, cached_token) = self.bearer_token(client_id, client_secret).await?;
                Ok(Auth {
                    name: AUTHORIZATION,
                    value: sensitive_header(&format!("Bearer {}", token.expose()))?,
                    cached_token,
                })
            }
        }
    }

    /// The service account's token, from the cache while it is fresh; `true` when cached.
    async fn bearer_token(
        &self,
        client_id: &str,
        client_secret: &Secret,
    ) -> Result<(Secret, bool), ClientError> {
        let mut cache = self.inner.token.lock().await;
        if let Some(token) = cache.as_ref()
            && Instant::now() < token.refresh_at
        {
            return Ok((token.value.clone(), true));
        }

        let token = self.request_token(client_id, client_secret).await?;
        let value = token.value.clone();
        *cache = Some(token);
        Ok((value, false))
    }

    /// `POST {token_url}` with the client credentials grant.
    async fn request_token(
        &self,
        client_id: &str,
        client_secret: &Secret,
    ) -> Result<CachedToken, ClientError> {
        let url = self.inner.token_url.clone();
        let asked_at = Instant::now();

        let answer = self
            .send_with_retry(Endpoint::Token, || {
                self.inner
                    .http
                    .post(url.clone())
                    .basic_auth(client_id, Some(client_secret.expose()))
                    .form(&[("grant_type", "client_credentials"), ("scope", "api")])
            })
            .await?;
        if matches!(answer.status, 400 | 401 | 403) {
            return Err(ClientError::Auth {
                endpoint: Endpoint::Token,
                status: answer.status,
                hint: TOKEN_HINT.to_owned(),
                server_message: self.server_message(&answer.body),
                request_id: answer.request_id,
            });
        }
        if !(200..300).contains(&answer.status) {
            return Err(self.rejected(Endpoint::Token, &answer));
        }
        let reply: TokenReply =
            serde_json::from_slice(&answer.body).map_err(|e| ClientError::Rejected {
                endpoint: Endpoint::Token,
                status: Some(answer.status),
                // N.B. serde's message quotes no input for these errors, so no token leaks.
                detail: format!("the token answer is not the expected JSON: {e}"),
                request_id: answer.request_id.clone(),
            })?;
        if reply.access_token.trim().is_empty() {
            return Err(ClientError::Rejected {
                endpoint: Endpoint::Token,
                status: Some(answer.status),
                detail: "the token answer carries an empty access_token".to_owned(),
                request_id: answer.request_id,
            });
        }

        // A day at most: a token is not worth trusting longer, and it keeps the sum below
        // from overflowing on a silly `expires_in`.
        let lifetime = Duration::from_secs(reply.expires_in.unwrap_or(3_600).min(86_400));
        tracing::debug!(
            lifetime_s = lifetime.as_secs(),
            request_id = answer.request_id.as_deref().unwrap_or(""),
            "obtained a service-account token"
        );
        Ok(CachedToken {
            value: Secret::new(reply.access_token),
            refresh_at: asked_at + lifetime - refresh_margin(lifetime),
        })
    }

    /// A human description of a retryable HTTP answer.
    fn status_detail(&self, answer: &Answer) -> String {
        let what = if answer.status == 429 {
            "rate limited"
        } else {
            "server error"
        };
        match self.server_message(&answer.body) {
            Some(message) => format!("HTTP {} ({what}) saying {message:?}", answer.status),
            None => format!("HTTP {} ({what})", answer.status),
        }
    }

    /// The server's own message from an error body (`message`, `error_description` or
    /// `error` of a JSON object, else the text), cleaned of control characters and
    /// credentials and cut to a readable length.
    pub(crate) fn server_message(&self, body: &[u8]) -> Option<String> {
        let text = String::from_utf8_lossy(body);
        let message = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(object)) => ["message", "error_description", "error"]
                .iter()
                .find_map(|key| object.get(*key).and_then(Value::as_str).map(str::to_owned)),
            _ => None,
        }
        .unwrap_or_else(|| text.into_owned());

        let cleaned: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_SERVER_MESSAGE)
            .collect();
        let cleaned = self.scrub(cleaned.trim());
        (!cleaned.is_empty()).then_some(cleaned)
    }

    /// Removes every credential value from text that came from outside.
    pub(crate) fn scrub(&self, text: &str) -> String {
        self.inner
            .credential
            .secrets()
            .into_iter()
            .fold(text.to_owned(), |text, secret| secret.scrub(&text))
    }
}

/// Why one attempt failed, when it is worth another.
struct Failure {
    detail: String,
    retry_after: Option<Duration>,
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// How long before its expiry a token is replaced: a minute, or a quarter of a short lifetime.
fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 4).min(Duration::from_secs(60))
}

/// Sends one request and reads the whole answer; a body that breaks off is a transport error.
async fn send_once(request: RequestBuilder) -> Result<Answer, reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await?.to_vec();
    let request_id = headers
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().filter(|c| !c.is_control()).take(100).collect());

    Ok(Answer {
        status,
        headers,
        body,
        request_id,
        attempts: 1,
    })
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A header value that reqwest and hyper will not print.
fn sensitive_header(value: &str) -> Result<HeaderValue, ClientError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| ClientError::Rejected {
        endpoint: Endpoint::Events,
        status: None,
        detail: "the credential contains characters that cannot be sent in an HTTP header"
            .to_owned(),
        request_id: None,
    })?;
    header.set_sensitive(true);
    Ok(header)
}

fn org_header(endpoint: Endpoint, org: &str) -> Result<HeaderValue, ClientError> {
    let org = org.trim();
    let valid = !org.is_empty() && org.chars().all(|c| c.is_ascii_graphic());
    match HeaderValue::from_str(org) {
        Ok(value) if valid => Ok(value),
        _ => Err(ClientError::Rejected {
            endpoint,
            status: None,
            detail: format!(
                "the organisation id {:?} is not a JumpCloud organisation id (printable ASCII, no spaces)",
                org.chars().take(64).collect::<String>()
            ),
            request_id: None,
        }),
    }
}

/// A transport error in words: what failed and the chain of causes. reqwest's own top-level
/// text repeats the URL, which is named once here.
fn describe_transport(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else if error.is_builder() {
        "the request could not be built"
    } else {
        "the connection failed"
    };
    let mut text = match error.url() {
        Some(url) => format!("{what} ({url})"),
        None => what.to_owned(),
    };
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_replaced_a_minute_early_or_a_quarter_early_when_short_lived() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3_600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(2)),
            Duration::from_millis(500)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn organisation_ids_with_spaces_or_control_characters_are_refused_before_sending() {
        for bad in ["", "org one", "org\r\nx-api-key: stolen", "org\u{7f}"] {
            let error = org_header(Endpoint::Events, bad).unwrap_err();

            assert!(
                error
                    .to_string()
                    .contains("not a JumpCloud organisation id"),
                "{error}"
            );
        }
        assert!(org_header(Endpoint::Events, "5bf6defbdcd8233029e0c598").is_ok());
    }

    #[test]
    fn only_loopback_hosts_count_as_loopback() {
        for (url, expected) in [
            ("http://127.0.0.1:8080/", true),
            ("http://localhost/", true),
            ("http://[::1]:9/", true),
            ("http://api.jumpcloud.com/", false),
            ("http://10.0.0.1/", false),
        ] {
            assert_eq!(is_loopback(&Url::parse(url).unwrap()), expected, "{url}");
        }
    }

    #[test]
    fn the_user_agent_names_the_project_and_where_to_find_it() {
        assert!(USER_AGENT.starts_with("jcwatch/"));
        assert!(USER_AGENT.contains("https://github.com/jcwatch/jcwatch"));
    }
}
