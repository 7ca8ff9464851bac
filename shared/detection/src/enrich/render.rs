//! The enrichment sections of a notification: who the people are, what the address is, what
//! else the person did, and what could not be found out. Everything shown here came from
//! outside (the directory is typed by administrators, the activity by the audit log), so it
//! goes through the same escaping and bounds as the rest of the notification.

use std::fmt::Write as _;

use jcwatch_model::enrichment::{AccountKind, Enrichment, PersonContext, Profile, Role};

use crate::escape::{clean_line, email_line, slack_code, slack_plain};

const NAME_CHARS: usize = 120;
const FIELD_CHARS: usize = 120;
const GROUPS_SHOWN: usize = 8;
const GROUP_CHARS: usize = 600;
const GROUP_NAME_CHARS: usize = 60;
const LINE_CHARS: usize = 300;
const HIGHLIGHTS_EMAIL: usize = 8;
const HIGHLIGHTS_SLACK: usize = 4;
const NOTES_SHOWN: usize = 5;

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Actor => "Acting",
        Role::Target => "Affected",
    }
}

/// `Jane Doe <jane.doe@example.com>, JumpCloud admin role Administrator with Billing`.
fn headline(profile: &Profile) -> String {
    let mut text = profile.display_name().to_string();
    if let Some(email) = &profile.email
        && profile.name.is_some()
    {
        text.push_str(&format!(" <{email}>"));
    }
    if profile.is_admin() {
        match profile.admin.as_ref().and_then(|a| a.role.as_deref()) {
            Some(role) => text.push_str(&format!(", JumpCloud admin role {role}")),
            None => text.push_str(", JumpCloud administrator"),
        }
    }
    text
}

/// Up to [`GROUPS_SHOWN`] group names, each cut short, and how many more there are, so the
/// count survives however long the names are.
fn groups_text(profile: &Profile) -> Option<String> {
    if profile.groups.is_empty() {
        return None;
    }
    let mut names: Vec<String> = profile
        .groups
        .iter()
        .take(GROUPS_SHOWN)
        .map(|g| clean_line(g.name.as_deref().unwrap_or(&g.id), GROUP_NAME_CHARS))
        .collect();
    names.sort_unstable();
    let total = profile
        .groups_total
        .map_or(profile.groups.len(), |t| t as usize)
        .max(profile.groups.len());
    let mut text = names.join(", ");
    if total > names.len() {
        text.push_str(&format!(" and {} more", total - names.len()));
    }
    Some(text)
}

