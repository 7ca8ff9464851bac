//! What enrichment adds to an alert: who the people are (from JumpCloud's directory), what
//! the source address is (from the configured address lists and the person's history), and
//! what else the person did around that time (from the batch and Directory Insights).
//!
//! Every part is optional: a look-up that failed or ran out of time leaves its part empty and
//! says why in [`Enrichment::notes`], so an alert is never held back for want of context.
//! The types are plain data, serialised into the stored alert and the CLI's JSON lines; the
//! `describe` helpers give the short wording the CLI table and the notifications share.
//!
//! N.B. directory values (job titles, group names, manager names) are typed by whoever
//! administers JumpCloud, so renderers treat them like any other text from outside.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::address::AddressMatch;

/// Context added to one alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Enrichment {
    /// The person who acted, then the person acted upon, when they are people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<PersonContext>,
    /// The alert's source address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressContext>,
    /// The acting person's other activity around the alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Activity>,
    /// What could not be added, and why (a look-up that failed or ran out of time).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Enrichment {
    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
            && self.address.is_none()
            && self.activity.is_none()
            && self.notes.is_empty()
    }

    /// The context of the person in `role`, if any.
    pub fn person(&self, role: Role) -> Option<&PersonContext> {
        self.people.iter().find(|p| p.role == role)
    }

    /// One line for a table: who the actor is, what the address is.
    /// `Jane Doe (Senior Accountant, Finance; groups Finance, VPN users) · Tor exit, first time
    /// seen for this person`.
    pub fn one_line(&self) -> String {
        let mut parts = Vec::new();
        let person = self
            .person(Role::Actor)
            .or_else(|| self.person(Role::Target));
        if let Some(person) = person {
            parts.push(person.describe());
        }
        if let Some(address) = &self.address {
            let described = address.describe();
            if !described.is_empty() {
                parts.push(described);
            }
        }
        if parts.is_empty() && !self.notes.is_empty() {
            parts.push(format!("not enriched: {}", self.notes.join("; ")));
        }
        parts.join(" · ")
    }
}

/// Which part a person plays in an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The person who did it (`initiated_by`).
    Actor,
    /// The person it was done to (`resource`).
    Target,
}

/// How a directory look-up ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupOutcome {
    Found,
    /// The directory has no such user or administrator (deleted, or never existed).
    NotFound,
    /// The directory answered with an error; see the notes.
    Failed,
    /// The look-up did not finish within the batch's time budget.
    TimedOut,
    /// Not looked up: no directory configured, or the batch's look-up limit was reached.
    Skipped,
}

/// One person of an alert and what the directory says about them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonContext {
    pub role: Role,
    /// The name the event gives (an email, a username or an id).
    pub identity: String,
    pub lookup: LookupOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// Whether the profile came from the enrichment cache rather than a fresh look-up.
    #[serde(default)]
    pub cached: bool,
}

impl PersonContext {
    /// `Jane Doe (Senior Accountant, Finance; groups Finance, VPN users)`, or the identity and
    /// what became of the look-up.
    pub fn describe(&self) -> String {
        match (&self.profile, self.lookup) {
            (Some(profile), _) => profile.describe(),
            (None, LookupOutcome::NotFound) => {
                format!("{} (not in the JumpCloud directory)", self.identity)
            }
            (None, LookupOutcome::TimedOut) => {
                format!("{} (directory look-up timed out)", self.identity)
            }
            (None, LookupOutcome::Failed) => {
                format!("{} (directory look-up failed)", self.identity)
            }
            (None, _) => self.identity.clone(),
        }
    }
}

/// Whether a directory record is an end user or an administrator of the organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A JumpCloud user (a v1 `systemuser`).
    #[default]
    User,
    /// An administrator of the JumpCloud console (a v1 `user`), possibly also a user.
    Administrator,
}

/// What JumpCloud's directory says about a person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The directory's object id.
    pub id: String,
    pub kind: AccountKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The display name, else first and last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
    /// `STAGED`, `ACTIVATED` or `SUSPENDED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_locked: Option<bool>,
    #[serde(default)]
    pub mfa: Mfa,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    /// User groups the person belongs to, directly or through other groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupRef>,
    /// How many groups there are in all, when more than `groups` lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_total: Option<u32>,
    /// Set when the person administers the JumpCloud organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminRole>,
}

