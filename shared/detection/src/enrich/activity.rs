//! Related activity: the acting person's other events around an alert, counted by kind
//! (failed and successful logins, MFA changes, admin changes) with the most telling few
//! listed. Pure: the events come from the batch and, when the batch does not reach back far
//! enough, from a Directory Insights query the enricher makes.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use jcwatch_model::Event;
use jcwatch_model::enrichment::{Activity, ActivityLine};

use crate::enrich::people::event_names;

/// Events listed per alert.
const MAX_HIGHLIGHTS: usize = 8;
/// Distinct addresses and countries listed.
const MAX_PLACES: usize = 5;

/// What an event was, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// A change to someone's administrator rights (most telling first).
    AdminChange,
    MfaChange,
    LoginSucceeded,
    LoginFailed,
    Other,
}

/// Sorts an event into the summary's kinds by its type and its `changes`.
pub(crate) fn classify(event: &Event) -> Kind {
    let kind = event.kind();
    let changed = |words: &[&str]| {
        event.changes.iter().any(|c| {
            let field = c.field.to_ascii_lowercase();
            words.iter().any(|w| field.contains(w))
        })
    };

    let login = kind.contains("login")
        || kind.contains("auth_attempt")
        || kind == "sso_auth"
        || kind.starts_with("ldap_bind");
    if login && !changed(&["mfa", "totp", "admin", "sudo"]) {
        return match event.succeeded() {
            Some(false) => Kind::LoginFailed,
            Some(true) => Kind::LoginSucceeded,
            None => Kind::Other,
        };
    }
    if kind.contains("admin")
        || kind.contains("role")
        || changed(&["admin", "sudo", "role"])
        || association_grants_admin(event)
    {
        return Kind::AdminChange;
    }
    if kind.contains("mfa")
        || kind.contains("totp")
        || kind.contains("webauthn")
        || kind.contains("push")
        || changed(&["mfa", "totp", "multifactor", "webauthn"])
    {
        return Kind::MfaChange;
    }
    Kind::Other
}

/// `association_change` that gives sudo or administrator rights on a device.
fn association_grants_admin(event: &Event) -> bool {
    event.association.as_ref().is_some_and(|a| {
        let text = a.to_string().to_ascii_lowercase();
        text.contains("sudo") || text.contains("administrator")
    })
}

/// Summarises `events` that belong to the person named by `names`, inside `[start, end]`,
/// leaving out `own` (the alert's own events).
pub(crate) fn summarise<'a>(
    identity: &str,
    names: &BTreeSet<String>,
    own: &HashSet<&str>,
    events: impl IntoIterator<Item = &'a Event>,
    window: (DateTime<Utc>, DateTime<Utc>),
    queried: bool,
    truncated: bool,
) -> Activity {
    let (start, end) = window;
    let mut seen = HashSet::new();
    let mut related: Vec<&Event> = events
        .into_iter()
        .filter(|e| e.timestamp >= start && e.timestamp <= end)
        .filter(|e| !own.contains(e.id.as_str()))
        .filter(|e| !event_names(e).is_disjoint(names))
        .filter(|e| seen.insert(e.id.as_str()))
        .collect();
    related.sort_by(|a, b| a.order_key().cmp(&b.order_key()));

    let mut activity = Activity {
        identity: identity.to_string(),
        window_start: start,
        window_end: end,
        queried_directory_insights: queried,
        truncated,
        ..Activity::default()
    };
    let mut addresses = Vec::new();
    let mut countries = Vec::new();
    let mut ranked: Vec<(Kind, &Event)> = Vec::new();
    for event in &related {
        activity.events += 1;
        let kind = classify(event);
        match kind {
            Kind::LoginFailed => activity.logins_failed += 1,
            Kind::LoginSucceeded => activity.logins_succeeded += 1,
            Kind::MfaChange => activity.mfa_changes += 1,
            Kind::AdminChange => activity.admin_changes += 1,
            Kind::Other => {}
        }
        if let Some(ip) = &event.client_ip
            && !addresses.contains(ip)
            && addresses.len() < MAX_PLACES
        {
            addresses.push(ip.clone());
        }
        if let Some(country) = event.geoip.as_ref().and_then(|g| g.country_code.clone())
            && !countries.contains(&country)
            && countries.len() < MAX_PLACES
        {
            countries.push(country);
        }
        ranked.push((kind, event));
    }
    activity.addresses = addresses;
    activity.countries = countries;

    // The most telling kinds first, then the latest of each; shown oldest first.
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.timestamp.cmp(&a.1.timestamp)));
    let mut chosen: Vec<&Event> = ranked
        .into_iter()
        .take(MAX_HIGHLIGHTS)
        .map(|(_, e)| e)
        .collect();
    chosen.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    activity.highlights = chosen.into_iter().map(line).collect();
    activity
}

