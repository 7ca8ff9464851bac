//! "A and not B within a window" rules: a start (MFA switched off for a user) not followed by
//! a cancel for the same entity (MFA switched back on) within `within`.
//!
//! Starts and cancels are rare, so they are kept per rule and time bucket (entity `*`, the
//! entity inside each observation) rather than per entity: every evaluation can then read
//! the few buckets whose windows have just closed and decide them, without waiting for the
//! entity to show up again. A start is decided once its window closed before the absence
//! clock (the caller's watermark, or the batch's latest event less the settle time).

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use jcwatch_model::Alert;

use super::alerts::{Draft, build};
use super::{Merged, Pass, Placed, bucket, covering, store_size};
use crate::rule::knobs;
use crate::state::{Observation, Role, StateKey};

/// The entity of an absence rule's keys.
pub(crate) const ALL: &str = "*";

struct Shape {
    suppress: i64,
    within: i64,
    store: i64,
}

fn shape(pass: &Pass<'_>) -> Shape {
    Shape {
        suppress: pass.active.suppress(),
        within: pass.active.knobs.duration(knobs::WITHIN).as_secs().max(1) as i64,
        store: store_size(pass.active),
    }
}

impl Shape {
    /// How far back, before the closing windows, waiting starts are looked for.
    fn lookback(&self) -> i64 {
        (2 * self.store).max(2 * 86_400)
    }
}

/// The keys whose waiting starts this pass decides.
fn scanned(pass: &Pass<'_>, shape: &Shape) -> Vec<StateKey> {
    if let Some(keys) = pass.flush {
        return keys.to_vec();
    }
    let clock = pass.clocks.absence.timestamp();
    let rule = pass.active.rule.id;
    pass.batch
        .orgs
        .iter()
        .flat_map(|org| {
            covering(
                rule,
                org,
                ALL,
                clock - shape.within - shape.lookback(),
                clock + 1,
                shape.store,
            )
        })
        .collect()
}

pub(super) fn plan(pass: &Pass<'_>, hits: &[Placed]) -> BTreeSet<StateKey> {
    let shape = shape(pass);
    let rule = pass.active.rule.id;
    let mut keys: BTreeSet<StateKey> = BTreeSet::new();
    for hit in hits {
        let t = hit.obs.at.timestamp();
        let until = if hit.obs.role == Role::Start {
            t + shape.within + 1
        } else {
            t + 1
        };
        keys.extend(covering(rule, &hit.org, ALL, t, until, shape.store));
    }
    for key in scanned(pass, &shape) {
        keys.extend(covering(
            rule,
            &key.org,
            ALL,
            key.bucket,
            key.bucket + shape.store + shape.within + 1,
            shape.store,
        ));
    }
    keys
}

/// Keys whose `decided_until` moves to the absence clock.
pub(super) fn decided_keys(pass: &Pass<'_>, merged: &Merged) -> BTreeSet<StateKey> {
    let shape = shape(pass);
    let loaded: BTreeSet<&StateKey> = merged.keys().collect();
    scanned(pass, &shape)
        .into_iter()
        .filter(|k| loaded.contains(k))
        .collect()
}

pub(super) fn evaluate(pass: &Pass<'_>, hits: &[Placed], merged: &Merged) -> Vec<Alert> {
    let shape = shape(pass);
    let clock = pass.clocks.absence;
    let window = TimeDelta::seconds(shape.within);
    let closed = |o: &Observation| o.at + window < clock;

    let mut starts: BTreeMap<&str, (&str, &Observation)> = BTreeMap::new();
    for hit in hits {
        if hit.obs.role == Role::Start && closed(&hit.obs) {
            starts.insert(hit.obs.id.as_str(), (hit.org.as_str(), &hit.obs));
        }
    }
    let scan = scanned(pass, &shape);
    for key in &scan {
        let decided_until = merged.decided_until(key);
        for o in merged.entry(key) {
            let waiting = decided_until.is_none_or(|d| o.at + window >= d);
            if o.role == Role::Start && closed(o) && waiting {
                starts.entry(o.id.as_str()).or_insert((key.org.as_str(), o));
            }
        }
    }

    let mut groups: BTreeMap<(&str, &str, i64), Vec<&Observation>> = BTreeMap::new();
    for (org, start) in starts.into_values() {
        let entity = start.entity.as_deref().unwrap_or_default();
        let cancelled = merged
            .range(
                org,
                ALL,
                start.at,
                start.at + window + TimeDelta::nanoseconds(1),
            )
            .into_iter()
            .any(|o| {
                o.role == Role::Cancel && o.entity.as_deref() == Some(entity) && o.id != start.id
            });
        if !cancelled {
            groups
                .entry((org, entity, bucket(start.at, shape.suppress)))
                .or_default()
                .push(start);
        }
    }

    groups
        .into_iter()
        .map(|((org, entity, j), evidence)| {
            let anchor = evidence[0];
            let mut details = BTreeMap::new();
            details.insert(
                "not_followed_within".into(),
                jcwatch_model::time::format_duration(pass.active.knobs.duration(knobs::WITHIN)),
            );
            build(
                pass,
                Draft {
                    org,
                    entity: entity.to_string(),
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
