//! Threshold rules: at least `threshold` events (or distinct values) for one entity inside a
//! sliding `window`.
//!
//! The alert belongs to the suppression bucket in which a qualifying window *starts*: the
//! time of the window's first event is a fixed fact, so the set of buckets holding a
//! qualifying window can only grow as events merge in, whatever their order. A burst that
//! crosses a bucket boundary is therefore one alert (its window starts before the boundary);
//! it becomes two only if the part after the boundary qualifies again on its own.
//!
//! A rule may declare a second, slower tier (`slow_threshold` within `slow_window`, for
//! example a password spray spread over a day); a window qualifying on either tier counts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::TimeDelta;
use jcwatch_model::Alert;

use super::alerts::{Draft, build};
use super::{Active, Merged, Pass, Placed, covering, store_size, time};
use crate::knob::KnobValue;
use crate::rule::knobs;
use crate::state::{Observation, StateKey};

struct Shape {
    suppress: i64,
    /// The longest window of any tier.
    window: i64,
    store: i64,
    /// (threshold, window in seconds), the primary tier first.
    tiers: Vec<(usize, i64)>,
}

/// The tiers a threshold rule declares: `threshold` within `window`, and optionally
/// `slow_threshold` within `slow_window`.
fn tiers(active: &Active) -> Vec<(usize, i64)> {
    let count = |v: u64| v.min(usize::MAX as u64) as usize;
    let mut tiers = vec![(
        count(active.knobs.count(knobs::THRESHOLD)),
        active.knobs.duration(knobs::WINDOW).as_secs().max(1) as i64,
    )];
    if let (Some(KnobValue::Count(n)), Some(KnobValue::Duration(d))) = (
        active.knobs.get(knobs::SLOW_THRESHOLD),
        active.knobs.get(knobs::SLOW_WINDOW),
    ) {
        tiers.push((count(*n), d.as_secs().max(1) as i64));
    }
    tiers
}

/// The longest window of a threshold rule, in seconds.
pub(super) fn longest_window(active: &Active) -> i64 {
    tiers(active).iter().map(|(_, w)| *w).max().unwrap_or(1)
}

fn shape(pass: &Pass<'_>) -> Shape {
    let active = pass.active;
    Shape {
        suppress: active.suppress(),
        window: longest_window(active),
        store: store_size(active),
        tiers: tiers(active),
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
        details.insert("threshold".into(), found.threshold.to_string());
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
    /// The threshold of the tier that qualified first.
    threshold: usize,
}

/// The values an observation counts for in a distinct threshold.
fn counted(o: &Observation) -> Vec<&str> {
    if o.values.is_empty() {
        o.value.as_deref().into_iter().collect()
    } else {
        o.values.iter().map(String::as_str).collect()
    }
}

/// Every observation inside a window qualifying on any tier that starts in bucket `j`.
fn qualifying<'a>(
    observations: &[&'a Observation],
    shape: &Shape,
    j: i64,
    distinct: bool,
) -> Option<Found<'a>> {
    let mut in_evidence = vec![false; observations.len()];
    let mut anchor = None;
    for &(threshold, window) in &shape.tiers {
        let found = tier(
            observations,
            shape,
            j,
            distinct,
            threshold,
            window,
            &mut in_evidence,
        );
        if anchor.is_none()
            && let Some(a) = found
        {
            anchor = Some((a, threshold));
        }
    }
    let (anchor, threshold) = anchor?;
    let evidence = observations
        .iter()
        .zip(in_evidence)
        .filter_map(|(o, keep)| keep.then_some(*o))
        .collect();
    Some(Found {
        evidence,
        anchor,
        threshold,
    })
}

/// Marks the windows of one tier that start in bucket `j` and reach its threshold; returns the
/// event at which the first of them reached it.
fn tier<'a>(
    observations: &[&'a Observation],
    shape: &Shape,
    j: i64,
    distinct: bool,
    threshold: usize,
    window: i64,
    in_evidence: &mut [bool],
) -> Option<&'a Observation> {
    let start_from = time(j);
    let start_before = time(j + shape.suppress);
    let window = TimeDelta::seconds(window);
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
        if start.at >= start_from && size >= threshold {
            in_evidence[i..end].iter_mut().for_each(|f| *f = true);
            if anchor.is_none() {
                anchor = Some(nth_reaching(&observations[i..end], threshold, distinct));
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
    anchor
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
