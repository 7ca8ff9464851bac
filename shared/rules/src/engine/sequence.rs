//! Sequence rules: at least `threshold` first steps (or distinct values among them) within
//! `within` before a then-step of the same entity ("failed logins, then a success").
//!
//! The alert belongs to the suppression bucket of the then-step. Without a check the
//! condition only asks whether such steps exist, so it is evaluated at once. With a check
//! (which reads the past, for example "no password reset in between" or "from a place never
//! seen before") a then-step is decided once the past before it is complete.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use jcwatch_model::Alert;

use super::alerts::{Draft, build};
use super::{Merged, Pass, Placed, bucket, covering, store_size, time};
use crate::rule::{SequenceCheck, SequenceMatch, knobs};
use crate::state::{Observation, Role, StateKey};

struct Shape {
    suppress: i64,
    within: i64,
    history: i64,
    store: i64,
    threshold: usize,
}

fn shape(pass: &Pass<'_>) -> Shape {
    let active = pass.active;
    let history = match active.knobs.get(knobs::HISTORY) {
        Some(crate::knob::KnobValue::Duration(d)) => d.as_secs() as i64,
        _ => 0,
    };
    Shape {
        suppress: active.suppress(),
        within: active.knobs.duration(knobs::WITHIN).as_secs().max(1) as i64,
        history,
        store: store_size(active),
        threshold: active.knobs.count(knobs::THRESHOLD).min(usize::MAX as u64) as usize,
    }
}

impl Shape {
    /// What must be loaded to evaluate the then-steps of alert bucket `j`.
    fn reach(&self, j: i64) -> (i64, i64) {
        (j - self.within - self.history, j + self.suppress + 1)
    }

    /// Alert buckets whose then-steps a hit at `t` may complete.
    fn affected(&self, role: Role, t: i64) -> Vec<i64> {
        let first = t.div_euclid(self.suppress) * self.suppress;
        let last = match role {
            Role::Then => first,
            _ => (t + self.within).div_euclid(self.suppress) * self.suppress,
        };
        (first..=last).step_by(self.suppress as usize).collect()
    }