fn line(event: &Event) -> ActivityLine {
    let detail = event
        .application
        .as_ref()
        .and_then(|a| a.display_label.clone().or_else(|| a.name.clone()))
        .or_else(|| event.target())
        .map(|d| d.chars().take(80).collect());
    ActivityLine {
        at: event.timestamp,
        event_type: event.kind().chars().take(60).collect(),
        success: event.succeeded(),
        ip: event.client_ip.clone(),
        country: event.geoip.as_ref().and_then(|g| g.country_code.clone()),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(id: &str, at: &str, kind: &str, extra: serde_json::Value) -> Event {
        let mut value = json!({
            "id": id, "timestamp": at, "event_type": kind,
            "initiated_by": {"type": "user", "username": "jane.doe"},
            "client_ip": "203.0.113.45", "geoip": {"country_code": "NG"}
        });
        for (k, v) in extra.as_object().unwrap() {
            value[k] = v.clone();
        }
        Event::from_value(value).unwrap()
    }

    #[test]
    fn events_are_sorted_into_logins_mfa_and_admin_changes() {
        let cases = [
            (
                event(
                    "1",
                    "2026-01-26T09:00:00Z",
                    "user_login_attempt",
                    json!({"success": false}),
                ),
                Kind::LoginFailed,
            ),
            (
                event(
                    "2",
                    "2026-01-26T09:00:00Z",
                    "sso_auth",
                    json!({"sso_token_success": true}),
                ),
                Kind::LoginSucceeded,
            ),
            (
                event(
                    "3",
                    "2026-01-26T09:00:00Z",
                    "user_update",
                    json!({"changes": [{"field": "totp_enabled", "from": true, "to": false}]}),
                ),
                Kind::MfaChange,
            ),
            (
                event("4", "2026-01-26T09:00:00Z", "user_admin_granted", json!({})),
                Kind::AdminChange,
            ),
            (
                event(
                    "5",
                    "2026-01-26T09:00:00Z",
                    "association_change",
                    json!({"association": {"attributes": {"sudo": {"enabled": true}}}}),
                ),
                Kind::AdminChange,
            ),
            (
                event("6", "2026-01-26T09:00:00Z", "group_update", json!({})),
                Kind::Other,
            ),
        ];

        for (event, expected) in cases {
            assert_eq!(classify(&event), expected, "{}", event.kind());
        }
    }

    #[test]
    fn the_summary_counts_other_events_of_the_person_in_the_window_only() {
        let events = vec![
            event(
                "own",
                "2026-01-26T09:10:00Z",
                "user_login_attempt",
                json!({"success": false}),
            ),
            event(
                "f1",
                "2026-01-26T09:05:00Z",
                "user_login_attempt",
                json!({"success": false}),
            ),
            event(
                "s1",
                "2026-01-26T09:20:00Z",
                "user_login_attempt",
                json!({"success": true, "client_ip": "192.0.2.10", "geoip": {"country_code": "FR"}}),
            ),
            event(
                "old",
                "2026-01-26T07:00:00Z",
                "user_login_attempt",
                json!({"success": true}),
            ),
            event(
                "other",
                "2026-01-26T09:06:00Z",
                "user_login_attempt",
                json!({"success": true, "initiated_by": {"type": "user", "username": "john"}}),
            ),
        ];
        let names: BTreeSet<String> = ["jane.doe".to_string()].into();
        let own: HashSet<&str> = ["own"].into();
        let window = (
            jcwatch_model::time::parse_timestamp("2026-01-26T08:10:00Z").unwrap(),
            jcwatch_model::time::parse_timestamp("2026-01-26T10:10:00Z").unwrap(),
        );

        let activity = summarise("jane.doe", &names, &own, &events, window, false, false);

        assert_eq!(activity.events, 2);
        assert_eq!((activity.logins_failed, activity.logins_succeeded), (1, 1));
        assert_eq!(activity.addresses, ["203.0.113.45", "192.0.2.10"]);
        assert_eq!(activity.countries, ["NG", "FR"]);
        let shown: Vec<&str> = activity
            .highlights
            .iter()
            .map(|l| l.event_type.as_str())
            .collect();
        assert_eq!(shown.len(), 2);
        assert!(activity.highlights[0].at < activity.highlights[1].at);
    }

    #[test]
    fn highlights_prefer_admin_and_mfa_changes_over_many_failures() {
        let mut events: Vec<Event> = (0..20)
            .map(|i| {
                event(
                    &format!("f{i}"),
                    &format!("2026-01-26T09:{i:02}:00Z"),
                    "user_login_attempt",
                    json!({"success": false}),
                )
            })
            .collect();
        events.push(event(
            "a",
            "2026-01-26T09:00:30Z",
            "user_admin_granted",
            json!({}),
        ));
        let names: BTreeSet<String> = ["jane.doe".to_string()].into();
        let window = (
            jcwatch_model::time::parse_timestamp("2026-01-26T08:00:00Z").unwrap(),
            jcwatch_model::time::parse_timestamp("2026-01-26T10:00:00Z").unwrap(),
        );

        let activity = summarise(
            "jane.doe",
            &names,
            &HashSet::new(),
            &events,
            window,
            true,
            true,
        );

        assert_eq!(activity.highlights.len(), MAX_HIGHLIGHTS);
        assert!(
            activity
                .highlights
                .iter()
                .any(|l| l.event_type == "user_admin_granted")
        );
        assert_eq!(activity.logins_failed, 20);
        assert!(
            activity.describe().starts_with("at least 21 events"),
            "{}",
            activity.describe()
        );
    }
}
