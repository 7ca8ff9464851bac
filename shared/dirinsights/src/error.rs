//! What can go wrong talking to JumpCloud, in the terms an operator acts on: a credential or
//! account problem to fix (fatal), an outage that outlasted the retries, or an answer the
//! client cannot use. Every text here is built so that no credential can appear in it.

use std::fmt;
use std::time::Duration;

use jcwatch_core::ports::SourceError;

/// Which JumpCloud endpoint answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /insights/directory/v1/events`
    Events,
    /// The service-account OAuth token endpoint.
    Token,
    /// `GET /api/systemusers` (v1): the organisation's users.
    Users,
    /// `GET /api/users` (v1): the console administrators.
    Administrators,
    /// `GET /api/v2/users/{id}/memberof` and `/api/v2/usergroups/{id}`: user groups.
    Groups,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Events => "Directory Insights",
            Self::Token => "the JumpCloud token endpoint",
            Self::Users => "the JumpCloud users API",
            Self::Administrators => "the JumpCloud administrators API",
            Self::Groups => "the JumpCloud user groups API",
        })
    }
}

/// Why a call to JumpCloud failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// 401, 402 or 403 (or a refused service-account login): a person must fix the
    /// credential, the organisation id or the account. Never retried.
    #[error("{endpoint} refused the request (HTTP {status}{}){}: {hint}", request_id_suffix(.request_id), server_suffix(.server_message))]
    Auth {
        endpoint: Endpoint,
        status: u16,
        /// What to check, in plain words.
        hint: String,
        /// The server's own message, cleaned and bounded.
        server_message: Option<String>,
        request_id: Option<String>,
    },

    /// Retries on 429, 5xx or transport errors ran out (attempts or total time).
    #[error("{endpoint} is unavailable after {attempts} attempts in {:.1}s: {detail}{}", .elapsed.as_secs_f64(), request_id_suffix(.request_id))]
    Unavailable {
        endpoint: Endpoint,
        attempts: u32,
        elapsed: Duration,
        /// The last failure, and why retrying stopped.
        detail: String,
        request_id: Option<String>,
    },

    /// An answer the client cannot use (400, 404, malformed body or headers), or a request
    /// that could not be built. `status` is `None` when nothing was sent.
    #[error("{endpoint} rejected the request{}{}: {detail}", status_suffix(*.status), request_id_suffix(.request_id))]
    Rejected {
        endpoint: Endpoint,
        status: Option<u16>,
        detail: String,
        request_id: Option<String>,
    },
}

impl ClientError {
    /// The `X-Request-Id` of the answer behind the error, for JumpCloud support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Auth { request_id, .. }
            | Self::Unavailable { request_id, .. }
            | Self::Rejected { request_id, .. } => request_id.as_deref(),
        }
    }

    /// Whether a person must act before another attempt can succeed.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Auth { .. })
    }
}

fn request_id_suffix(request_id: &Option<String>) -> String {
    request_id
        .as_deref()
        .map(|id| format!(", request id {id}"))
        .unwrap_or_default()
}

fn server_suffix(message: &Option<String>) -> String {
    message
        .as_deref()
        .map(|m| format!(" saying {m:?}"))
        .unwrap_or_default()
}

fn status_suffix(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

/// What to check for a fatal status of an endpoint.
pub(crate) fn auth_hint_for(endpoint: Endpoint, status: u16) -> &'static str {
    match (endpoint, status) {
        (Endpoint::Users | Endpoint::Administrators | Endpoint::Groups, 403) => {
            "forbidden: the administrator behind this credential has a role that cannot read \
             the directory (users, administrators or groups), or JumpCloud blocked this source \
             IP address. Give the credential a role that may read users and groups, or turn \
             enrichment off"
        }
        (Endpoint::Users | Endpoint::Administrators | Endpoint::Groups, 402) => {
            "payment required: the organisation's plan does not include this API"
        }
        _ => auth_hint(status),
    }
}

/// What to check for a fatal status of the events endpoint.
pub(crate) fn auth_hint(status: u16) -> &'static str {
    match status {
        401 => {
            "the credential was not accepted. Check that the API key has not expired \
             (JumpCloud keys expire after 90 days by default), been revoked, or been replaced \
             by regenerating it; for a service account, check its client id and secret. \
             Also check the organisation id: it must be one this credential administers, \
             and an MSP (multi-tenant) key or a service account must send one"
        }
        402 => {
            "payment required: Directory Insights is not enabled for this organisation, or \
             its plan does not include it. Check the organisation's plan and that Directory \
             Insights is enabled"
        }
        403 => {
            "forbidden: the administrator behind this credential has a role that cannot use \
             the API (command runners get 403), or JumpCloud blocked this source IP address \
             for suspected abuse. Check the administrator's role, and ask JumpCloud support \
             about an IP block if the role is right"
        }
        _ => "the request was refused",
    }
}

