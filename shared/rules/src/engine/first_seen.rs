//! First-seen rules: a value (a country, a network, a login path) never seen for an entity
//! within the history horizon, once the entity has been known for the learning period, so a
//! fresh deployment or a new user does not alert on everything.
//!
//! "Never seen" is a claim about the whole past, so a candidate is decided only once the past
//! before it is complete (see the engine documentation). The alert is named by the entity and
//! the suppression bucket of the new value's first sighting, and holds that sighting.

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use jcwatch_model::Alert;

use super::alerts::{Draft, build};
use super::{Merged, Pass, Placed, bucket, covering, store_size};
use crate::rule::{FirstSeenCheck, FirstSeenMatch, knobs};
use crate::state::{Observation, Role, StateKey};

struct Shape {
    suppress: i64,
    /// `None`: entities never seen before count as well (no learning period).
    learning: Option<TimeDelta>,
    history: i64,
    store: i64,
}

fn shape(pass: &Pass<'_>) -> Shape {
    let active = pass.active;
    Shape {
        suppress: active.suppress(),
        learning: match active.knobs.get(knobs::LEARNING) {
            Some(crate::knob::KnobValue::Duration(d)) => {
                Some(TimeDelta::from_std(*d).unwrap_or(TimeDelta::days(1)))
            }
            _ => None,
        },
        history: active.knobs.duration(knobs::HISTORY).as_secs().max(1) as i64,
        store: store_size(active),
    }
}

fn touched(pass: &Pass<'_>, hits: &[Placed], shape: &Shape) -> BTreeSet<(String, String, i64)> {
    let mut out: BTreeSet<(String, String, i64)> = hits
        .iter()
        .map(|h| {
            (
                h.org.clone(),
                h.entity.clone(),
                bucket(h.obs.at, shape.store),
            )
        })
        .collect();
    if let Some(keys) = pass.flush {
        out.extend(
            keys.iter()
                .map(|k| (k.org.clone(), k.entity.clone(), k.bucket)),
        );
    }
    out
}

pub(super) fn plan(pass: &Pass<'_>, hits: &[Placed]) -> BTreeSet<StateKey> {
    let shape = shape(pass);
    let rule = pass.active.rule.id;
    touched(pass, hits, &shape)
        .into_iter()
        .flat_map(|(org, entity, k)| {
            covering(
                rule,
                &org,
                &entity,
                k - shape.history,
                k + shape.store,
                shape.store,
            )
        })
        .collect()
}

pub(super) fn evaluate(
    pass: &Pass<'_>,
    hits: &[Placed],
    merged: &Merged,
    check: Option<FirstSeenCheck>,
    new_entities: bool,
) -> Vec<Alert> {
    let shape = shape(pass);
    let mut groups: BTreeMap<(String, String, i64), Vec<&Observation>> = BTreeMap::new();
    for (org, entity, k) in touched(pass, hits, &shape) {
        let key = StateKey {
            rule: pass.active.rule.id.to_string(),
            org: org.clone(),
            entity: entity.clone(),
            bucket: k,
        };
        let decided_until = merged.decided_until(&key);
        for candidate in merged.entry(&key) {
            let waiting = pass.batch.contains(&candidate.id)
                || decided_until.is_none_or(|d| candidate.at >= d);
            if candidate.role != Role::Candidate || candidate.at >= pass.clocks.decide || !waiting {
                continue;
            }
            if is_new(
                merged,
                &org,
                &entity,
                candidate,
                &shape,
                check,
                new_entities,
                pass,
            ) {
                groups
                    .entry((
                        org.clone(),
                        entity.clone(),
                        bucket(candidate.at, shape.suppress),
                    ))
                    .or_default()
                    .push(candidate);
            }
        }
    }

    groups
        .into_iter()
        .map(|((org, entity, j), evidence)| {
            let anchor = evidence[0];
            let mut details = BTreeMap::new();
            let values: BTreeSet<&str> =
                evidence.iter().filter_map(|o| o.value.as_deref()).collect();
            details.insert(
                "new_values".into(),
                values.into_iter().collect::<Vec<_>>().join(", "),
            );
            let known = known_values(merged, &org, &entity, anchor, &shape);
            if !known.is_empty() {
                details.insert("known_values".into(), known);
            }
            build(
                pass,
                Draft {
                    org: &org,
                    entity: entity.clone(),
                    bucket: j,
                    evidence,
                    anchor,
                    details,
                    actor: None,
                    target: None,
                },
            )
        })
        .collect()
}

fn history<'a>(
    merged: &'a Merged,
    org: &str,
    entity: &str,
    candidate: &Observation,
    shape: &Shape,
) -> Vec<&'a Observation> {
    merged
        .range(
            org,
            entity,
            candidate.at - TimeDelta::seconds(shape.history),
            candidate.at + TimeDelta::nanoseconds(1),
        )
        .into_iter()
        .filter(|o| o.order() < candidate.order())
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn is_new(
    merged: &Merged,
    org: &str,
    entity: &str,
    candidate: &Observation,
    shape: &Shape,
    check: Option<FirstSeenCheck>,
    new_entities: bool,
    pass: &Pass<'_>,
) -> bool {
    let Some(value) = candidate.value.as_deref() else {
        return false;
    };
    let past = history(merged, org, entity, candidate, shape);
    let settled = |o: &Observation| shape.learning.is_none_or(|l| o.at <= candidate.at - l);
    let (learned, seen) = if new_entities {
        // Any entity counts; a value is familiar only once it has been seen for a while.
        let seen = past
            .iter()
            .any(|o| o.value.as_deref() == Some(value) && settled(o));
        (true, seen)
    } else {
        let learned = past.iter().any(|o| settled(o));
        (
            learned,
            past.iter().any(|o| o.value.as_deref() == Some(value)),
        )
    };
    if !learned || seen {
        return false;
    }
    check.is_none_or(|check| {
        check(
            &FirstSeenMatch {
                candidate,
                history: &past,
            },
            &pass.active.knobs,
        )
    })
}

/// The values the entity was known for before, as a short list.
fn known_values(
    merged: &Merged,
    org: &str,
    entity: &str,
    anchor: &Observation,
    shape: &Shape,
) -> String {
    let past = history(merged, org, entity, anchor, shape);
    let values: BTreeSet<&str> = past.iter().filter_map(|o| o.value.as_deref()).collect();
    let shown: Vec<&str> = values.iter().take(8).copied().collect();
    let mut text = shown.join(", ");
    if values.len() > 8 {
        text.push_str(&format!(" and {} more", values.len() - 8));
    }
    text
}