impl Profile {
    pub fn is_admin(&self) -> bool {
        self.admin.is_some() || self.kind == AccountKind::Administrator
    }

    /// The best name to show: the name, else the username, else the email, else the id.
    pub fn display_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.username.as_deref())
            .or(self.email.as_deref())
            .unwrap_or(&self.id)
    }

    /// `Senior Accountant, Finance`: job title and department, whichever are known.
    pub fn position(&self) -> Option<String> {
        let parts: Vec<&str> = [self.job_title.as_deref(), self.department.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// Group names (ids where a name is unknown), with a count of the rest.
    pub fn group_names(&self, max: usize) -> Option<String> {
        if self.groups.is_empty() {
            return None;
        }
        let mut names: Vec<&str> = self
            .groups
            .iter()
            .take(max)
            .map(|g| g.name.as_deref().unwrap_or(&g.id))
            .collect();
        names.sort_unstable();
        let total = self
            .groups_total
            .map_or(self.groups.len(), |t| t as usize)
            .max(self.groups.len());
        let rest = total.saturating_sub(names.len());
        let mut text = names.join(", ");
        if rest > 0 {
            text.push_str(&format!(" and {rest} more"));
        }
        Some(text)
    }

    /// Account state worth a second look: suspended, locked, not activated, no MFA.
    pub fn warnings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self.suspended == Some(true) {
            warnings.push("suspended");
        }
        if self.account_locked == Some(true) {
            warnings.push("locked");
        }
        if self.state.as_deref() == Some("STAGED") {
            warnings.push("not yet activated");
        }
        if self.mfa.configured == Some(false) && self.mfa.totp_enrolled != Some(true) {
            warnings.push("no MFA");
        }
        if self.mfa.excluded == Some(true) {
            warnings.push("excluded from MFA");
        }
        warnings
    }

    /// `Jane Doe (Senior Accountant, Finance; groups Finance, VPN users; admin role Manager)`.
    pub fn describe(&self) -> String {
        let mut details = Vec::new();
        if let Some(position) = self.position() {
            details.push(position);
        }
        if let Some(groups) = self.group_names(3) {
            details.push(format!("groups {groups}"));
        }
        if self.is_admin() {
            details.push(match self.admin.as_ref().and_then(|a| a.role.as_deref()) {
                Some(role) => format!("admin role {role}"),
                None => "administrator".to_string(),
            });
        }
        for warning in self.warnings() {
            details.push(warning.to_string());
        }
        if details.is_empty() {
            self.display_name().to_string()
        } else {
            format!("{} ({})", self.display_name(), details.join("; "))
        }
    }
}

/// A person's manager. The directory holds only the id; the name is resolved when cheap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manager {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Manager {
    pub fn describe(&self) -> String {
        match (&self.name, &self.email) {
            (Some(name), Some(email)) => format!("{name} <{email}>"),
            (Some(name), None) => name.clone(),
            (None, Some(email)) => email.clone(),
            (None, None) => format!("user id {}", self.id),
        }
    }
}

/// MFA as the directory records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mfa {
    /// `mfa.configured` (users) or `enableMultiFactor` (administrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured: Option<bool>,
    /// `totp_enabled` or `mfaEnrollment.totpStatus == ENROLLED` (users), `totpEnrolled`
    /// (administrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_enrolled: Option<bool>,
    /// `mfaEnrollment.overallStatus` (`ENROLLED`, `NOT_ENROLLED`, `PENDING_ACTIVATION`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `mfa.exclusion`: MFA is waived for this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_until: Option<DateTime<Utc>>,
}

