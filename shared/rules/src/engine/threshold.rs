//! Threshold rules: at least `threshold` events (or distinct values) for one entity inside a
//! sliding `window`.
//!
//! The alert belongs to the suppression bucket in which a qualifying window *starts*: the
//! time of the window's first event is a fixed fact, so the set of buckets holding a
//! qualifying window can only grow as events merge in, whatever their order. A burst that
//! crosses a bucket boundary is therefore one alert (its window starts before the boundary);
//! it becomes two only if the part after the boundary qualifies again on its own.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::TimeDelta;
use jcwatch_model::Alert;

use super::alerts::{Draft, build};
use super::{Merged, Pass, Placed, covering, store_size, time};
use crate::rule::knobs;
use crate::state::{Observation, StateKey};

struct Shape {
    suppress: i64,
    window: i64,
    store: i64,
    threshold: usize,
}

fn shape(pass: &Pass<'_>) -> Shape {
    let active = pass.active;
    Shape {
        suppress: active.suppress(),
        window: active.knobs.duration(knobs::WINDOW).as_secs().max(1) as i64,
        store: store_size(active),
        threshold: active.knobs.count(knobs::THRESHOLD).min(usize::MAX as u64) as usize,
    }
}

/// The suppression buckets whose windows may contain a hit at `t`.
fn affected(shape: &Shape, t: i64) -> impl Iterator<Item = i64> {
    let first = (t - shape.window).div_euclid(shape.suppress) * shape.suppress;
    let last = t.div_euclid(shape.suppress) * shape.suppress;
    (first..=last).step_by(shape.suppress as usize)
}

pub(super) fn plan(pass: &Pass<'_>, hits: &[Placed]) -> BTreeSet<StateKey> {
    let shape = shape(pass);
    let rule = pass.active.rule.id;
    let mut keys = BTreeSet::new();
    for hit in hits {
        let t = hit.obs.at.timestamp();
        for j in affected(&shape, t) {
            keys.extend(covering(
                rule,
                &hit.org,
                &hit.entity,
                j,
                j + shape.suppress + shape.window + 1,
                shape.store,
            ));
        }
    }
    keys
}

pub(super) fn evaluate(
    pass: &Pass<'_>,
    hits: &[Placed],
    merged: &Merged,
    distinct: bool,
) -> Vec<Alert> {
    let shape = shape(pass);
    let mut targets: BTreeSet<(&str, &str, i64)> = BTreeSet::new();
    for hit in hits {
        for j in affected(&shape, hit.obs.at.timestamp()) {
            targets.insert((hit.org.as_str(), hit.entity.as_str(), j));
        }
    }

    let mut alerts = Vec::new();
    for (org, entity, j) in targets {
        let observations = merged.range(
            org,
            entity,
            time(j),
            time(j + shape.suppress + shape.window + 1),
        );
        let Some(found) = qualifying(&observations, &shape, j, distinct) else {
            continue;
        };
        if !found.evidence.iter().any(|o| pass.batch.contains(&o.id)) {
            continue;
        }
        let mut details = BTreeMap::new();
        details.insert("threshold".into(), shape.threshold.to_string());
        if distinct {
            let mut values: Vec<&str> = found.evidence.iter().flat_map(|o| counted(o)).collect();
            values.sort();
            values.dedup();
            details.insert("distinct_count".into(), values.len().to_string());
            let shown: Vec<&str> = values.iter().take(10).copied().collect();
            let more = values.len().saturating_sub(10);
            let mut list = shown.join(", ");
            if more > 0 {
                list.push_str(&format!(" and {more} more"));
            }
            details.insert("distinct".into(), list);
        }
        alerts.push(build(
            pass,
            Draft {
                org,
                entity: entity.to_string(),
                bucket: j,
                evidence: found.evidence,
                anchor: found.anchor,
                details,
                actor: None,
                target: None,
            },
        ));
    }
    alerts
}

struct Found<'a> {
    evidence: Vec<&'a Observation>,
    /// The event that first reached the threshold.
    anchor: &'a Observation,
}

/// The values an observation counts for in a distinct threshold.
fn counted(o: &Observation) -> Vec<&str> {
    if o.values.is_empty() {
        o.value.as_deref().into_iter().collect()
    } else {
        o.values.iter().map(String::as_str).collect()
    }
}

/// Every observation inside a qualifying window that starts in bucket `j`.
fn qualifying<'a>(
    observations: &[&'a Observation],
    shape: &Shape,
    j: i64,
    distinct: bool,
) -> Option<Found<'a>> {
    let start_from = time(j);
    let start_before = time(j + shape.suppress);
    let window = TimeDelta::seconds(shape.window);
    let mut in_evidence = vec![false; observations.len()];
    let mut anchor = None;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut end = 0;

    for i in 0..observations.len() {
        let start = observations[i];
        if start.at >= start_before {
            break;
        }
        while end < observations.len() && observations[end].at <= start.at + window {
            for v in counted(observations[end]) {
                *counts.entry(v).or_default() += 1;
            }
            end += 1;
        }
        let size = if distinct { counts.len() } else { end - i };
        if start.at >= start_from && size >= shape.threshold {
            in_evidence[i..end].iter_mut().for_each(|f| *f = true);
            if anchor.is_none() {
                anchor = Some(nth_reaching(
                    &observations[i..end],
                    shape.threshold,
                    distinct,
                ));
            }
        }
        for v in counted(start) {
            if let Some(n) = counts.get_mut(v) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(v);
                }
            }
        }
    }

    let anchor = anchor?;
    let evidence = observations
        .iter()
        .zip(in_evidence)
        .filter_map(|(o, keep)| keep.then_some(*o))
        .collect();
    Some(Found { evidence, anchor })
}

/// The observation at which a window reached the threshold.
fn nth_reaching<'a>(
    window: &[&'a Observation],
    threshold: usize,
    distinct: bool,
) -> &'a Observation {
    if !distinct {
        return window[threshold.saturating_sub(1).min(window.len() - 1)];
    }
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for o in window {
        seen.extend(counted(o));
        if seen.len() >= threshold {
            return o;
        }
    }
    window[window.len() - 1]
}
