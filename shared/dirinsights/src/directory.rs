//! JumpCloud's directory, read with the same credential, host selection, retries and error
//! handling as the events: users (v1 `GET /api/systemusers`), console administrators (v1
//! `GET /api/users`), and the user groups a user belongs to (v2 `GET /api/v2/users/{id}/memberof`
//! for the ids, `GET /api/v2/usergroups/{id}` for each name, which the graph does not carry).
//!
//! [`Client::lookup_person`] turns what an event says about a person into a [`Profile`]: the
//! user record, the groups with their names, the manager's name (one more small request), and
//! whether the person is also an administrator. Administrators have no documented "get one"
//! route, so they are found in the list with an `email` filter; an administrator who is also a
//! user gets the user record's job title, department and groups.
//!
//! A person the directory does not hold is `Ok(None)`, not an error: a deleted user or a
//! made-up username in a failed login is ordinary.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jcwatch_core::directory::{
    ActivityPage, ActivityQuery, ActivitySource, LookupError, PersonKey, PersonKind, UserDirectory,
};
use jcwatch_model::enrichment::{AccountKind, AdminRole, GroupRef, Manager, Mfa, Profile};
use jcwatch_model::time::parse_timestamp;
use reqwest::Url;
use serde_json::{Map, Value, json};

use crate::client::Client;
use crate::error::{ClientError, Endpoint};

/// Most groups listed per person; the total is still reported.
pub const MAX_GROUPS: usize = 50;
/// Group names fetched at once.
const GROUP_NAME_CONCURRENCY: usize = 4;
/// Longest directory text kept (the schema's own maximum for most fields).
const MAX_FIELD_CHARS: usize = 1_024;
/// The fields asked for when only a manager's name is wanted.
const MANAGER_FIELDS: &str = "_id username email firstname lastname displayname";

impl Client {
    /// A user by directory id; `None` when there is none.
    pub async fn system_user(
        &self,
        org_id: Option<&str>,
        id: &str,
        fields: Option<&str>,
    ) -> Result<Option<Map<String, Value>>, ClientError> {
        let mut url = self.directory_endpoint(&["api", "systemusers", id.trim()]);
        if let Some(fields) = fields {
            url.query_pairs_mut().append_pair("fields", fields);
        }
        let Some(body) = self.get_json(Endpoint::Users, org_id, url).await? else {
            return Ok(None);
        };
        match body {
            Value::Object(record) => Ok(Some(record)),
            other => Err(self.unexpected(Endpoint::Users, "a user object", &other)),
        }
    }

    /// The user whose `field` (`email`, `username`) equals `value`; `None` when there is none.
    ///
    /// N.B. the v1 filter compares case-sensitively, so the caller passes the value as the
    /// event spells it.
    pub async fn find_system_user(
        &self,
        org_id: Option<&str>,
        field: &str,
        value: &str,
    ) -> Result<Option<Map<String, Value>>, ClientError> {
        let url = self.filtered_list(&["api", "systemusers"], field, value);
        self.first_result(Endpoint::Users, org_id, url).await
    }

    /// The console administrator whose `field` (`email`, `_id`) equals `value`.
    pub async fn find_administrator(
        &self,
        org_id: Option<&str>,
        field: &str,
        value: &str,
    ) -> Result<Option<Map<String, Value>>, ClientError> {
        let url = self.filtered_list(&["api", "users"], field, value);
        self.first_result(Endpoint::Administrators, org_id, url)
            .await
    }

