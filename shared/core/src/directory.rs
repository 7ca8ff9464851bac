//! The ports of enrichment that reach JumpCloud: looking a person up in the directory, and
//! reading one person's recent events from Directory Insights. The Directory Insights client
//! implements both; tests use in-memory versions.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jcwatch_model::enrichment::Profile;
use serde_json::Value;

/// Which directory a person lives in, as the event says (`initiated_by.type`,
/// `resource.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PersonKind {
    /// A JumpCloud user (`type: user`, or a RADIUS or device login's `username`).
    User,
    /// A console administrator (`type: admin`).
    Administrator,
}

/// How to find a person: what the event tells about them. At least one of the fields is set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonKey {
    pub kind: PersonKind,
    /// The directory object id, the surest key.
    pub id: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
}

impl PersonKey {
    /// A stable text key for caches and de-duplication: the kind and the surest identifier,
    /// lowercased (`user:id:5f0c...`, `admin:email:it.admin@example.com`).
    pub fn cache_key(&self) -> String {
        let kind = match self.kind {
            PersonKind::User => "user",
            PersonKind::Administrator => "admin",
        };
        let (field, value) = match (&self.id, &self.email, &self.username) {
            (Some(id), _, _) => ("id", id),
            (None, Some(email), _) => ("email", email),
            (None, None, Some(username)) => ("username", username),
            (None, None, None) => ("none", &String::new()),
        };
        format!("{kind}:{field}:{}", value.trim().to_lowercase())
    }

    /// Whether there is anything to look up by.
    pub fn is_usable(&self) -> bool {
        [&self.id, &self.username, &self.email]
            .into_iter()
            .flatten()
            .any(|v| !v.trim().is_empty())
    }
}

impl fmt::Display for PersonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cache_key())
    }
}

/// Why a look-up failed. A person who does not exist is not an error (`Ok(None)`). The
/// adapter's `detail` names the endpoint, the status and what to check.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LookupError {
    /// 401, 402 or 403: the credential cannot read the directory.
    #[error("{detail}")]
    Auth { status: u16, detail: String },
    /// Retries ran out on 429, 5xx or transport errors.
    #[error("{detail}")]
    Unavailable { detail: String },
    /// An answer the client cannot use.
    #[error("{detail}")]
    Rejected { detail: String },
}

/// Looks people up in JumpCloud's directory.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// The person's profile, `None` when the directory has no such person. `org_id` is the
    /// organisation the event came from (`None` for the credential's own).
    async fn lookup(
        &self,
        org_id: Option<&str>,
        person: &PersonKey,
    ) -> Result<Option<Profile>, LookupError>;
}

/// One person's events in a window.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityQuery {
    pub org_id: Option<String>,
    /// Every name the person goes by (email, username); matched against `initiated_by.email`,
    /// `initiated_by.username` and `username`.
    pub identities: Vec<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Most events returned.
    pub limit: u32,
}

/// The answer to an [`ActivityQuery`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityPage {
    /// The events as they arrived, oldest first.
    pub events: Vec<Value>,
    /// More events matched than `limit`.
    pub truncated: bool,
}

/// Reads one person's events from the audit log.
#[async_trait]
pub trait ActivitySource: Send + Sync {
    async fn person_events(&self, query: &ActivityQuery) -> Result<ActivityPage, LookupError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_prefers_the_id_and_ignores_case() {
        let by_id = PersonKey {
            kind: PersonKind::User,
            id: Some("5F0C".into()),
            username: Some("jane".into()),
            email: None,
        };
        let by_email = PersonKey {
            kind: PersonKind::Administrator,
            id: None,
            username: Some("x".into()),
            email: Some("IT.Admin@Example.com ".into()),
        };

        assert_eq!(by_id.cache_key(), "user:id:5f0c");
        assert_eq!(by_email.cache_key(), "admin:email:it.admin@example.com");
    }

    #[test]
    fn a_key_of_blanks_is_not_usable() {
        let blank = PersonKey {
            kind: PersonKind::User,
            id: Some(" ".into()),
            username: None,
            email: None,
        };

        assert!(!blank.is_usable());
    }
}
