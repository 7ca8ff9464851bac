//! Who an alert is about: the acting person and the person acted upon, read from the events
//! behind the alert (their `initiated_by` and `resource`), as keys the directory can look up
//! and as the names their other events go by.

use std::collections::{BTreeSet, HashMap};

use jcwatch_core::directory::{PersonKey, PersonKind};
use jcwatch_model::{Alert, Event};

/// A person of an alert: how to look them up, and the name the alert shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PersonRef {
    pub key: PersonKey,
    pub identity: String,
}

/// Everything enrichment needs to know about one alert before any look-up.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AlertSubject {
    pub actor: Option<PersonRef>,
    pub target: Option<PersonRef>,
    /// Every lowercase name and id the actor's events may carry.
    pub actor_names: BTreeSet<String>,
    /// The name the actor's address history is kept under.
    pub actor_identity: Option<String>,
    pub source_ip: Option<String>,
}

/// The events of the batch by id.
pub(crate) type EventIndex<'a> = HashMap<&'a str, &'a Event>;

pub(crate) fn index(events: &[Event]) -> EventIndex<'_> {
    events.iter().map(|e| (e.id.as_str(), e)).collect()
}

fn clean(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Reads who the alert is about: the alert names its actor and target (an alert about an
/// address, like a password spray, names neither, and then nobody is looked up); the events
/// behind it, when they are in the batch, say how to find those people in the directory.
/// Without its events, the alert's own text is used.
pub(crate) fn subject(alert: &Alert, events: &EventIndex<'_>) -> AlertSubject {
    let mut behind: Vec<&Event> = alert
        .event_ids
        .iter()
        .filter_map(|id| events.get(id.as_str()).copied())
        .collect();
    behind.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    let lower = |text: &Option<String>| {
        text.as_deref()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
    };
    let actor_name = lower(&alert.actor);
    let target_name = lower(&alert.target);

    let acting: Vec<&Event> = match &actor_name {
        Some(name) => behind
            .iter()
            .filter(|e| event_names(e).contains(name))
            .copied()
            .collect(),
        None => Vec::new(),
    };
    // The event that names the actor best: one with a principal id, else the first.
    let lead = acting
        .iter()
        .find(|e| e.initiated_by.as_ref().is_some_and(|p| p.id.is_some()))
        .or(acting.first())
        .copied();
    let actor = match (&actor_name, lead) {
        (None, _) => None,
        (Some(_), Some(event)) => actor_key(event),
        (Some(name), None) => key_from_text(name),
    }
    .map(|key| PersonRef {
        identity: alert.actor.clone().unwrap_or_else(|| key.cache_key()),
        key,
    });

    let target = target_name
        .as_ref()
        .and_then(|name| {
            behind
                .iter()
                .filter(|e| e.target().is_some_and(|t| t.trim().to_lowercase() == *name))
                .find_map(|e| target_key(e))
        })
        .map(|key| PersonRef {
            identity: alert.target.clone().unwrap_or_else(|| key.cache_key()),
            key,
        })
        .filter(|t| {
            actor
                .as_ref()
                .is_none_or(|a| a.key.cache_key() != t.key.cache_key())
        });

    let mut actor_names = BTreeSet::new();
    for event in &acting {
        actor_names.extend(event_names(event));
    }
    actor_names.extend(actor_name.clone());

    AlertSubject {
        actor_identity: actor.as_ref().and(actor_name),
        actor,
        target,
        actor_names,
        source_ip: alert
            .source
            .ip
            .clone()
            .or_else(|| behind.first().and_then(|e| e.client_ip.clone())),
    }
}

/// The person who acted, when the event says it was a user or an administrator.
fn actor_key(event: &Event) -> Option<PersonKey> {
    let principal = event.initiated_by.as_ref();
    let kind = match principal.and_then(|p| p.kind.as_deref()) {
        Some(kind) if kind.eq_ignore_ascii_case("admin") => PersonKind::Administrator,
        Some(kind) if kind.eq_ignore_ascii_case("user") => PersonKind::User,
        // API keys, connectors and the system itself are not people.
        Some(_) => return None,
        None => PersonKind::User,
    };
    let key = PersonKey {
        kind,
        id: clean(principal.and_then(|p| p.id.as_deref())),
        username: clean(principal.and_then(|p| p.username.as_deref()))
            .or_else(|| event.field_str("username").and_then(|u| clean(Some(&u)))),
        email: clean(principal.and_then(|p| p.email.as_deref())),
    };
    key.is_usable().then_some(key)
}

/// The person acted upon, when the resource is a user or an administrator.
fn target_key(event: &Event) -> Option<PersonKey> {
    let resource = event.resource.as_ref()?;
    let kind = match resource.kind.as_deref()?.to_ascii_lowercase().as_str() {
        "user" | "systemuser" => PersonKind::User,
        "admin" | "administrator" => PersonKind::Administrator,
        _ => return None,
    };
    let key = PersonKey {
        kind,
        id: clean(resource.id.as_deref()),
        username: clean(resource.username.as_deref()),
        email: clean(resource.email.as_deref()),
    };
    key.is_usable().then_some(key)
}

/// An alert's actor text as a key, when no event is at hand: an email or a username.
fn key_from_text(text: &str) -> Option<PersonKey> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let email = text.contains('@');
    Some(PersonKey {
        kind: PersonKind::User,
        id: None,
        username: (!email).then(|| text.to_owned()),
        email: email.then(|| text.to_owned()),
    })
}

/// Every lowercase name and id an event's actor goes by.
pub(crate) fn event_names(event: &Event) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(p) = &event.initiated_by {
        for value in [&p.id, &p.email, &p.username].into_iter().flatten() {
            names.insert(value.trim().to_lowercase());
        }
    }
    if let Some(username) = event.field_str("username") {
        names.insert(username.trim().to_lowercase());
    }
    names.remove("");
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use jcwatch_model::{Area, Route, Severity, Source};
    use serde_json::json;

    fn event(value: serde_json::Value) -> Event {
        Event::from_value(value).unwrap()
    }

    fn alert(actor: Option<&str>, target: Option<&str>, ids: &[&str]) -> Alert {
        Alert {
            alert_id: "a1".into(),
            rule_id: "r".into(),
            title: "t".into(),
            severity: Severity::High,
            area: Area::AuthAndAdmin,
            route: Route::Duet,
            org: None,
            actor: actor.map(str::to_owned),
            target: target.map(str::to_owned),
            source: Source::default(),
            changes: vec![],
            event_ids: ids.iter().map(|s| s.to_string()).collect(),
            first_seen: chrono::Utc::now(),
            last_seen: chrono::Utc::now(),
            count: 1,
            notified: false,
            first_action: String::new(),
            technique: String::new(),
            details: Default::default(),
            enrichment: None,
        }
    }

    #[test]
    fn an_admin_changing_a_user_gives_an_administrator_actor_and_a_user_target() {
        let events = vec![event(json!({
            "id": "e1", "timestamp": "2026-01-26T09:00:00Z", "event_type": "user_update",
            "client_ip": "192.0.2.10",
            "initiated_by": {"id": "a1", "type": "admin", "email": "it.admin@example.com"},
            "resource": {"id": "u1", "type": "user", "username": "jane.doe"}
        }))];
        let alert = alert(Some("it.admin@example.com"), Some("jane.doe"), &["e1"]);

        let subject = subject(&alert, &index(&events));

        let actor = subject.actor.unwrap();
        assert_eq!(actor.key.kind, PersonKind::Administrator);
        assert_eq!(actor.key.id.as_deref(), Some("a1"));
        assert_eq!(actor.identity, "it.admin@example.com");
        let target = subject.target.unwrap();
        assert_eq!(target.key.kind, PersonKind::User);
        assert_eq!(target.key.id.as_deref(), Some("u1"));
        assert_eq!(subject.source_ip.as_deref(), Some("192.0.2.10"));
    }

    #[test]
    fn a_radius_login_is_a_user_known_by_username_only() {
        let events = vec![event(json!({
            "id": "e1", "timestamp": "2026-01-26T09:00:00Z", "event_type": "radius_auth_attempt",
            "initiated_by": {"type": "user", "username": "sam"}, "username": "sam"
        }))];

        let subject = subject(&alert(Some("sam"), None, &["e1"]), &index(&events));

        let key = subject.actor.unwrap().key;
        assert_eq!((key.id, key.username.as_deref()), (None, Some("sam")));
        assert!(subject.target.is_none());
    }

    #[test]
    fn api_keys_and_policies_are_not_people() {
        let events = vec![event(json!({
            "id": "e1", "timestamp": "2026-01-26T09:00:00Z", "event_type": "authnpolicy_delete",
            "initiated_by": {"id": "k1", "type": "api_key"},
            "resource": {"id": "p1", "type": "authn_policy", "name": "Require MFA"}
        }))];

        let subject = subject(
            &alert(Some("k1"), Some("Require MFA"), &["e1"]),
            &index(&events),
        );

        assert!(subject.actor.is_none());
        assert!(subject.target.is_none());
    }

    #[test]
    fn without_its_events_the_alert_text_is_used() {
        let subject = subject(
            &alert(Some("jane.doe@example.com"), None, &["gone"]),
            &index(&[]),
        );

        let key = subject.actor.unwrap().key;
        assert_eq!(key.email.as_deref(), Some("jane.doe@example.com"));
    }

    #[test]
    fn an_alert_about_an_address_names_no_person() {
        let events = vec![event(json!({
            "id": "e1", "timestamp": "2026-01-26T09:00:00Z", "event_type": "user_login_attempt",
            "client_ip": "203.0.113.50",
            "initiated_by": {"type": "user", "username": "alice"}, "success": false
        }))];

        let subject = subject(&alert(None, None, &["e1"]), &index(&events));

        assert!(subject.actor.is_none() && subject.target.is_none());
        assert!(subject.actor_names.is_empty());
        assert_eq!(subject.actor_identity, None);
        assert_eq!(subject.source_ip.as_deref(), Some("203.0.113.50"));
    }

    #[test]
    fn a_person_acting_on_themselves_is_named_once() {
        let events = vec![event(json!({
            "id": "e1", "timestamp": "2026-01-26T09:00:00Z", "event_type": "user_update",
            "initiated_by": {"id": "u1", "type": "user", "username": "jane.doe"},
            "resource": {"id": "u1", "type": "user", "username": "jane.doe"}
        }))];

        let subject = subject(
            &alert(Some("jane.doe"), Some("jane.doe"), &["e1"]),
            &index(&events),
        );

        assert!(subject.actor.is_some());
        assert!(subject.target.is_none());
    }
}
