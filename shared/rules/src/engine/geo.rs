//! Geo-velocity rules: two successful logins of one entity farther apart than anyone could
//! travel in the time between them, or a trip out to another country and back within a few
//! hours.
//!
//! Pairs are compared whatever lies between them, not only successive logins: if every hop of
//! a journey is plausible so is the whole journey, so this finds what successive comparison
//! finds, and it can only find more as events merge in, which keeps it independent of batch
//! order.
//!
//! The alert belongs to the suppression window of the *earlier* login of each impossible pair
//! (the middle one of a trip out and back), and the windows start at `window_starts` (UTC)
//! rather than midnight. An intruder's login between two of the owner's logins makes two
//! impossible pairs; anchored on their earlier logins, both fall in the window of the evening
//! before or of the intruder's own login, so the incident is one alert as long as the window
//! boundary lies in the hours the owner is usually not active (the default, 06:00 UTC, is
//! night in the Americas and before work in Europe).

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use jcwatch_model::Alert;

use super::alerts::{Draft, build};
use super::{Active, Merged, Pass, Placed, covering, store_size, time};
use crate::fields::haversine_km;
use crate::rule::knobs;
use crate::state::{Observation, StateKey};

/// Half the Earth's circumference: no two places are farther apart.
const MAX_DISTANCE_KM: f64 = 20_038.0;

struct Shape {
    suppress: i64,
    store: i64,
    max_speed: f64,
    min_distance: f64,
    /// Logins in one country are only compared this far apart: address geolocation inside a
    /// country (mobile carriers, national providers) is often hundreds of kilometres off.
    min_distance_domestic: f64,
    /// Longest gap between two logins that could still be too fast.
    pair_reach: i64,
    return_within: i64,
    /// Where suppression windows start, in seconds after midnight UTC.
    offset: i64,
}

fn shape(active: &Active) -> Shape {
    let max_speed = active.knobs.number(knobs::MAX_SPEED).max(1.0);
    let pair_reach = ((MAX_DISTANCE_KM / max_speed) * 3_600.0).ceil() as i64;
    Shape {
        suppress: active.suppress(),
        store: store_size(active),
        max_speed,
        min_distance: active.knobs.number(knobs::MIN_DISTANCE),
        min_distance_domestic: match active.knobs.get(knobs::MIN_DISTANCE_DOMESTIC) {
            Some(crate::knob::KnobValue::Number(km)) => *km,
            _ => active.knobs.number(knobs::MIN_DISTANCE),
        },
        pair_reach: pair_reach.clamp(3_600, 2 * 86_400),
        return_within: active.knobs.duration(knobs::RETURN_WITHIN).as_secs() as i64,
        offset: (active.knobs.duration(knobs::WINDOW_STARTS).as_secs() as i64).rem_euclid(86_400),
    }
}

impl Shape {
    fn reach(&self) -> i64 {
        self.pair_reach.max(self.return_within)
    }

    /// The start of the suppression window holding `t`.
    fn window_of(&self, t: i64) -> i64 {
        (t - self.offset).div_euclid(self.suppress) * self.suppress + self.offset
    }

    /// Windows whose anchors a login at `t` may pair with: it is the later login of pairs
    /// anchored up to `reach` before it, or the earlier or middle login of others.
    fn affected(&self, t: i64) -> impl Iterator<Item = i64> {
        let first = self.window_of(t - self.reach());
        let last = self.window_of(t + self.return_within);
        (first..=last).step_by(self.suppress as usize)
    }

    /// What must be loaded to evaluate the anchors of window `j`.
    fn span(&self, j: i64) -> (i64, i64) {
        (j - self.return_within, j + self.suppress + self.reach() + 1)
    }
}

/// How far around a login other logins are compared, in seconds.
pub(super) fn reach_secs(active: &Active) -> i64 {
    shape(active).reach()
}

pub(super) fn plan(pass: &Pass<'_>, hits: &[Placed]) -> BTreeSet<StateKey> {
    // N.B. `covering` works on any range, so windows need not line up with store buckets.
    let shape = shape(pass.active);
    let rule = pass.active.rule.id;
    let mut keys = BTreeSet::new();
    for hit in hits {
        for j in shape.affected(hit.obs.at.timestamp()) {
            let (from, to) = shape.span(j);
            keys.extend(covering(rule, &hit.org, &hit.entity, from, to, shape.store));
        }
    }
    keys
}

fn km(a: &Observation, b: &Observation) -> Option<f64> {
    Some(haversine_km(a.lat?, a.lon?, b.lat?, b.lon?))
}

/// Different countries within an hour, for logins whose coordinates are unknown.
fn country_hop(a: &Observation, b: &Observation) -> bool {
    match (a.country.as_deref(), b.country.as_deref()) {
        (Some(ca), Some(cb)) => ca != cb && (b.at - a.at).num_seconds().abs() <= 3_600,
        _ => false,
    }
}

fn hours(a: &Observation, b: &Observation) -> f64 {
    let secs = (b.at - a.at).num_seconds().abs().max(60);
    secs as f64 / 3_600.0
}

fn place(o: &Observation) -> String {
    let parts: Vec<&str> = [o.city.as_deref(), o.region.as_deref(), o.country.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "an unknown place".into()
    } else {
        parts.join(", ")
    }
}