/// Position, cost centre, location and employee type, whichever are known.
fn position_line(profile: &Profile) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(position) = profile.position() {
        parts.push(position);
    }
    if let Some(cost) = &profile.cost_center {
        parts.push(format!("cost centre {cost}"));
    }
    if let Some(location) = &profile.location {
        parts.push(location.clone());
    }
    if let Some(kind) = &profile.employee_type {
        parts.push(kind.clone());
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// State, locks, MFA and age of the account.
fn account_line(profile: &Profile) -> String {
    let mut parts = Vec::new();
    if let Some(state) = &profile.state {
        parts.push(state.to_ascii_lowercase());
    }
    if profile.suspended == Some(true) {
        parts.push("SUSPENDED".to_string());
    }
    if profile.account_locked == Some(true) {
        parts.push("LOCKED".to_string());
    }
    // An administrator's record says how they sign in to the console, not to the portal.
    match profile.kind {
        AccountKind::Administrator => {
            parts.push(format!("console login: {}", profile.mfa.describe()))
        }
        AccountKind::User => parts.push(profile.mfa.describe()),
    }
    if let Some(created) = profile.created {
        parts.push(format!("created {}", created.format("%Y-%m-%d")));
    }
    parts.join("; ")
}

/// The "Who they are" section of the email, empty when there is nobody to describe.
pub(crate) fn email_people(enrichment: &Enrichment) -> String {
    if enrichment.people.is_empty() {
        return String::new();
    }
    let mut out = String::from("Who they are (JumpCloud directory)\n");
    for person in &enrichment.people {
        let label = role_label(person.role);
        let Some(profile) = &person.profile else {
            let _ = writeln!(
                out,
                "  {label}: {}",
                email_line(&person.describe(), NAME_CHARS + 60)
            );
            continue;
        };
        let _ = writeln!(
            out,
            "  {label}: {}",
            email_line(&headline(profile), NAME_CHARS + 80)
        );
        if let Some(position) = position_line(profile) {
            let _ = writeln!(out, "    Position: {}", email_line(&position, LINE_CHARS));
        }
        if let Some(manager) = &profile.manager {
            let _ = writeln!(
                out,
                "    Manager:  {}",
                email_line(&manager.describe(), NAME_CHARS)
            );
        }
        if let Some(groups) = groups_text(profile) {
            let _ = writeln!(out, "    Groups:   {}", email_line(&groups, GROUP_CHARS));
        }
        let _ = writeln!(
            out,
            "    Account:  {}",
            email_line(&account_line(profile), LINE_CHARS)
        );
    }
    out
}

/// The address's nature, for the email's "From where" section.
pub(crate) fn email_address(enrichment: &Enrichment) -> Option<String> {
    let address = enrichment.address.as_ref()?;
    let mut text = format!(
        "  Nature:     {}\n",
        email_line(&address.describe(), LINE_CHARS)
    );
    if let (Some(false), Some(since)) = (address.seen_before, address.history_since) {
        let _ = writeln!(
            text,
            "              (jcwatch has kept address history since {})",
            since.format("%Y-%m-%d")
        );
    }
    Some(text)
}

/// The "What else they did" section of the email.
pub(crate) fn email_activity(enrichment: &Enrichment) -> String {
    let Some(activity) = &enrichment.activity else {
        return String::new();
    };
    let mut out = format!(
        "What else {} did ({} to {} UTC{})\n",
        email_line(&activity.identity, NAME_CHARS),
        activity.window_start.format("%Y-%m-%d %H:%M"),
        activity.window_end.format("%H:%M"),
        if activity.queried_directory_insights {
            ", this batch and Directory Insights"
        } else {
            ", this batch"
        }
    );
    if activity.events == 0 {
        out.push_str("  Nothing else in this window.\n");
        return out;
    }
    let _ = writeln!(out, "  {}", email_line(&activity.describe(), LINE_CHARS));
    for line in activity.highlights.iter().take(HIGHLIGHTS_EMAIL) {
        let _ = writeln!(out, "  {}", email_line(&line.describe(), LINE_CHARS));
    }
    out
}

/// What could not be added, for the email.
pub(crate) fn email_notes(enrichment: &Enrichment) -> String {
    if enrichment.notes.is_empty() {
        return String::new();
    }
    let mut out = String::from("Enrichment notes\n");
    for note in enrichment.notes.iter().take(NOTES_SHOWN) {
        let _ = writeln!(out, "  {}", email_line(note, LINE_CHARS));
    }
    out
}

fn slack_person(person: &PersonContext) -> String {
    let label = role_label(person.role);
    let Some(profile) = &person.profile else {
        return format!(
            "*{label}:* {}",
            slack_code(&person.describe(), NAME_CHARS + 60)
        );
    };
    let mut parts = vec![slack_code(&headline(profile), NAME_CHARS + 80)];
    if let Some(position) = position_line(profile) {
        parts.push(slack_plain(&position, FIELD_CHARS * 2));
    }
    if let Some(manager) = &profile.manager {
        parts.push(format!(
            "manager {}",
            slack_plain(&manager.describe(), NAME_CHARS)
        ));
    }
    if let Some(groups) = groups_text(profile) {
        parts.push(format!("groups: {}", slack_plain(&groups, GROUP_CHARS)));
    }
    parts.push(slack_plain(&account_line(profile), FIELD_CHARS * 2));
    format!("*{label}:* {}", parts.join(" · "))
}

/// Slack lines about the people, to follow the "Who" line.
pub(crate) fn slack_people(enrichment: &Enrichment) -> Vec<String> {
    enrichment.people.iter().map(slack_person).collect()
}

/// The Slack line about the address.
pub(crate) fn slack_address(enrichment: &Enrichment) -> Option<String> {
    let address = enrichment.address.as_ref()?;
    Some(format!(
        "*Address:* {}",
        slack_plain(&address.describe(), LINE_CHARS)
    ))
}

/// Slack lines about the related activity, and the notes.
pub(crate) fn slack_activity(enrichment: &Enrichment) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(activity) = &enrichment.activity {
        lines.push(format!(
            "*Around it:* {}",
            slack_plain(&activity.describe(), LINE_CHARS)
        ));
        for line in activity.highlights.iter().take(HIGHLIGHTS_SLACK) {
            lines.push(format!("• {}", slack_code(&line.describe(), 200)));
        }
    }
    for note in enrichment.notes.iter().take(NOTES_SHOWN) {
        lines.push(format!("_Note:_ {}", slack_plain(note, LINE_CHARS)));
    }
    lines
}
