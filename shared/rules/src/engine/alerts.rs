//! Turning evidence into an alert: its deterministic id, its title, where it came from.

use std::collections::BTreeMap;

use jcwatch_model::{Alert, Change, Source};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Pass;
use crate::fields::bounded;
use crate::state::Observation;

/// Hex SHA-256 of the parts, each followed by a NUL so that no two splits collide.
pub(crate) fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// The id of the alert a rule raises for an entity in a suppression bucket: the same
/// activity always gets the same id, whichever batch completed it.
pub fn alert_id(rule: &str, org: &str, entity: &str, bucket: i64) -> String {
    digest(&[rule, org, entity, &bucket.to_string()])[..32].to_string()
}

/// What a kind evaluator found.
pub(crate) struct Draft<'a> {
    pub org: &'a str,
    /// The entity the alert is about (part of its id).
    pub entity: String,
    /// Start of the suppression bucket (part of its id).
    pub bucket: i64,
    /// Every observation behind the alert.
    pub evidence: Vec<&'a Observation>,
    /// The observation that best shows what happened (source address, user agent, target).
    pub anchor: &'a Observation,
    pub details: BTreeMap<String, String>,
    /// Who the alert names as actor and target, when the evaluator knows better than "the one
    /// every event agrees on".
    pub actor: Option<String>,
    pub target: Option<String>,
}

/// Builds the alert.
pub(crate) fn build(pass: &Pass<'_>, draft: Draft<'_>) -> Alert {
    let active = pass.active;
    let rule = &active.rule;

    let mut event_ids: Vec<String> = draft.evidence.iter().map(|o| o.id.clone()).collect();
    event_ids.sort();
    event_ids.dedup();
    let first_seen = draft
        .evidence
        .iter()
        .map(|o| o.at)
        .min()
        .unwrap_or(draft.anchor.at);
    let last_seen = draft
        .evidence
        .iter()
        .map(|o| o.at)
        .max()
        .unwrap_or(draft.anchor.at);
    let anchor = draft.anchor;

    let mut details = draft.details;
    details.insert("entity".into(), bounded(&draft.entity, 200));
    if let Some(detail) = &anchor.detail {
        details
            .entry("change".into())
            .or_insert_with(|| detail.clone());
    }

    // A person is named only when every event behind the alert agrees (a spray's events
    // name many users, none of them the attacker).
    let common = |get: fn(&Observation) -> &Option<String>| {
        let first = get(anchor).clone()?;
        draft
            .evidence
            .iter()
            .all(|o| get(o).as_ref().is_none_or(|v| *v == first))
            .then_some(first)
    };
    let actor = draft.actor.clone().or_else(|| common(|o| &o.actor));
    let target = draft.target.clone().or_else(|| common(|o| &o.target));
    let source = Source {
        ip: anchor.ip.clone(),
        country: anchor.country.clone(),
        region: anchor.region.clone(),
        city: anchor.city.clone(),
        user_agent: anchor.user_agent.clone(),
    };
    let changes = pass
        .batch
        .by_id
        .get(anchor.id.as_str())
        .map(|ev| ev.changes.iter().take(20).map(bounded_change).collect())
        .unwrap_or_default();

    let mut fill: BTreeMap<&str, String> = BTreeMap::new();
    fill.insert("entity", draft.entity.clone());
    fill.insert("count", event_ids.len().to_string());
    fill.insert(
        "first_seen",
        jcwatch_model::time::format_timestamp(first_seen),
    );
    fill.insert(
        "last_seen",
        jcwatch_model::time::format_timestamp(last_seen),
    );
    let optional = [
        ("actor", &actor),
        ("target", &target),
        ("value", &anchor.value),
        ("ip", &source.ip),
        ("country", &source.country),
        ("region", &source.region),
        ("city", &source.city),
        ("user_agent", &source.user_agent),
        ("event_type", &anchor.event_type),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            fill.insert(name, v.clone());
        }
    }
    for (name, value) in active.knobs.iter() {
        fill.insert(name, value.render().trim_matches('"').to_string());
    }
    for (name, value) in &details {
        fill.insert(name.as_str(), value.clone());
    }
    let title = render_title(rule.title, &fill);

    Alert {
        alert_id: alert_id(rule.id, draft.org, &draft.entity, draft.bucket),
        rule_id: rule.id.to_string(),
        title,
        severity: active.severity,
        area: rule.area,
        route: active.route,
        org: (!draft.org.is_empty()).then(|| draft.org.to_string()),
        actor,
        target,
        source,
        changes,
        count: event_ids.len() as u64,
        event_ids,
        first_seen,
        last_seen,
        notified: false,
        first_action: rule.first_action.to_string(),
        technique: rule.technique.to_string(),
        details,
        enrichment: None,
    }
}

/// Fills `{placeholders}`; an unknown value reads "unknown".
pub(crate) fn render_title(template: &str, fill: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let name = &after[..close];
        let value = fill.get(name).map(String::as_str).unwrap_or("unknown");
        out.push_str(&bounded(value, 80));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    bounded(&out, 240)
}

/// A change with oversized values cut down, so one hostile event cannot bloat an alert.
fn bounded_change(change: &Change) -> Change {
    let cut = |v: &Option<Value>| {
        v.as_ref().map(|value| {
            let text = value.to_string();
            if text.len() > 1_000 {
                Value::String(bounded(&text, 1_000))
            } else {
                value.clone()
            }
        })
    };
    Change {
        field: bounded(&change.field, 200),
        from: cut(&change.from),
        to: cut(&change.to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_fill_known_placeholders_and_mark_unknown_ones() {
        let mut fill = BTreeMap::new();
        fill.insert("actor", "jane.doe".to_string());

        let title = render_title("{actor} from {country}", &fill);

        assert_eq!(title, "jane.doe from unknown");
    }

    #[test]
    fn alert_ids_depend_on_rule_entity_and_bucket_only() {
        let a = alert_id("jc.auth.brute_force", "org", "alice", 86_400);

        assert_eq!(a, alert_id("jc.auth.brute_force", "org", "alice", 86_400));
        assert_ne!(
            a,
            alert_id("jc.auth.brute_force", "org", "alice", 2 * 86_400)
        );
        assert_ne!(a, alert_id("jc.auth.brute_force", "orgalice", "", 86_400));
        assert_eq!(a.len(), 32);
    }
}
