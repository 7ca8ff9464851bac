//! Area 1: attempted use of expired or revoked API keys, and API keys used from somewhere new.
//!
//! N.B. jcwatch's own key being refused (HTTP 401/403 to the poller) is the other half of this
//! area; it is an outage as much as a detection, so the poll path raises it as an operational
//! notification (route `ops`) rather than a rule.

use jcwatch_model::{Area, Event, Route, Severity};
use serde_json::json;

use super::{DAY1, history, learning, suppress};
use crate::fields;
use crate::fixtures::*;
use crate::knob::Knobs;
use crate::rule::{Example, Examples, FirstSeenMatch, Hit, Logic, Rule};
use crate::state::Role;

pub(super) fn rules() -> Vec<Rule> {
    vec![old_key_attempt(), new_source(), key_changed()]
}

fn example(name: &'static str, t: &Timeline) -> Example {
    Example {
        name,
        events: t.events(),
    }
}

fn old_key_attempt() -> Rule {
    Rule {
        id: "jc.apikey.old_key_attempt",
        title: "Rotated or expired API key of {actor} used from {ip}",
        description: "A request was made with an administrator's old (rotated, regenerated or expired) API key (admin_old_api_key_attempt). Either a forgotten script still holds the key, or someone who copied it is trying it. Repeats for the same admin within the suppression window are counted into one alert.",
        area: Area::ApiKeys,
        severity: Severity::High,
        technique: "T1550.001",
        route: Route::Alert,
        first_action: "Ask the admin which script or integration still uses the old key; if none is known, treat the key as leaked and look for other activity from the source address.",
        needs_config: None,
        knobs: vec![suppress("24h")],
        details: &[],
        logic: Logic::Single {
            observe: observe_old_key,
        },
        examples: old_key_examples,
    }
}

fn observe_old_key(ev: &Event, _: &Knobs) -> Option<Hit> {
    if ev.kind() != "admin_old_api_key_attempt" {
        return None;
    }
    let who = fields::actor_identity(ev)
        .or_else(|| ev.field_str("resource.email").map(|s| s.to_lowercase()))
        .unwrap_or_else(|| "unknown".into());
    Some(Hit::new(who))
}

fn old_key_examples() -> Examples {
    let mut attempt = Timeline::new("ok-1", DAY1);
    attempt.repeat(3, "5m", |_| {
        old_api_key_attempt("it.admin@corp.example").from(&ASHBURN_DC)
    });
    let mut valid = Timeline::new("ok-2", DAY1);
    valid.push(
        admin_change("user_update", "it.admin@corp.example")
            .api_key()
            .on_user("jane.doe")
            .change("department", Some(json!("Sales")), json!("Marketing")),
    );
    Examples {
        config: vec![],
        matching: vec![example("three attempts with a rotated key", &attempt)],
        near_miss: vec![example("a change made with the current key", &valid)],
    }
}

fn new_source() -> Rule {
    Rule {
        id: "jc.apikey.new_source",
        title: "API key of {actor} made changes from a new address {value}",
        description: "Directory changes made with an administrator's API key from an address never seen for that admin in the history window, and on a different provider (/16), in a different country or with a different client than anything the admin used before. A stolen key is used from the thief's machine; an integration keeps calling from the same place, and a second host of it shares its provider and client. The admin must have been seen for the learning period first, and SCIM provisioning (whose cloud addresses rotate) is left out.",
        area: Area::ApiKeys,
        severity: Severity::High,
        technique: "T1550.001",
        route: Route::Alert,
        first_action: "Ask the admin whether a new integration or host uses their key; if not, regenerate the key and review the changes made from the new network.",
        needs_config: None,
        knobs: vec![suppress("24h"), learning("1d"), history("30d")],
        details: &["new_values", "known_values"],
        logic: Logic::FirstSeen {
            observe: observe_api_source,
            check: Some(different_provider),
            new_entities: false,
        },
        examples: new_source_examples,
    }
}

fn observe_api_source(ev: &Event, _: &Knobs) -> Option<Hit> {
    let admin = fields::actor_identity(ev)?;
    let ip = fields::source_ip(ev)?;
    if fields::is_automation(ev)
        || fields::login_path(ev).is_some_and(|p| p != fields::LoginPath::Admin)
    {
        return None;
    }
    let candidate = fields::is_api_key(ev) && fields::is_directory_write(ev);
    let role = if candidate {
        Role::Candidate
    } else {
        Role::History
    };
    let country = ev
        .geoip
        .as_ref()
        .and_then(|g| g.country_code.clone())
        .unwrap_or_default();
    let aux = format!(
        "{}|{}|{}",
        fields::wide_network(ip),
        country,
        fields::device_family(ev).unwrap_or_default()
    );
    Some(
        Hit::new(admin)
            .role(role)
            .value(ip.to_string())
            .aux(Some(aux)),
    )
}

/// The new address is on another provider (/16), in another country or used by another
/// client than before: a thief's machine, not a second host of the same integration.
fn different_provider(seen: &FirstSeenMatch<'_>, _: &Knobs) -> bool {
    let parts = |aux: Option<&str>| -> (String, String, String) {
        let mut it = aux.unwrap_or_default().splitn(3, '|').map(str::to_string);
        (
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
        )
    };
    let (wide, country, client) = parts(seen.candidate.aux.as_deref());
    let known: Vec<(String, String, String)> = seen
        .history
        .iter()
        .map(|o| parts(o.aux.as_deref()))
        .collect();
    let new_wide = !known.iter().any(|(w, _, _)| *w == wide);
    let new_country = !country.is_empty() && !known.iter().any(|(_, c, _)| *c == country);
    let new_client = !client.is_empty() && !known.iter().any(|(_, _, c)| *c == client);
    new_wide || new_country || new_client
}