    /// Alert buckets whose then-steps live in the store bucket starting at `k`.
    fn within_store(&self, k: i64) -> Vec<i64> {
        let first = k.div_euclid(self.suppress) * self.suppress;
        let last = (k + self.store - 1).div_euclid(self.suppress) * self.suppress;
        (first..=last).step_by(self.suppress as usize).collect()
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

pub(super) fn plan(pass: &Pass<'_>, hits: &[Placed], checked: bool) -> BTreeSet<StateKey> {
    let shape = shape(pass);
    let rule = pass.active.rule.id;
    let mut keys = BTreeSet::new();
    let mut add = |org: &str, entity: &str, j: i64| {
        let (from, to) = shape.reach(j);
        keys.extend(covering(rule, org, entity, from, to, shape.store));
    };
    if checked {
        for (org, entity, k) in touched(pass, hits, &shape) {
            for j in shape.within_store(k) {
                add(&org, &entity, j);
            }
        }
        for hit in hits.iter().filter(|h| h.obs.role != Role::Then) {
            for j in shape.affected(hit.obs.role, hit.obs.at.timestamp()) {
                add(&hit.org, &hit.entity, j);
            }
        }
    } else {
        for hit in hits {
            for j in shape.affected(hit.obs.role, hit.obs.at.timestamp()) {
                add(&hit.org, &hit.entity, j);
            }
        }
    }
    keys
}

pub(super) fn evaluate(
    pass: &Pass<'_>,
    hits: &[Placed],
    merged: &Merged,
    distinct: bool,
    check: Option<SequenceCheck>,
) -> Vec<Alert> {
    let shape = shape(pass);

    // The then-steps to look at, by alert.
    let mut thens: BTreeMap<(String, String, i64), Vec<&Observation>> = BTreeMap::new();
    if check.is_some() {
        let clock = pass.clocks.decide;
        let suppress = shape.suppress;
        let decide = |org: &str, entity: &str, o: &Observation| -> Option<(String, String, i64)> {
            (o.role == Role::Then && o.at < clock)
                .then(|| (org.to_string(), entity.to_string(), bucket(o.at, suppress)))
        };
        for (org, entity, k) in touched(pass, hits, &shape) {
            let key = StateKey {
                rule: pass.active.rule.id.to_string(),
                org: org.clone(),
                entity: entity.clone(),
                bucket: k,
            };
            let decided_until = merged.decided_until(&key);
            for o in merged.entry(&key) {
                if (pass.batch.contains(&o.id) || decided_until.is_none_or(|d| o.at >= d))
                    && let Some(key) = decide(&org, &entity, o)
                {
                    push_unique(thens.entry(key).or_default(), o);
                }
            }
        }
        // A first step arriving after the then-step it completes (the batches of one page
        // in another order) re-opens that then-step's decision.
        for hit in hits.iter().filter(|h| h.obs.role != Role::Then) {
            let end = hit.obs.at + TimeDelta::seconds(shape.within) + TimeDelta::nanoseconds(1);
            for o in merged.range(&hit.org, &hit.entity, hit.obs.at, end) {
                if let Some(key) = decide(&hit.org, &hit.entity, o) {
                    push_unique(thens.entry(key).or_default(), o);
                }
            }
        }
        for list in thens.values_mut() {
            list.sort_by(|a, b| a.order().cmp(&b.order()));
        }
    } else {
        let mut targets = BTreeSet::new();
        for hit in hits {
            for j in shape.affected(hit.obs.role, hit.obs.at.timestamp()) {
                targets.insert((hit.org.clone(), hit.entity.clone(), j));
            }
        }
        for (org, entity, j) in targets {
            let found: Vec<&Observation> = merged
                .range(&org, &entity, time(j), time(j + shape.suppress))
                .into_iter()
                .filter(|o| o.role == Role::Then)
                .collect();
            if !found.is_empty() {
                thens.insert((org, entity, j), found);
            }
        }
    }

    let mut alerts = Vec::new();
    for ((org, entity, j), candidates) in &thens {
        let mut evidence: Vec<&Observation> = Vec::new();
        let mut anchor: Option<(&Observation, usize)> = None;
        for then in candidates {
            let Some(firsts) = completes(merged, org, entity, then, &shape, distinct, check, pass)
            else {
                continue;
            };
            // The then-step with the longest run of first steps before it tells the story
            // best (the attacker's own success, not the owner's login in between).
            if anchor.is_none_or(|(_, n)| firsts.len() > n) {
                anchor = Some((then, firsts.len()));
            }
            evidence.push(then);
            evidence.extend(firsts);
        }
        let Some((anchor, first_count)) = anchor else {
            continue;
        };
        if check.is_none() && !evidence.iter().any(|o| pass.batch.contains(&o.id)) {
            continue;
        }
        let mut details = BTreeMap::new();
        details.insert("first_count".into(), first_count.to_string());
        alerts.push(build(
            pass,
            Draft {
                org,
                entity: entity.clone(),
                bucket: *j,
                evidence,
                anchor,
                details,
                actor: anchor.actor.clone(),
                target: anchor.target.clone(),
            },
        ));
    }
    alerts
}

/// The first steps that complete the sequence at `then`, if it is complete (and passes the
/// rule's check).
#[allow(clippy::too_many_arguments)]
fn completes<'a>(
    merged: &'a Merged,
    org: &str,
    entity: &str,
    then: &'a Observation,
    shape: &Shape,
    distinct: bool,
    check: Option<SequenceCheck>,
    pass: &Pass<'_>,
) -> Option<Vec<&'a Observation>> {
    let window_start: DateTime<Utc> = then.at - TimeDelta::seconds(shape.within);
    let earlier = |o: &&Observation| o.order() < then.order();
    let firsts: Vec<&Observation> = merged
        .range(
            org,
            entity,
            window_start,
            then.at + TimeDelta::nanoseconds(1),
        )
        .into_iter()
        .filter(|o| o.role == Role::First && earlier(o))
        .collect();
    let size = if distinct {
        let values: BTreeSet<&str> = firsts.iter().filter_map(|o| o.value.as_deref()).collect();
        values.len()
    } else {
        firsts.len()
    };
    if size < shape.threshold {
        return None;
    }
    if let Some(check) = check {
        let history_start = window_start - TimeDelta::seconds(shape.history);
        let history: Vec<&Observation> = merged
            .range(
                org,
                entity,
                history_start,
                then.at + TimeDelta::nanoseconds(1),
            )
            .into_iter()
            .filter(earlier)
            .collect();
        let seen = SequenceMatch {
            then,
            firsts: &firsts,
            history: &history,
        };
        if !check(&seen, &pass.active.knobs) {
            return None;
        }
    }
    Some(firsts)
}

fn push_unique<'a>(list: &mut Vec<&'a Observation>, o: &'a Observation) {
    if !list.iter().any(|seen| seen.id == o.id) {
        list.push(o);
    }
}