/// What to check when the token endpoint refuses the service account.
pub(crate) const TOKEN_HINT: &str = "the service account's client id or client secret was \
    not accepted. Check both values, and that the service account still exists and may use \
    the API (scope api)";

impl From<ClientError> for SourceError {
    /// The port's messages already say "Directory Insights ... (HTTP status)", so the text
    /// carried here is the rest: what to check, the server's words, the request id, and which
    /// endpoint answered when it was the token endpoint.
    fn from(error: ClientError) -> Self {
        let endpoint_prefix = |endpoint: Endpoint| match endpoint {
            Endpoint::Events => String::new(),
            other => format!("{other}: "),
        };
        match error {
            ClientError::Auth {
                endpoint,
                status,
                hint,
                server_message,
                request_id,
            } => SourceError::Auth {
                status,
                hint: format!(
                    "{}{hint}{}",
                    endpoint_prefix(endpoint),
                    notes(server_message.as_deref(), None, request_id.as_deref())
                ),
            },
            ClientError::Unavailable {
                endpoint,
                attempts,
                elapsed,
                detail,
                request_id,
            } => SourceError::Unavailable {
                attempts,
                detail: format!(
                    "{}{detail}{}",
                    endpoint_prefix(endpoint),
                    notes(None, Some(elapsed), request_id.as_deref())
                ),
            },
            ClientError::Rejected {
                endpoint,
                status,
                detail,
                request_id,
            } => SourceError::Rejected {
                // N.B. 0 stands for "no HTTP answer": the request could not be built.
                status: status.unwrap_or(0),
                detail: format!(
                    "{}{detail}{}",
                    endpoint_prefix(endpoint),
                    notes(None, None, request_id.as_deref())
                ),
            },
        }
    }
}

impl From<ClientError> for jcwatch_core::directory::LookupError {
    /// Look-up errors carry the whole message: which endpoint, the status, what to check.
    fn from(error: ClientError) -> Self {
        use jcwatch_core::directory::LookupError;
        match &error {
            ClientError::Auth { status, .. } => LookupError::Auth {
                status: *status,
                detail: error.to_string(),
            },
            ClientError::Unavailable { .. } => LookupError::Unavailable {
                detail: error.to_string(),
            },
            ClientError::Rejected { .. } => LookupError::Rejected {
                detail: error.to_string(),
            },
        }
    }
}

/// ` (server said "..."; after 1.5s; request id X)`, or nothing when there is nothing to add.
fn notes(
    server_message: Option<&str>,
    elapsed: Option<Duration>,
    request_id: Option<&str>,
) -> String {
    let mut parts = Vec::new();
    if let Some(message) = server_message {
        parts.push(format!("server said {message:?}"));
    }
    if let Some(elapsed) = elapsed {
        parts.push(format!("after {:.1}s", elapsed.as_secs_f64()));
    }
    if let Some(id) = request_id {
        parts.push(format!("request id {id}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_error_names_status_request_id_server_message_and_what_to_check() {
        let error = ClientError::Auth {
            endpoint: Endpoint::Events,
            status: 402,
            hint: auth_hint(402).to_owned(),
            server_message: Some("Payment Required".to_owned()),
            request_id: Some("req-7".to_owned()),
        };

        let text = error.to_string();

        assert!(text.starts_with("Directory Insights refused the request (HTTP 402, request id req-7) saying \"Payment Required\": payment required"), "{text}");
        assert!(text.contains("Directory Insights is enabled"), "{text}");
    }

    #[test]
    fn errors_map_onto_the_event_source_port() {
        let unavailable = ClientError::Unavailable {
            endpoint: Endpoint::Events,
            attempts: 4,
            elapsed: Duration::from_millis(1500),
            detail: "HTTP 503".to_owned(),
            request_id: None,
        };
        let rejected = ClientError::Rejected {
            endpoint: Endpoint::Events,
            status: None,
            detail: "bad org id".to_owned(),
            request_id: None,
        };

        let unavailable = SourceError::from(unavailable);
        let rejected = SourceError::from(rejected);

        assert!(
            matches!(&unavailable, SourceError::Unavailable { attempts: 4, detail } if detail == "HTTP 503 (after 1.5s)"),
            "{unavailable:?}"
        );
        assert!(
            matches!(&rejected, SourceError::Rejected { status: 0, detail } if detail == "bad org id"),
            "{rejected:?}"
        );
    }
}