impl Mfa {
    /// `MFA configured, TOTP enrolled`, or what is known.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.configured {
            Some(true) => parts.push("MFA configured".to_string()),
            Some(false) => parts.push("MFA not configured".to_string()),
            None => {}
        }
        match self.totp_enrolled {
            Some(true) => parts.push("TOTP enrolled".to_string()),
            Some(false) => parts.push("no TOTP".to_string()),
            None => {}
        }
        if let Some(status) = &self.status {
            parts.push(format!("enrolment {}", status.to_ascii_lowercase()));
        }
        if self.excluded == Some(true) {
            match self.exclusion_until {
                Some(until) => parts.push(format!(
                    "excluded from MFA until {}",
                    until.format("%Y-%m-%d")
                )),
                None => parts.push("excluded from MFA".to_string()),
            }
        }
        if parts.is_empty() {
            "unknown".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// A user group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An administrator's role in the JumpCloud console.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdminRole {
    /// `Administrator with Billing`, `Manager`, `Read Only`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The administrator record's id (it differs from the user record's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_id: Option<String>,
}

/// What is known about the alert's source address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AddressContext {
    pub ip: String,
    /// The configured lists holding it, most specific first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lists: Vec<AddressMatch>,
    /// A private, loopback or link-local address.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    /// Whether this person used the address before the alert. `None`: unknown (no person,
    /// or the history could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_before: Option<bool>,
    /// When jcwatch started keeping this organisation's address history; a "first time"
    /// soon after it means little.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_since: Option<DateTime<Utc>>,
}

impl AddressContext {
    /// `Tor exit; first time seen for this person`.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for found in &self.lists {
            if !parts.contains(&found.label) {
                parts.push(found.label.clone());
            }
        }
        if self.internal {
            parts.push("private network address".to_string());
        }
        match self.seen_before {
            Some(false) => parts.push("first time seen for this person".to_string()),
            Some(true) => parts.push("used by this person before".to_string()),
            None => {}
        }
        parts.join("; ")
    }
}