fn sync_update(target: &str) -> Ev {
    admin_change("user_update", "hr.sync@corp.example")
        .api_key()
        .from(&ASHBURN_DC)
        .ua(&GO_CLIENT)
        .on_user(target)
        .change("department", Some(json!("Sales")), json!("Marketing"))
}

fn new_source_examples() -> Examples {
    let mut stolen = Timeline::new("ns-1", DAY1);
    stolen.repeat(3, "1d", |i| sync_update(super::auth::STAFF[i]));
    stolen
        .wait("3h")
        .push(sync_update("jane.doe").from(&MOSCOW).ua(&PYTHON_REQUESTS));
    let test_range = ASHBURN_DC.via("203.0.113.10");
    let mut neighbour = Timeline::new("ns-5", DAY1);
    neighbour.repeat(3, "1d", |i| {
        sync_update(super::auth::STAFF[i]).from(&test_range)
    });
    neighbour.wait("3h").push(
        sync_update("jane.doe")
            .from(&LAGOS.via("203.0.113.45"))
            .ua(&GO_CLIENT),
    );
    let mut same_place = Timeline::new("ns-2", DAY1);
    same_place.repeat(3, "1d", |i| sync_update(super::auth::STAFF[i]));
    same_place
        .wait("3h")
        .push(sync_update("jane.doe").from(&ASHBURN_DC.via("54.210.77.99")));
    let mut too_new = Timeline::new("ns-3", DAY1);
    too_new.push(sync_update("alice.martin"));
    too_new
        .wait("2h")
        .push(sync_update("jane.doe").from(&MOSCOW).ua(&PYTHON_REQUESTS));
    let mut scim = Timeline::new("ns-4", DAY1);
    scim.repeat(3, "1d", |i| sync_update(super::auth::STAFF[i]));
    scim.wait("3h")
        .push(sync_update("jane.doe").from(&FRANKFURT_DC).source("scim"));
    Examples {
        config: vec![],
        matching: vec![
            example("the sync key used from Moscow with a new client", &stolen),
            example(
                "the sync key used from another country in the same /24",
                &neighbour,
            ),
        ],
        near_miss: vec![
            example(
                "the sync key from another host of its usual network",
                &same_place,
            ),
            example("a key first seen two hours before", &too_new),
            example("SCIM provisioning from a new cloud address", &scim),
        ],
    }
}

fn key_changed() -> Rule {
    Rule {
        id: "jc.apikey.key_changed",
        title: "API key or service account of {target} changed by {actor}",
        description: "An API key or service account was created, regenerated or changed: any event type naming an API key or service account, or an admin or user change to an API-key field. Directory Insights' names for these events are not published, so every spelling containing api_key, apikey or service_account is matched. Keys expire and are rotated routinely, so the admin is asked only when acting from a network where they were not seen at least learning_period before.",
        area: Area::ApiKeys,
        severity: Severity::Medium,
        technique: "T1098.001",
        route: Route::Duet,
        first_action: "Ask the admin to confirm the key change and which integration it is for.",
        needs_config: None,
        knobs: vec![
            suppress("24h"),
            super::config_changes::familiar_after(),
            history("30d"),
        ],
        details: &["new_values", "known_values"],
        logic: Logic::FirstSeen {
            observe: observe_key_change,
            check: Some(super::config_changes::established_or_created),
            new_entities: true,
        },
        examples: key_changed_examples,
    }
}

fn api_key_words(text: &str) -> bool {
    let t = text.to_lowercase().replace(['-', ' '], "_");
    t.contains("api_key")
        || t.contains("apikey")
        || t.contains("service_account")
        || t.contains("serviceaccount")
}

fn observe_key_change(ev: &Event, _: &Knobs) -> Option<Hit> {
    let kind = ev.kind();
    let by_type = api_key_words(kind);
    let by_change = kind.ends_with("_update")
        && fields::flat_changes(ev)
            .iter()
            .any(|c| api_key_words(&c.path));
    let is_change = kind != "admin_old_api_key_attempt"
        && fields::login_path(ev).is_none()
        && (by_type || by_change);
    super::config_changes::gated(ev, is_change)
}

fn key_changed_examples() -> Examples {
    let mut regenerated = Timeline::new("kc-1", DAY1);
    regenerated.push(
        admin_change("admin_update", "it.admin@corp.example")
            .on_admin("it.admin@corp.example")
            .change(
                "apiKeyCreatedAt",
                Some(json!("2024-02-01T10:00:00Z")),
                json!("2024-05-06T09:00:00Z"),
            ),
    );
    let mut created = Timeline::new("kc-2", DAY1);
    created.push(
        admin_change("service_account_create", "it.admin@corp.example")
            .on("service_account", "backup-exporter"),
    );
    let mut rotation = Timeline::new("kc-4", DAY1);
    rotation.push(admin_login("it.admin@corp.example"));
    rotation.wait("1d").push(
        admin_change("admin_update", "it.admin@corp.example")
            .on_admin("it.admin@corp.example")
            .change(
                "apiKeyCreatedAt",
                Some(json!("2024-02-01T10:00:00Z")),
                json!("2024-05-07T09:00:00Z"),
            ),
    );
    let mut other = Timeline::new("kc-3", DAY1);
    other.push(
        admin_change("admin_update", "it.admin@corp.example")
            .on_admin("it.admin@corp.example")
            .change("firstname", Some(json!("Sam")), json!("Samuel")),
    );
    Examples {
        config: vec![],
        matching: super::config_changes::afar_all(vec![
            example("an admin's key regenerated", &regenerated),
            example("a service account created", &created),
        ]),
        near_miss: vec![
            example("a routine rotation from the usual office", &rotation),
            example("an admin's name changed", &other),
        ],
    }
}