struct Finding<'a> {
    evidence: Vec<&'a Observation>,
    anchor: &'a Observation,
    details: BTreeMap<String, String>,
}

pub(super) fn evaluate(pass: &Pass<'_>, hits: &[Placed], merged: &Merged) -> Vec<Alert> {
    let shape = shape(pass.active);
    let mut targets = BTreeSet::new();
    for hit in hits {
        for j in shape.affected(hit.obs.at.timestamp()) {
            targets.insert((hit.org.as_str(), hit.entity.as_str(), j));
        }
    }
    let mut alerts = Vec::new();
    for (org, entity, j) in targets {
        let (from, to) = shape.span(j);
        let logins = merged.range(org, entity, time(from), time(to));
        let Some(found) = find(&logins, &shape, j) else {
            continue;
        };
        if !found.evidence.iter().any(|o| pass.batch.contains(&o.id)) {
            continue;
        }
        alerts.push(build(
            pass,
            Draft {
                org,
                entity: entity.to_string(),
                bucket: j,
                evidence: found.evidence,
                anchor: found.anchor,
                details: found.details,
                actor: None,
                target: None,
            },
        ));
    }
    alerts
}

fn find<'a>(logins: &[&'a Observation], shape: &Shape, j: i64) -> Option<Finding<'a>> {
    let (start, end) = (time(j), time(j + shape.suppress));
    let mut evidence: BTreeMap<&str, &Observation> = BTreeMap::new();
    let mut best: Option<(f64, &Observation, &Observation)> = None;
    let mut there_and_back: Option<(&Observation, &Observation, &Observation)> = None;

    for (xi, x) in logins.iter().enumerate() {
        if x.at < start || x.at >= end {
            continue;
        }
        // Impossible pairs anchored on their earlier login, x.
        for y in &logins[xi + 1..] {
            if (y.at - x.at).num_seconds() > shape.pair_reach {
                break;
            }
            let (distance, speed) = match km(x, y) {
                Some(distance) => (distance, distance / hours(x, y)),
                // Without coordinates, two countries within the hour is what can be said.
                None if country_hop(x, y) => (f64::NAN, f64::INFINITY),
                None => continue,
            };
            let domestic = x.country.is_some() && x.country == y.country;
            let far_enough = if domestic {
                shape.min_distance_domestic
            } else {
                shape.min_distance
            };
            if (distance.is_nan() || distance >= far_enough) && speed > shape.max_speed {
                evidence.insert(x.id.as_str(), x);
                evidence.insert(y.id.as_str(), y);
                if best.is_none_or(|(s, _, _)| speed > s) {
                    best = Some((speed, x, y));
                }
            }
        }
        // A trip out and back with x in the middle.
        if let Some((a, c)) = out_and_back(logins, xi, shape) {
            evidence.insert(a.id.as_str(), a);
            evidence.insert(x.id.as_str(), x);
            evidence.insert(c.id.as_str(), c);
            if there_and_back.is_none() {
                there_and_back = Some((a, x, c));
            }
        }
    }
    if evidence.is_empty() {
        return None;
    }

    let mut details = BTreeMap::new();
    let anchor = match (best, there_and_back) {
        (Some((speed, a, b)), _) => {
            let shown = |x: f64| {
                if x.is_finite() {
                    format!("{x:.0}")
                } else {
                    "?".to_string()
                }
            };
            details.insert("from".into(), place(a));
            details.insert("to".into(), place(b));
            details.insert(
                "distance_km".into(),
                km(a, b).map(shown).unwrap_or_else(|| "?".into()),
            );
            details.insert("speed_kmh".into(), shown(speed));
            details.insert(
                "hours".into(),
                format!("{:.1}", (b.at - a.at).num_seconds() as f64 / 3_600.0),
            );
            b
        }
        (None, Some((a, b, c))) => {
            details.insert("from".into(), place(a));
            details.insert("to".into(), place(b));
            details.insert("back".into(), place(c));
            details.insert(
                "distance_km".into(),
                format!("{:.0}", km(a, b).unwrap_or_default()),
            );
            details.insert(
                "hours".into(),
                format!("{:.1}", (c.at - a.at).num_seconds() as f64 / 3_600.0),
            );
            b
        }
        (None, None) => return None,
    };
    Some(Finding {
        evidence: evidence.into_values().collect(),
        anchor,
        details,
    })
}

/// A login `b` in another country than logins `a` before and `c` after it, both far from it,
/// with `a` to `c` within `return_within`: someone else used the account while its owner was
/// at home.
fn out_and_back<'a>(
    logins: &[&'a Observation],
    bi: usize,
    shape: &Shape,
) -> Option<(&'a Observation, &'a Observation)> {
    if shape.return_within == 0 {
        return None;
    }
    let b = logins[bi];
    let window = TimeDelta::seconds(shape.return_within);
    let b_country = b.country.as_deref()?;
    for a in logins[..bi].iter().rev() {
        if b.at - a.at > window {
            break;
        }
        let Some(a_country) = a.country.as_deref() else {
            continue;
        };
        if a_country == b_country || km(a, b).is_none_or(|d| d < shape.min_distance) {
            continue;
        }
        for c in &logins[bi + 1..] {
            if c.at - a.at > window {
                break;
            }
            if c.country.as_deref() == Some(a_country)
                && km(b, c).is_some_and(|d| d >= shape.min_distance)
            {
                return Some((a, c));
            }
        }
    }
    None
}