    /// The ids of the user groups a user belongs to (directly or through other groups), at
    /// most [`MAX_GROUPS`], and how many there are in all. `None` when the user is unknown.
    pub async fn user_group_ids(
        &self,
        org_id: Option<&str>,
        user_id: &str,
    ) -> Result<Option<(Vec<String>, usize)>, ClientError> {
        let mut url = self.directory_endpoint(&["api", "v2", "users", user_id.trim(), "memberof"]);
        url.query_pairs_mut()
            .append_pair("limit", &MAX_GROUPS.to_string())
            .append_pair("skip", "0")
            .append_pair("filter", "type:eq:user_group");
        let Some((body, total)) = self.get_json_counted(Endpoint::Groups, org_id, url).await?
        else {
            return Ok(None);
        };
        let Value::Array(items) = body else {
            return Err(self.unexpected(Endpoint::Groups, "an array of graph objects", &body));
        };
        let ids: Vec<String> = items
            .iter()
            .filter(|item| {
                item.get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "user_group")
            })
            .filter_map(|item| item.get("id").and_then(Value::as_str))
            .map(|id| clean(id, 64))
            .filter(|id| !id.is_empty())
            .take(MAX_GROUPS)
            .collect();
        let total = total.unwrap_or(ids.len()).max(ids.len());
        Ok(Some((ids, total)))
    }

    /// A user group's name, cached for the life of the client; `None` for an unknown group.
    pub async fn user_group_name(
        &self,
        org_id: Option<&str>,
        group_id: &str,
    ) -> Result<Option<String>, ClientError> {
        let org = org_id.unwrap_or_default();
        if let Some(name) = self.cached_group_name(org, group_id) {
            return Ok(Some(name));
        }
        let url = self.directory_endpoint(&["api", "v2", "usergroups", group_id.trim()]);
        let Some(body) = self.get_json(Endpoint::Groups, org_id, url).await? else {
            return Ok(None);
        };
        let name = body
            .get("name")
            .and_then(Value::as_str)
            .map(|n| clean(n, MAX_FIELD_CHARS))
            .filter(|n| !n.is_empty());
        if let Some(name) = &name {
            self.remember_group_name(org, group_id, name);
        }
        Ok(name)
    }

    /// Everything the directory says about the person an event names: see the module docs.
    pub async fn lookup_person(
        &self,
        org_id: Option<&str>,
        person: &PersonKey,
    ) -> Result<Option<Profile>, ClientError> {
        match person.kind {
            PersonKind::User => self.lookup_user(org_id, person).await,
            PersonKind::Administrator => self.lookup_administrator(org_id, person).await,
        }
    }

    async fn lookup_user(
        &self,
        org_id: Option<&str>,
        person: &PersonKey,
    ) -> Result<Option<Profile>, ClientError> {
        let Some(record) = self.find_user_record(org_id, person).await? else {
            return Ok(None);
        };
        let mut profile = profile_from_user(&record);
        self.complete_user(org_id, &mut profile).await?;

        // A user may also administer the console; the user record only says so for some
        // account types, so ask the administrators list by email too.
        if profile.admin.is_none()
            && let Some(email) = profile.email.clone()
        {
            match self.find_administrator(org_id, "email", &email).await {
                Ok(Some(admin)) => profile.admin = Some(admin_role(&admin)),
                Ok(None) => {}
                // Not being able to list administrators must not lose the user's profile.
                Err(error) => tracing::debug!(
                    error = %error,
                    "could not check whether a user is also an administrator"
                ),
            }
        }
        Ok(Some(profile))
    }

    async fn lookup_administrator(
        &self,
        org_id: Option<&str>,
        person: &PersonKey,
    ) -> Result<Option<Profile>, ClientError> {
        let email = person
            .email
            .as_deref()
            .or(person.username.as_deref().filter(|u| u.contains('@')));
        let admin = match (email, &person.id) {
            (Some(email), _) => self.find_administrator(org_id, "email", email).await?,
            (None, Some(id)) => self.find_administrator(org_id, "_id", id).await?,
            (None, None) => None,
        };
        let Some(admin) = admin else {
            return Ok(None);
        };
        let admin_profile = profile_from_admin(&admin);

        // The same person is often a user too: take their job title, department and groups.
        let user = match admin_profile.email.as_deref() {
            Some(email) => self.find_system_user(org_id, "email", email).await?,
            None => None,
        };
        let Some(user) = user else {
            return Ok(Some(admin_profile));
        };
        let mut profile = profile_from_user(&user);
        self.complete_user(org_id, &mut profile).await?;
        profile.kind = AccountKind::Administrator;
        // Console logins use the administrator's own MFA, not the user's.
        profile.mfa = admin_profile.mfa;
        profile.admin = admin_profile.admin;
        profile.suspended = admin_profile.suspended.or(profile.suspended);
        Ok(Some(profile))
    }

    /// The user record, by id when the event gives one, else by email, else by username.
    async fn find_user_record(
        &self,
        org_id: Option<&str>,
        person: &PersonKey,
    ) -> Result<Option<Map<String, Value>>, ClientError> {
        if let Some(id) = person.id.as_deref().filter(|id| plausible_id(id))
            && let Some(record) = self.system_user(org_id, id, None).await?
        {
            return Ok(Some(record));
        }
        if let Some(email) = person.email.as_deref().filter(|e| !e.trim().is_empty())
            && let Some(record) = self.find_system_user(org_id, "email", email.trim()).await?
        {
            return Ok(Some(record));
        }
        if let Some(username) = person.username.as_deref().filter(|u| !u.trim().is_empty()) {
            let field = if username.contains('@') {
                "email"
            } else {
                "username"
            };
            return self.find_system_user(org_id, field, username.trim()).await;
        }
        Ok(None)
    }

    /// Adds the groups (with names) and the manager's name to a user's profile.
    async fn complete_user(
        &self,
        org_id: Option<&str>,
        profile: &mut Profile,
    ) -> Result<(), ClientError> {
        if let Some((ids, total)) = self.user_group_ids(org_id, &profile.id).await? {
            profile.groups = self.group_refs(org_id, ids).await?;
            profile.groups_total =
                (total > profile.groups.len()).then(|| u32::try_from(total).unwrap_or(u32::MAX));
        }

        if let Some(manager) = profile.manager.as_mut()
            && plausible_id(&manager.id)
            && let Some(record) = self
                .system_user(org_id, &manager.id, Some(MANAGER_FIELDS))
                .await?
        {
            manager.name = person_name(&record);
            manager.email = text(&record, "email");
        }
        Ok(())
    }

    /// Names the groups, a few requests at a time; an unknown group keeps only its id.
    async fn group_refs(
        &self,
        org_id: Option<&str>,
        ids: Vec<String>,
    ) -> Result<Vec<GroupRef>, ClientError> {
        let mut groups = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(GROUP_NAME_CONCURRENCY) {
            let names =
                futures::future::join_all(chunk.iter().map(|id| self.user_group_name(org_id, id)))
                    .await;
            for (id, name) in chunk.iter().zip(names) {
                groups.push(GroupRef {
                    id: id.clone(),
                    name: name?,
                });
            }
        }
        Ok(groups)
    }

    /// `GET url`: the JSON body, or `None` on 404 (and on 400, which the v1 API gives for an
    /// id that is not an object id).
    async fn get_json(
        &self,
        endpoint: Endpoint,
        org_id: Option<&str>,
        url: Url,
    ) -> Result<Option<Value>, ClientError> {
        Ok(self
            .get_json_counted(endpoint, org_id, url)
            .await?
            .map(|(body, _)| body))
    }

    /// As [`Client::get_json`], with the `x-total-count` header of v2 list answers.
    async fn get_json_counted(
        &self,
        endpoint: Endpoint,
        org_id: Option<&str>,
        url: Url,
    ) -> Result<Option<(Value, Option<usize>)>, ClientError> {
        let answer = self
            .send_authorized(endpoint, org_id, |http| {
                http.get(url.clone())
                    .header(reqwest::header::ACCEPT, "application/json")
            })
            .await?;
        if let Some(error) = self.fatal_error(endpoint, &answer) {
            return Err(error);
        }
        if answer.status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&answer.status) {
            return Err(self.rejected(endpoint, &answer));
        }
        let body: Value =
            serde_json::from_slice(&answer.body).map_err(|e| ClientError::Rejected {
                endpoint,
                status: Some(answer.status),
                detail: format!("the answer is not JSON: {e}"),
                request_id: answer.request_id.clone(),
            })?;
        let total = answer
            .headers
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        tracing::debug!(
            endpoint = %endpoint,
            status = answer.status,
            attempt = answer.attempts,
            request_id = answer.request_id.as_deref().unwrap_or(""),
            "directory answer"
        );
        Ok(Some((body, total)))
    }

    /// `GET {path}?filter={field}:$eq:{value}&limit=2&sort=_id`.
    fn filtered_list(&self, path: &[&str], field: &str, value: &str) -> Url {
        let mut url = self.directory_endpoint(path);
        url.query_pairs_mut()
            .append_pair("filter", &format!("{field}:$eq:{value}"))
            .append_pair("limit", "2")
            .append_pair("sort", "_id");
        url
    }

    /// The first record of a v1 list answer `{results, totalCount}`.
    async fn first_result(
        &self,
        endpoint: Endpoint,
        org_id: Option<&str>,
        url: Url,
    ) -> Result<Option<Map<String, Value>>, ClientError> {
        let Some(body) = self.get_json(endpoint, org_id, url).await? else {
            return Ok(None);
        };
        let Some(results) = body.get("results").and_then(Value::as_array) else {
            return Err(self.unexpected(endpoint, "{results, totalCount}", &body));
        };
        if results.len() > 1 {
            // Emails and usernames are unique in JumpCloud; two answers mean the filter was
            // not applied, and taking the first would name the wrong person.
            return Err(ClientError::Rejected {
                endpoint,
                status: Some(200),
                detail: "the filtered list answered more than one record; the filter was not \
                         applied"
                    .to_owned(),
                request_id: None,
            });
        }
        Ok(results.first().and_then(Value::as_object).cloned())
    }

    fn unexpected(&self, endpoint: Endpoint, expected: &str, found: &Value) -> ClientError {
        let kind = match found {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        ClientError::Rejected {
            endpoint,
            status: Some(200),
            detail: format!("expected {expected}, got {kind}"),
            request_id: None,
        }
    }

    /// `POST /insights/directory/v1/events` filtered on one person (every spelling of their
    /// name, lowercased, since Directory Insights lowercases values when it indexes them).
    pub async fn person_events(&self, query: &ActivityQuery) -> Result<ActivityPage, ClientError> {
        let names: Vec<String> = {
            let mut names: Vec<String> = query
                .identities
                .iter()
                .map(|n| n.trim().to_lowercase())
                .filter(|n| !n.is_empty())
                .collect();
            names.sort();
            names.dedup();
            names
        };
        if names.is_empty() || query.start >= query.end {
            return Ok(ActivityPage::default());
        }
        let search_term = json!({"or": [
            {"initiated_by.username": names},
            {"initiated_by.email": names},
            {"username": names},
        ]});
        let (events, truncated) = self
            .search_events(
                query.org_id.as_deref(),
                query.start,
                query.end,
                search_term,
                query.limit,
            )
            .await?;
        Ok(ActivityPage { events, truncated })
    }
}

