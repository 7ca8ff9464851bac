//! The simulator's HTTP side: the events search, the OAuth token endpoint, credential and
//! organisation checks, and the middleware that records every request and injects faults.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State as AxumState};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::directory::{self, Directory};
use crate::faults::{Fault, FaultQueue, Target};
use crate::ids::IdSource;
use crate::query::{Limits, parse_search};
use crate::store::{OrgStore, search};

pub(crate) const EVENTS_PATH: &str = "/insights/directory/v1/events";
pub(crate) const TOKEN_PATH: &str = "/oauth2/token";

/// The largest request body read.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Everything the simulator knows, behind one lock that is never held across an await.
pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A panic while holding the lock leaves plain data behind; keep serving it.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug)]
pub(crate) struct State {
    pub credentials: Vec<SimCredential>,
    pub limits: Limits,
    pub token_lifetime: Duration,
    pub stores: HashMap<String, OrgStore>,
    pub tokens: HashMap<String, IssuedToken>,
    pub faults: FaultQueue,
    pub log: Vec<RecordedRequest>,
    pub ids: IdSource,
    /// Each organisation's users, administrators and groups.
    pub directories: HashMap<String, Directory>,
}

/// A credential the simulator accepts, and the organisations it opens.
#[derive(Debug, Clone)]
pub(crate) struct SimCredential {
    pub kind: CredentialKind,
    pub orgs: Vec<String>,
    /// MSP keys and service accounts must name the organisation with `x-org-id`.
    pub org_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    ApiKey(String),
    ServiceAccount { client_id: String, secret: String },
}

#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub credential: usize,
    pub expires_at: Instant,
}

/// How a request authenticated (never the value itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    ApiKey,
    Bearer,
    Basic,
    None,
}

/// What happened to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still being answered, or the client gave up while a delay was running.
    Pending,
    Answered(u16),
    /// The connection was closed without an answer.
    Dropped,
}

/// One request the simulator received, for tests to assert on.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `None` for a path the simulator does not serve.
    pub target: Option<Target>,
    pub method: String,
    pub path: String,
    /// The query string, as sent (percent-encoded).
    pub query: Option<String>,
    pub org_ids: Vec<String>,
    pub auth: AuthKind,
    pub user_agent: Option<String>,
    /// The JSON body of an events request (`None` for token requests and non-JSON bodies).
    pub body: Option<Value>,
    pub received_at: Instant,
    pub outcome: Outcome,
}

/// Set on every request: closes the connection it arrived on.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionKill(pub Arc<Notify>);

pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route(EVENTS_PATH, post(events))
        .route(TOKEN_PATH, post(token))
        .route("/api/systemusers", get(directory::list_users))
        .route("/api/systemusers/{id}", get(directory::get_user))
        .route("/api/users", get(directory::list_admins))
        .route("/api/v2/users/{id}/memberof", get(directory::member_of))
        .route("/api/v2/usergroups/{id}", get(directory::get_group))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            record_and_inject,
        ))
        .with_state(shared)
}

pub(crate) fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "message": text }))).into_response()
}

async fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Not Found")
}

/// Records the request, applies the next fault that targets it, and stamps `X-Request-Id`.
async fn record_and_inject(
    AxumState(shared): AxumState<Shared>,
    request: Request,
    next: Next,
) -> Response {
    let received_at = Instant::now();
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return message(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large");
    };
    let target = Target::of_path(parts.uri.path());
    let record = RecordedRequest {
        target,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        org_ids: org_ids(&parts.headers),
        auth: auth_kind(&parts.headers),
        user_agent: header_text(&parts.headers, USER_AGENT.as_str()),
        body: (target == Some(Target::Events))
            .then(|| serde_json::from_slice(&body).ok())
            .flatten(),
        received_at,
        outcome: Outcome::Pending,
    };
    let (index, fault, request_id) = {
        let mut state = lock(&shared);
        state.log.push(record);
        let fault = target.and_then(|t| state.faults.next(t));
        (state.log.len() - 1, fault, state.ids.request_id())
    };
    let kill = parts.extensions.get::<ConnectionKill>().cloned();
    let request = Request::from_parts(parts, Body::from(body));

    let mut response = match fault {
        Some(Fault::Drop) => match kill {
            Some(ConnectionKill(kill)) => {
                lock(&shared).log[index].outcome = Outcome::Dropped;
                kill.notify_one();
                // The connection task drops this future together with the connection.
                std::future::pending::<Response>().await
            }
            None => message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "simulator: this connection cannot be dropped",
            ),
        },
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            next.run(request).await
        }
        Some(Fault::Status {
            status,
            retry_after,
            body,
        }) => fault_response(status, retry_after.as_deref(), body),
        None => next.run(request).await,
    };

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    lock(&shared).log[index].outcome = Outcome::Answered(response.status().as_u16());
    response
}