/// The acting person's activity in a window around the alert.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub identity: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// Whether Directory Insights was asked for the part of the window the batch did not hold.
    #[serde(default)]
    pub queried_directory_insights: bool,
    pub events: u32,
    pub logins_failed: u32,
    pub logins_succeeded: u32,
    pub mfa_changes: u32,
    pub admin_changes: u32,
    /// Distinct source addresses, at most a few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// Distinct countries (ISO codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// The most telling events, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub highlights: Vec<ActivityLine>,
    /// More events existed than were read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl Activity {
    /// `14 events: 12 failed logins, 1 successful login, 1 MFA change; from 2 addresses (NG, FR)`.
    pub fn describe(&self) -> String {
        fn count(n: u32, one: &str, many: &str) -> Option<String> {
            (n > 0).then(|| format!("{n} {}", if n == 1 { one } else { many }))
        }
        let kinds: Vec<String> = [
            count(self.logins_failed, "failed login", "failed logins"),
            count(
                self.logins_succeeded,
                "successful login",
                "successful logins",
            ),
            count(self.mfa_changes, "MFA change", "MFA changes"),
            count(self.admin_changes, "admin change", "admin changes"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut text = format!(
            "{}{} event{}",
            if self.truncated { "at least " } else { "" },
            self.events,
            if self.events == 1 { "" } else { "s" }
        );
        if !kinds.is_empty() {
            text.push_str(": ");
            text.push_str(&kinds.join(", "));
        }
        if !self.addresses.is_empty() {
            let n = self.addresses.len();
            text.push_str(&format!(
                "; from {n} address{}",
                if n == 1 { "" } else { "es" }
            ));
            if !self.countries.is_empty() {
                text.push_str(&format!(" ({})", self.countries.join(", ")));
            }
        }
        text
    }
}

/// One event of the related activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityLine {
    pub at: DateTime<Utc>,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// What it touched (an application, a user, a policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ActivityLine {
    /// `09:02:11 user_login_attempt failed from 203.0.113.45 (NG)`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.at.format("%H:%M:%S"), self.event_type);
        match self.success {
            Some(true) => text.push_str(" succeeded"),
            Some(false) => text.push_str(" failed"),
            None => {}
        }
        if let Some(detail) = &self.detail {
            text.push_str(&format!(" ({detail})"));
        }
        if let Some(ip) = &self.ip {
            text.push_str(&format!(" from {ip}"));
            if let Some(country) = &self.country {
                text.push_str(&format!(" ({country})"));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Nature;

    fn jane() -> Profile {
        Profile {
            id: "5f0c1a2b3c4d5e6f7a8b9c0d".into(),
            username: Some("jane.doe".into()),
            email: Some("jane.doe@example.com".into()),
            name: Some("Jane Doe".into()),
            job_title: Some("Senior Accountant".into()),
            department: Some("Finance".into()),
            groups: vec![
                GroupRef {
                    id: "g2".into(),
                    name: Some("VPN users".into()),
                },
                GroupRef {
                    id: "g1".into(),
                    name: Some("Finance".into()),
                },
            ],
            mfa: Mfa {
                configured: Some(true),
                totp_enrolled: Some(true),
                ..Mfa::default()
            },
            ..Profile::default()
        }
    }

    #[test]
    fn a_profile_reads_as_name_position_and_groups() {
        assert_eq!(
            jane().describe(),
            "Jane Doe (Senior Accountant, Finance; groups Finance, VPN users)"
        );
    }

    #[test]
    fn an_administrator_without_mfa_says_so() {
        let mut profile = jane();
        profile.admin = Some(AdminRole {
            role: Some("Administrator with Billing".into()),
            admin_id: None,
        });
        profile.mfa = Mfa {
            configured: Some(false),
            totp_enrolled: Some(false),
            ..Mfa::default()
        };

        let text = profile.describe();

        assert!(
            text.contains("admin role Administrator with Billing"),
            "{text}"
        );
        assert!(text.contains("no MFA"), "{text}");
    }

    #[test]
    fn many_groups_are_counted_not_listed() {
        let mut profile = jane();
        profile.groups_total = Some(40);

        assert_eq!(profile.group_names(1).unwrap(), "VPN users and 39 more");
    }

    #[test]
    fn an_address_reads_as_its_lists_and_history() {
        let address = AddressContext {
            ip: "203.0.113.45".into(),
            lists: vec![AddressMatch {
                list: "tor".into(),
                nature: Nature::Anonymising,
                label: "Tor exit".into(),
            }],
            seen_before: Some(false),
            ..AddressContext::default()
        };

        assert_eq!(
            address.describe(),
            "Tor exit; first time seen for this person"
        );
    }

    #[test]
    fn the_one_line_summary_joins_person_and_address_or_says_why_it_is_missing() {
        let full = Enrichment {
            people: vec![PersonContext {
                role: Role::Actor,
                identity: "jane.doe@example.com".into(),
                lookup: LookupOutcome::Found,
                profile: Some(jane()),
                cached: false,
            }],
            address: Some(AddressContext {
                ip: "10.0.0.1".into(),
                internal: true,
                ..AddressContext::default()
            }),
            ..Enrichment::default()
        };
        let bare = Enrichment {
            notes: vec!["directory look-up of x timed out".into()],
            ..Enrichment::default()
        };

        assert_eq!(
            full.one_line(),
            "Jane Doe (Senior Accountant, Finance; groups Finance, VPN users) · private network address"
        );
        assert_eq!(
            bare.one_line(),
            "not enriched: directory look-up of x timed out"
        );
    }

    #[test]
    fn activity_reads_as_counts_and_places() {
        let activity = Activity {
            identity: "jane.doe".into(),
            window_start: Utc::now(),
            window_end: Utc::now(),
            events: 14,
            logins_failed: 12,
            logins_succeeded: 1,
            mfa_changes: 1,
            addresses: vec!["203.0.113.45".into(), "192.0.2.10".into()],
            countries: vec!["NG".into(), "FR".into()],
            ..Activity::default()
        };

        assert_eq!(
            activity.describe(),
            "14 events: 12 failed logins, 1 successful login, 1 MFA change; from 2 addresses (NG, FR)"
        );
    }

    #[test]
    fn an_enrichment_round_trips_through_json() {
        let enrichment = Enrichment {
            people: vec![PersonContext {
                role: Role::Target,
                identity: "jane.doe".into(),
                lookup: LookupOutcome::Found,
                profile: Some(jane()),
                cached: true,
            }],
            notes: vec!["n".into()],
            ..Enrichment::default()
        };

        let text = serde_json::to_string(&enrichment).unwrap();
        let back: Enrichment = serde_json::from_str(&text).unwrap();

        assert_eq!(back, enrichment);
        assert!(
            text.contains("\"job_title\":\"Senior Accountant\""),
            "{text}"
        );
    }
}