#[async_trait]
impl UserDirectory for Client {
    async fn lookup(
        &self,
        org_id: Option<&str>,
        person: &PersonKey,
    ) -> Result<Option<Profile>, LookupError> {
        self.lookup_person(org_id, person).await.map_err(Into::into)
    }
}

#[async_trait]
impl ActivitySource for Client {
    async fn person_events(&self, query: &ActivityQuery) -> Result<ActivityPage, LookupError> {
        Client::person_events(self, query).await.map_err(Into::into)
    }
}

/// Object ids are 24 hex digits; anything of a sane shape is tried, since the path segment
/// is encoded either way.
fn plausible_id(id: &str) -> bool {
    let id = id.trim();
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Text from outside: control characters removed, trimmed, bounded.
fn clean(value: &str, max_chars: usize) -> String {
    value
        .chars()
        .filter(|c| !c.is_control())
        .take(max_chars)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn text(record: &Map<String, Value>, key: &str) -> Option<String> {
    record
        .get(key)
        .and_then(Value::as_str)
        .map(|v| clean(v, MAX_FIELD_CHARS))
        .filter(|v| !v.is_empty())
}

fn flag(record: &Map<String, Value>, key: &str) -> Option<bool> {
    match record.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn time(record: &Map<String, Value>, key: &str) -> Option<DateTime<Utc>> {
    record
        .get(key)
        .and_then(Value::as_str)
        .and_then(|t| parse_timestamp(t).ok())
}

/// The display name, else first (middle) last.
fn person_name(record: &Map<String, Value>) -> Option<String> {
    if let Some(name) = text(record, "displayname") {
        return Some(name);
    }
    let parts: Vec<String> = ["firstname", "middlename", "lastname"]
        .iter()
        .filter_map(|k| text(record, k))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A v1 `systemuser` record as a profile (groups and manager name come separately).
pub fn profile_from_user(record: &Map<String, Value>) -> Profile {
    let mfa = record.get("mfa").and_then(Value::as_object);
    let enrollment = record.get("mfaEnrollment").and_then(Value::as_object);
    let totp_status = enrollment.and_then(|e| text(e, "totpStatus"));
    let totp_enrolled = match (flag(record, "totp_enabled"), totp_status.as_deref()) {
        (_, Some("ENROLLED")) => Some(true),
        (Some(enabled), _) => Some(enabled),
        (None, Some(_)) => Some(false),
        (None, None) => None,
    };
    let admin = record
        .get("admin")
        .and_then(Value::as_object)
        .map(admin_role);

    Profile {
        id: text(record, "_id")
            .or_else(|| text(record, "id"))
            .unwrap_or_default(),
        kind: AccountKind::User,
        username: text(record, "username"),
        email: text(record, "email"),
        name: person_name(record),
        job_title: text(record, "jobTitle"),
        department: text(record, "department"),
        cost_center: text(record, "costCenter"),
        company: text(record, "company"),
        location: text(record, "location"),
        employee_type: text(record, "employeeType"),
        manager: text(record, "manager").map(|id| Manager {
            id,
            ..Manager::default()
        }),
        state: text(record, "state"),
        suspended: flag(record, "suspended"),
        account_locked: flag(record, "account_locked"),
        mfa: Mfa {
            configured: mfa.and_then(|m| flag(m, "configured")),
            totp_enrolled,
            status: enrollment.and_then(|e| text(e, "overallStatus")),
            excluded: mfa.and_then(|m| flag(m, "exclusion")),
            exclusion_until: mfa.and_then(|m| time(m, "exclusionUntil")),
        },
        created: time(record, "created"),
        groups: Vec::new(),
        groups_total: None,
        admin,
    }
}

/// A v1 administrator (`userreturn`) record as a profile.
pub fn profile_from_admin(record: &Map<String, Value>) -> Profile {
    Profile {
        id: text(record, "_id")
            .or_else(|| text(record, "id"))
            .unwrap_or_default(),
        kind: AccountKind::Administrator,
        email: text(record, "email"),
        name: person_name(record),
        suspended: flag(record, "suspended"),
        mfa: Mfa {
            configured: flag(record, "enableMultiFactor"),
            totp_enrolled: flag(record, "totpEnrolled"),
            ..Mfa::default()
        },
        created: time(record, "created"),
        admin: Some(admin_role(record)),
        ..Profile::default()
    }
}

fn admin_role(record: &Map<String, Value>) -> AdminRole {
    let role = text(record, "roleName").or_else(|| {
        record
            .get("roleNames")
            .and_then(Value::as_array)
            .map(|names| {
                names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|n| clean(n, 100))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|n| !n.is_empty())
    });
    AdminRole {
        role,
        admin_id: text(record, "_id").or_else(|| text(record, "id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_user_record_becomes_a_profile_with_mfa_and_state() {
        let user = record(json!({
            "_id": "5f0c1a2b3c4d5e6f7a8b9c0d",
            "username": "jane.doe",
            "email": "jane.doe@example.com",
            "firstname": "Jane", "lastname": "Doe", "displayname": "",
            "jobTitle": "Senior Accountant", "department": "Finance", "costCenter": "FIN-200",
            "location": "Paris", "employeeType": "Full-time",
            "manager": "5f0c1a2b3c4d5e6f7a8b9c0e",
            "state": "ACTIVATED", "suspended": false, "account_locked": true,
            "mfa": {"configured": true, "exclusion": true, "exclusionUntil": "2026-02-01T00:00:00Z"},
            "mfaEnrollment": {"overallStatus": "ENROLLED", "totpStatus": "ENROLLED"},
            "totp_enabled": false,
            "created": "2023-04-01T10:00:00.000Z",
            "admin": null
        }));

        let profile = profile_from_user(&user);

        assert_eq!(profile.name.as_deref(), Some("Jane Doe"));
        assert_eq!(profile.cost_center.as_deref(), Some("FIN-200"));
        assert_eq!(profile.manager.unwrap().id, "5f0c1a2b3c4d5e6f7a8b9c0e");
        assert_eq!(profile.account_locked, Some(true));
        assert_eq!(profile.mfa.totp_enrolled, Some(true));
        assert_eq!(profile.mfa.excluded, Some(true));
        assert!(profile.mfa.exclusion_until.is_some());
        assert!(profile.admin.is_none());
        assert_eq!(
            profile.created.unwrap().to_rfc3339(),
            "2023-04-01T10:00:00+00:00"
        );
    }

    #[test]
    fn an_administrator_record_becomes_an_administrator_profile() {
        let admin = record(json!({
            "_id": "a1", "email": "it.admin@example.com", "firstname": "Ian", "lastname": "Tan",
            "enableMultiFactor": false, "totpEnrolled": false,
            "roleName": "Administrator with Billing", "suspended": false
        }));

        let profile = profile_from_admin(&admin);

        assert!(profile.is_admin());
        assert_eq!(profile.kind, AccountKind::Administrator);
        assert_eq!(profile.mfa.configured, Some(false));
        assert_eq!(
            profile.admin.unwrap().role.as_deref(),
            Some("Administrator with Billing")
        );
    }

    #[test]
    fn directory_text_loses_control_characters_and_is_bounded() {
        let user = record(json!({"_id": "x", "jobTitle": format!("CFO\r\n{}", "a".repeat(5000))}));

        let profile = profile_from_user(&user);

        let title = profile.job_title.unwrap();
        assert!(title.starts_with("CFOaaa"), "{title}");
        assert_eq!(title.chars().count(), MAX_FIELD_CHARS);
    }

    #[test]
    fn only_ids_of_a_sane_shape_are_used_as_paths() {
        assert!(plausible_id("5f0c1a2b3c4d5e6f7a8b9c0d"));
        assert!(!plausible_id("../../api/users"));
        assert!(!plausible_id(""));
    }
}