fn fault_response(status: u16, retry_after: Option<&str>, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, [(CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}

fn org_ids(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("x-org-id")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

fn auth_kind(headers: &HeaderMap) -> AuthKind {
    let authorization = header_text(headers, AUTHORIZATION.as_str()).unwrap_or_default();
    if headers.contains_key("x-api-key") {
        AuthKind::ApiKey
    } else if authorization.starts_with("Bearer ") {
        AuthKind::Bearer
    } else if authorization.starts_with("Basic ") {
        AuthKind::Basic
    } else {
        AuthKind::None
    }
}

impl State {
    /// The organisations a request may read, or the message of the 401 to answer.
    pub(crate) fn authorize(
        &self,
        headers: &HeaderMap,
        now: Instant,
    ) -> Result<Vec<String>, String> {
        let unauthorized = |text: &str| text.to_owned();
        let credential = if let Some(key) = header_text(headers, "x-api-key") {
            self.credentials
                .iter()
                .find(|c| c.kind == CredentialKind::ApiKey(key.clone()))
                .ok_or_else(|| unauthorized("Unauthorized: api key user not found"))?
        } else if let Some(token) = header_text(headers, AUTHORIZATION.as_str())
            .as_deref()
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            let issued = self
                .tokens
                .get(token.trim())
                .filter(|t| now < t.expires_at)
                .ok_or_else(|| unauthorized("Unauthorized: invalid or expired token"))?;
            &self.credentials[issued.credential]
        } else {
            return Err(unauthorized("Unauthorized: no api key provided"));
        };

        let asked = org_ids(headers);
        if asked.is_empty() {
            return match (credential.org_required, credential.orgs.first()) {
                (false, Some(home)) => Ok(vec![home.clone()]),
                _ => Err(unauthorized("Unauthorized: no organization selected")),
            };
        }
        if let Some(stranger) = asked.iter().find(|org| !credential.orgs.contains(org)) {
            return Err(unauthorized(&format!(
                "Unauthorized: organization {stranger} is not accessible with this credential"
            )));
        }
        Ok(asked)
    }
}

/// `POST /insights/directory/v1/events`.
async fn events(AxumState(shared): AxumState<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let state = lock(&shared);
    let orgs = match state.authorize(&headers, Instant::now()) {
        Ok(orgs) => orgs,
        Err(text) => return message(StatusCode::UNAUTHORIZED, &text),
    };
    let search_request = match parse_search(&body, Utc::now(), state.limits) {
        Ok(search_request) => search_request,
        Err(text) => return message(StatusCode::BAD_REQUEST, &text),
    };
    let stores: Vec<&OrgStore> = orgs.iter().filter_map(|o| state.stores.get(o)).collect();

    let found = search(&stores, &search_request);

    let search_after = match found.last() {
        Some(((ms, id), _)) => json!([ms, id]),
        None => search_request
            .after
            .as_ref()
            .map_or_else(|| json!([]), |(ms, id)| json!([ms, id])),
    };
    let events: Vec<&Value> = found.iter().map(|(_, event)| event).collect();
    let sort = if search_request.descending {
        "DESC"
    } else {
        "ASC"
    };
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE.as_str(), "application/json".to_owned()),
            ("x-result-count", events.len().to_string()),
            ("x-limit", search_request.limit.to_string()),
            ("x-sort", sort.to_owned()),
            ("x-search_after", search_after.to_string()),
        ],
        serde_json::to_vec(&events).unwrap_or_default(),
    )
        .into_response()
}

/// `POST /oauth2/token`: the OAuth client-credentials grant with HTTP Basic client auth.
async fn token(AxumState(shared): AxumState<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let oauth_error = |status: StatusCode, error: &str, description: &str| {
        (
            status,
            axum::Json(json!({ "error": error, "error_description": description })),
        )
            .into_response()
    };
    let form = parse_form(&body);
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    if !form
        .get("scope")
        .is_some_and(|scope| scope.split(' ').any(|s| s == "api"))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "scope api is required",
        );
    }
    let Some((client_id, secret)) = basic_credentials(&headers) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    };

    let mut state = lock(&shared);
    let wanted = CredentialKind::ServiceAccount { client_id, secret };
    let Some(credential) = state.credentials.iter().position(|c| c.kind == wanted) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    };
    let lifetime = state.token_lifetime;
    let access_token = state.ids.token();
    state.tokens.insert(
        access_token.clone(),
        IssuedToken {
            credential,
            expires_at: Instant::now() + lifetime,
        },
    );

    let expires_in = lifetime.as_secs_f64().ceil().max(1.0) as u64;
    axum::Json(json!({
        "access_token": access_token,
        "expires_in": expires_in,
        "scope": "api",
        "token_type": "bearer",
    }))
    .into_response()
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = header_text(headers, AUTHORIZATION.as_str())?
        .strip_prefix("Basic ")?
        .trim()
        .to_owned();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// A query string into its pairs, in order, percent-decoded (repeated keys kept).
pub(crate) fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(key)?, percent_decode(value)?))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` into a map (later keys win).
fn parse_form(body: &[u8]) -> HashMap<String, String> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((percent_decode(key)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_are_percent_decoded() {
        let form = parse_form(b"grant_type=client_credentials&scope=api+openid&x=%41%2f");

        assert_eq!(form["grant_type"], "client_credentials");
        assert_eq!(form["scope"], "api openid");
        assert_eq!(form["x"], "A/");
    }

    #[test]
    fn broken_percent_escapes_drop_the_pair() {
        let form = parse_form(b"a=%zz&b=ok&c=%4");

        assert_eq!(form.get("a"), None);
        assert_eq!(form.get("c"), None);
        assert_eq!(form["b"], "ok");
    }
}
