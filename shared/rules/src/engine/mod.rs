//! The rule engine: runs the catalogue over a batch of events against rule state behind the
//! [`StateView`] port, and returns the state to add and the alerts found.
//!
//! # How the engine is driven
//!
//! 1. [`Engine::keys_for`] names every state key the batch touches or reads.
//! 2. The caller loads those entries from its store (missing ones are simply absent).
//! 3. [`Engine::evaluate`] merges the batch's observations into them and evaluates.
//! 4. The caller writes back the [`StateUpdate`]s (unions; writing one twice is harmless) and
//!    upserts the alerts by id, merging a repeat into the stored alert ([`Alert::merge`]).
//!
//! # Why batch boundaries do not matter
//!
//! State is a set of observations keyed by (organisation, rule, entity, time bucket) and merged
//! by event id, so any split of the stream, any redelivery and any order of merging give the
//! same state. Alerts are named by (rule, organisation, entity, suppression bucket), never by
//! the batch that happened to complete them, and each rule kind is written so that the set of
//! alert ids and the events behind each are a function of the merged events alone:
//!
//! * **Monotone kinds** (threshold, plain sequences, geo-velocity) only ask "does some group of
//!   observations exist that…", which more events can only make true. A threshold alert
//!   belongs to the suppression bucket in which its qualifying window *starts* (the window's
//!   first event, a fixed fact), so a burst that crosses a bucket boundary is one alert as long
//!   as fewer than `threshold` of its events fall after the boundary; only a burst that
//!   qualifies again on its own in the next bucket gives a second alert (a repeat in a new
//!   suppression window, as intended). An evaluation re-emits an alert whenever one of its
//!   batch's events is part of the evidence, so the union of what was emitted converges to the
//!   evidence of the full stream.
//! * **Deciding kinds** (first-seen values, sequences with a check on the past, "A and not B")
//!   depend on something *not* having happened, which a late event could contradict. They
//!   decide an observation only once the past it depends on is complete: before
//!   [`EvalContext::complete_before`]. Undecided observations wait in their state entry
//!   (`decided_until` marks how far decisions went) and are decided by a later evaluation that
//!   touches the entry or by [`Engine::flush`].
//!
//! With `complete_before: None` the engine treats the batch itself as the latest word: every
//! observation in it is decided at once, and "A and not B" windows close once the batch's
//! latest event is `ABSENCE_SETTLE` past them. That is exact when each entity's events arrive in
//! time order (the poller keeps one principal's events together and pages in order), and is
//! what the detect function uses so that alerts are not delayed. When the caller knows a
//! watermark (everything before it has been merged) it passes it and the result is exact for
//! any split and any order of a page's batches; the property tests prove both.

mod absence;
mod alerts;
mod first_seen;
mod geo;
mod sequence;
mod single;
mod threshold;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use jcwatch_model::{Alert, Event, Route, Severity};

use crate::allow::AllowList;
use crate::config::{ConfigError, DetectionConfig};
use crate::fields;
use crate::knob::Knobs;
use crate::rule::{Hit, Logic, Rule, knobs};
use crate::state::{
    MemoryState, Observation, Retain, StateEntry, StateKey, StateUpdate, StateView,
};

/// How long after an "A" a batch's latest event must be, beyond the window, before an
/// "A and not B" rule decides B did not come (when no watermark is given).
pub const ABSENCE_SETTLE: Duration = Duration::from_secs(3_600);

/// Most observations one threshold, sequence or geo-velocity entry keeps. An observation is
/// a few hundred bytes of JSON, so an entry stays well inside a DynamoDB item (400 KB):
/// first-seen entries keep three per value for half as many values, "A and not B" entries
/// (rule-wide, per time bucket) twice as many.
pub const MAX_OBSERVATIONS: u32 = 256;

/// What the caller knows about the completeness of the stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvalContext {
    /// Every event earlier than this has been merged into the state (by this or earlier
    /// evaluations). `None`: the batch is the latest word (see the module documentation).
    pub complete_before: Option<DateTime<Utc>>,
}

/// What one evaluation produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evaluation {
    /// State to write back (unions).
    pub updates: Vec<StateUpdate>,
    /// Alerts as they stand with the merged state; upsert by `alert_id`, merging repeats.
    pub alerts: Vec<Alert>,
}

impl Evaluation {
    fn absorb(&mut self, other: Evaluation) {
        self.updates.extend(other.updates);
        self.alerts.extend(other.alerts);
    }

    /// One alert per id (evidence merged), in a stable order.
    fn settle(mut self) -> Self {
        let mut by_id: BTreeMap<String, Alert> = BTreeMap::new();
        for alert in self.alerts.drain(..) {
            match by_id.get_mut(&alert.alert_id) {
                Some(existing) => existing.merge(&alert),
                None => {
                    by_id.insert(alert.alert_id.clone(), alert);
                }
            }
        }
        let mut alerts: Vec<Alert> = by_id.into_values().collect();
        alerts.sort_by(|a, b| (a.first_seen, &a.alert_id).cmp(&(b.first_seen, &b.alert_id)));
        self.alerts = alerts;
        self
    }
}

/// A rule as configured.
#[derive(Debug, Clone)]
pub(crate) struct Active {
    pub rule: Rule,
    pub knobs: Knobs,
    pub severity: Severity,
    pub route: Route,
    pub allow: AllowList,
    pub enabled: bool,
}

impl Active {
    fn secs(&self, knob: &str) -> i64 {
        self.knobs.duration(knob).as_secs().max(1) as i64
    }

    pub(crate) fn suppress(&self) -> i64 {
        self.secs(knobs::SUPPRESS)
    }
}

/// The rule engine.
#[derive(Debug, Clone)]
pub struct Engine {
    rules: Vec<Active>,
}

/// A rule with its effective settings, for listing.
#[derive(Debug, Clone)]
pub struct RuleStatus<'a> {
    pub rule: &'a Rule,
    pub enabled: bool,
    pub severity: Severity,
    pub route: Route,
    pub knobs: &'a Knobs,
}

impl Engine {
    /// Builds the engine from a catalogue and the configuration, or names every problem.
    pub fn new(catalogue: Vec<Rule>, config: &DetectionConfig) -> Result<Engine, ConfigError> {
        let (global, mut resolved) = config.resolve(&catalogue).map_err(ConfigError)?;
        let rules = catalogue
            .into_iter()
            .filter_map(|rule| {
                let settings = resolved.remove(rule.id)?;
                Some(Active {
                    knobs: Knobs::resolve(&rule.knobs, &settings.knobs),
                    severity: settings.severity,
                    route: settings.route,
                    allow: global.union(&settings.allow),
                    enabled: settings.enabled,
                    rule,
                })
            })
            .collect();
        Ok(Engine { rules })
    }

    /// The built-in catalogue with its defaults.
    pub fn with_defaults() -> Engine {
        // N.B. The default configuration names no rule and enables no rule that needs
        // configuration, so it cannot fail; the catalogue test checks this too.
        Engine::new(crate::catalogue::catalogue(), &DetectionConfig::default())
            .expect("the built-in catalogue runs with the default configuration")
    }

    /// Every rule with its effective settings.
    pub fn rules(&self) -> impl Iterator<Item = RuleStatus<'_>> {
        self.rules.iter().map(|a| RuleStatus {
            rule: &a.rule,
            enabled: a.enabled,
            severity: a.severity,
            route: a.route,
            knobs: &a.knobs,
        })
    }

    fn enabled(&self) -> impl Iterator<Item = &Active> {
        self.rules.iter().filter(|a| a.enabled)
    }

    /// Every state key evaluating `events` reads or writes.
    pub fn keys_for(&self, events: &[Event], ctx: &EvalContext) -> Vec<StateKey> {
        let batch = BatchView::new(events);
        let clocks = Clocks::new(&batch, ctx);
        let mut keys = BTreeSet::new();
        for active in self.enabled() {
            let hits = hits(active, &batch);
            let pass = Pass {
                active,
                batch: &batch,
                clocks,
                flush: None,
            };
            keys.extend(plan(&pass, &hits));
        }
        keys.into_iter().collect()
    }

    /// Merges the batch into the loaded state and evaluates every enabled rule.
    pub fn evaluate(
        &self,
        events: &[Event],
        state: &dyn StateView,
        ctx: &EvalContext,
    ) -> Evaluation {
        let batch = BatchView::new(events);
        let clocks = Clocks::new(&batch, ctx);
        let mut out = Evaluation::default();
        for active in self.enabled() {
            let hits = hits(active, &batch);
            let pass = Pass {
                active,
                batch: &batch,
                clocks,
                flush: None,
            };
            out.absorb(run_rule(&pass, &hits, state));
        }
        out.settle()
    }

    /// Takes every decision still waiting in `keys` as if everything before `until` had been
    /// merged: the end of a scan, or of a test. Only the deciding kinds have anything to do.
    pub fn flush(
        &self,
        keys: &[StateKey],
        state: &dyn StateView,
        until: DateTime<Utc>,
    ) -> Evaluation {
        let batch = BatchView::new(&[]);
        let clocks = Clocks {
            decide: until,
            absence: until,
        };
        let mut out = Evaluation::default();
        for active in self.enabled() {
            let own: Vec<StateKey> = keys
                .iter()
                .filter(|k| k.rule == active.rule.id)
                .cloned()
                .collect();
            if own.is_empty() {
                continue;
            }
            let pass = Pass {
                active,
                batch: &batch,
                clocks,
                flush: Some(&own),
            };
            out.absorb(run_rule(&pass, &[], state));
        }
        out.settle()
    }

    /// Evaluates a batch against in-memory state and applies the updates.
    pub fn run(&self, events: &[Event], state: &mut MemoryState, ctx: &EvalContext) -> Vec<Alert> {
        let evaluation = self.evaluate(events, state, ctx);
        state.apply(&evaluation.updates);
        evaluation.alerts
    }

    /// Flushes every key of an in-memory state (see [`Engine::flush`]) and applies the result.
    pub fn flush_memory(&self, state: &mut MemoryState, until: DateTime<Utc>) -> Vec<Alert> {
        let keys: Vec<StateKey> = state.keys().cloned().collect();
        let evaluation = self.flush(&keys, state, until);
        state.apply(&evaluation.updates);
        evaluation.alerts
    }

    /// Scans a whole export: orders it by time, runs it in chunks against fresh in-memory
    /// state, flushes, and returns one alert per id with the events behind it merged.
    pub fn scan(&self, mut events: Vec<Event>) -> Vec<Alert> {
        events.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        events.dedup_by(|later, earlier| later.id == earlier.id);
        let mut state = MemoryState::new();
        let mut alerts = AlertSet::default();
        for chunk in events.chunks(10_000) {
            alerts.extend(self.run(chunk, &mut state, &EvalContext::default()));
        }
        if let Some(last) = events.last() {
            let until = last.timestamp + TimeDelta::nanoseconds(1);
            alerts.extend(self.flush_memory(&mut state, until));
        }
        alerts.into_vec()
    }
}

/// Alerts folded by id, as a store would hold them.
#[derive(Debug, Clone, Default)]
pub struct AlertSet {
    by_id: BTreeMap<String, Alert>,
}

impl AlertSet {
    /// Folds alerts in: a new id is kept as it is, a known one merges its evidence.
    pub fn extend(&mut self, alerts: impl IntoIterator<Item = Alert>) {
        for alert in alerts {
            match self.by_id.get_mut(&alert.alert_id) {
                Some(existing) => existing.merge(&alert),
                None => {
                    self.by_id.insert(alert.alert_id.clone(), alert);
                }
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&Alert> {
        self.by_id.get(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The alerts ordered by first sighting.
    pub fn into_vec(self) -> Vec<Alert> {
        let mut alerts: Vec<Alert> = self.by_id.into_values().collect();
        alerts.sort_by(|a, b| (a.first_seen, &a.alert_id).cmp(&(b.first_seen, &b.alert_id)));
        alerts
    }

    /// Alert id to the sorted event ids behind it: what must not depend on batching.
    pub fn evidence(&self) -> BTreeMap<String, Vec<String>> {
        self.by_id
            .iter()
            .map(|(id, a)| {
                let mut ids = a.event_ids.clone();
                ids.sort();
                ids.dedup();
                (id.clone(), ids)
            })
            .collect()
    }
}

/// The batch's events, unique and in time order.
pub(crate) struct BatchView<'a> {
    pub events: Vec<&'a Event>,
    pub by_id: HashMap<&'a str, &'a Event>,
    pub ids: HashSet<&'a str>,
    /// The organisations the batch's events belong to (`""` when they do not say).
    pub orgs: BTreeSet<String>,
}

impl<'a> BatchView<'a> {
    fn new(events: &'a [Event]) -> Self {
        let mut sorted: Vec<&Event> = events.iter().collect();
        sorted.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        sorted.dedup_by(|later, earlier| later.id == earlier.id);
        let by_id = sorted.iter().map(|e| (e.id.as_str(), *e)).collect();
        let ids = sorted.iter().map(|e| e.id.as_str()).collect();
        let orgs = sorted
            .iter()
            .map(|e| e.organization.clone().unwrap_or_default())
            .collect();
        BatchView {
            events: sorted,
            by_id,
            ids,
            orgs,
        }
    }

    fn latest(&self) -> Option<DateTime<Utc>> {
        self.events.last().map(|e| e.timestamp)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }
}

/// The times up to which decisions may be taken.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clocks {
    /// First-seen values and checked sequences: observations earlier than this.
    pub decide: DateTime<Utc>,
    /// "A and not B": windows that closed before this.
    pub absence: DateTime<Utc>,
}

impl Clocks {
    fn new(batch: &BatchView<'_>, ctx: &EvalContext) -> Self {
        match (ctx.complete_before, batch.latest()) {
            (Some(t), _) => Clocks {
                decide: t,
                absence: t,
            },
            (None, Some(latest)) => {
                let decide = latest + TimeDelta::nanoseconds(1);
                let settle = TimeDelta::from_std(ABSENCE_SETTLE).unwrap_or(TimeDelta::hours(1));
                Clocks {
                    decide,
                    absence: decide - settle,
                }
            }
            (None, None) => Clocks {
                decide: DateTime::<Utc>::MIN_UTC,
                absence: DateTime::<Utc>::MIN_UTC,
            },
        }
    }
}

/// One rule's evaluation of one batch (or flush).
pub(crate) struct Pass<'a> {
    pub active: &'a Active,
    pub batch: &'a BatchView<'a>,
    pub clocks: Clocks,
    /// In a flush: the rule's keys whose waiting decisions must be taken.
    pub flush: Option<&'a [StateKey]>,
}

/// A batch event as one rule saw it.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub org: String,
    pub entity: String,
    pub obs: Observation,
}

/// The observations each enabled rule takes from the batch (allow-listed events skipped).
fn hits(active: &Active, batch: &BatchView<'_>) -> Vec<Placed> {
    let observe = active.rule.logic.observe();
    let rule_wide = matches!(active.rule.logic, Logic::Absence { .. });
    batch
        .events
        .iter()
        .filter(|ev| !active.allow.allows(ev))
        .filter_map(|ev| {
            let hit = observe(ev, &active.knobs)?;
            let mut placed = place(ev, hit);
            if rule_wide {
                // The entity travels inside the observation; the key is rule-wide.
                placed.entity = absence::ALL.to_string();
            }
            Some(placed)
        })
        .collect()
}

fn place(ev: &Event, hit: Hit) -> Placed {
    let geo = ev.geoip.as_ref();
    let entity = entity_key(&hit.entity);
    let mut obs = Observation::new(ev.id.clone(), ev.timestamp, hit.role);
    obs.entity = Some(entity.clone());
    obs.value = hit.value.map(|v| fields::bounded(&v, 200));
    obs.values = hit
        .values
        .iter()
        .take(64)
        .map(|v| fields::bounded(v, 120))
        .collect();
    obs.aux = hit.aux.map(|v| fields::bounded(&v, 200));
    obs.detail = hit.detail.map(|v| fields::bounded(&v, 400));
    obs.target = hit
        .target
        .or_else(|| fields::target_identity(ev))
        .map(|v| fields::bounded(&v, 200));
    obs.actor = fields::actor_identity(ev)
        .or_else(|| fields::login_identity(ev))
        .map(|v| fields::bounded(&v, 200));
    obs.event_type = ev.event_type.as_deref().map(|v| fields::bounded(v, 80));
    obs.ip = ev.client_ip.as_deref().map(|v| fields::bounded(v, 64));
    obs.country = geo
        .and_then(|g| g.country_code.as_deref())
        .map(|v| fields::bounded(v, 8).to_ascii_uppercase());
    obs.region = geo
        .and_then(|g| g.region_name.as_deref())
        .map(|v| fields::bounded(v, 80));
    obs.city = geo
        .and_then(|g| g.city.as_deref())
        .map(|v| fields::bounded(v, 80));
    obs.lat = geo.and_then(|g| g.latitude);
    obs.lon = geo.and_then(|g| g.longitude);
    obs.user_agent = fields::user_agent_label(ev);
    obs.mfa = ev.mfa;
    Placed {
        org: ev.organization.clone().unwrap_or_default(),
        entity,
        obs,
    }
}

/// An entity as a state key holds it: trimmed and bounded (an attacker controls names).
fn entity_key(entity: &str) -> String {
    let trimmed = entity.trim();
    if trimmed.chars().count() <= 200 {
        return trimmed.to_string();
    }
    let head: String = trimmed.chars().take(120).collect();
    format!("{head}…#{}", &alerts::digest(&[trimmed])[..16])
}

/// Bucket start (seconds) of a time, for buckets of `size` seconds aligned on the epoch.
pub(crate) fn bucket(at: DateTime<Utc>, size: i64) -> i64 {
    at.timestamp().div_euclid(size.max(1)) * size.max(1)
}

pub(crate) fn time(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The keys of store buckets of `size` covering `[from, to)` (seconds) for one entity.
pub(crate) fn covering(
    rule: &str,
    org: &str,
    entity: &str,
    from: i64,
    to: i64,
    size: i64,
) -> Vec<StateKey> {
    let mut keys = Vec::new();
    let mut start = from.div_euclid(size) * size;
    while start < to {
        keys.push(StateKey {
            rule: rule.to_string(),
            org: org.to_string(),
            entity: entity.to_string(),
            bucket: start,
        });
        start += size;
    }
    keys
}

/// The plan and run of one rule, by kind.
fn plan(pass: &Pass<'_>, hits: &[Placed]) -> BTreeSet<StateKey> {
    match &pass.active.rule.logic {
        Logic::Single { .. } => BTreeSet::new(),
        Logic::Threshold { .. } => threshold::plan(pass, hits),
        Logic::Sequence { check, .. } => sequence::plan(pass, hits, check.is_some()),
        Logic::Absence { .. } => absence::plan(pass, hits),
        Logic::FirstSeen { .. } => first_seen::plan(pass, hits),
        Logic::GeoVelocity { .. } => geo::plan(pass, hits),
    }
}

fn run_rule(pass: &Pass<'_>, hits: &[Placed], state: &dyn StateView) -> Evaluation {
    if let Logic::Single { .. } = &pass.active.rule.logic {
        // Single-event rules keep no state: the alert id folds repeats together.
        return Evaluation {
            updates: Vec::new(),
            alerts: single::evaluate(pass, hits),
        };
    }
    let keys = plan(pass, hits);
    let retain = retention(&pass.active.rule.logic);
    let merged = Merged::load(
        state,
        pass.active.rule.id,
        keys,
        hits,
        retain,
        store_size(pass.active),
    );
    let alerts = match &pass.active.rule.logic {
        Logic::Single { .. } => single::evaluate(pass, hits),
        Logic::Threshold { distinct, .. } => threshold::evaluate(pass, hits, &merged, *distinct),
        Logic::Sequence {
            distinct, check, ..
        } => sequence::evaluate(pass, hits, &merged, *distinct, *check),
        Logic::Absence { .. } => absence::evaluate(pass, hits, &merged),
        Logic::FirstSeen {
            check,
            new_entities,
            ..
        } => first_seen::evaluate(pass, hits, &merged, *check, *new_entities),
        Logic::GeoVelocity { .. } => geo::evaluate(pass, hits, &merged),
    };
    let decided = match &pass.active.rule.logic {
        Logic::Sequence { check: Some(_), .. } | Logic::FirstSeen { .. } => {
            merged.touched_keys(pass.flush)
        }
        Logic::Absence { .. } => absence::decided_keys(pass, &merged),
        _ => BTreeSet::new(),
    };
    let decided_until = match &pass.active.rule.logic {
        Logic::Absence { .. } => pass.clocks.absence,
        _ => pass.clocks.decide,
    };
    Evaluation {
        updates: merged.updates(&decided, decided_until, expiry_horizon(pass.active)),
        alerts,
    }
}

/// The size of a rule's store buckets, in seconds.
pub(crate) fn store_size(active: &Active) -> i64 {
    let suppress = active.suppress();
    let day = 86_400;
    match &active.rule.logic {
        Logic::Single { .. } => suppress,
        Logic::Threshold { .. } => suppress.max(threshold::longest_window(active)),
        Logic::Sequence { .. } | Logic::Absence { .. } => suppress.max(active.secs(knobs::WITHIN)),
        Logic::FirstSeen { .. } => (active.secs(knobs::HISTORY) / 2).max(day),
        Logic::GeoVelocity { .. } => suppress.max(day),
    }
}

/// How long after its bucket ends an entry may still be read.
fn expiry_horizon(active: &Active) -> i64 {
    let suppress = active.suppress();
    let optional = |name: &str| {
        if active.rule.knob(name).is_some() {
            active.secs(name)
        } else {
            0
        }
    };
    let reach = match &active.rule.logic {
        Logic::Single { .. } => 0,
        Logic::Threshold { .. } => suppress + threshold::longest_window(active),
        Logic::Sequence { .. } => suppress + active.secs(knobs::WITHIN) + optional(knobs::HISTORY),
        Logic::Absence { .. } => active.secs(knobs::WITHIN) + 2 * store_size(active),
        Logic::FirstSeen { .. } => active.secs(knobs::HISTORY) + suppress,
        Logic::GeoVelocity { .. } => suppress + 2 * geo::reach_secs(active),
    };
    reach + 86_400
}

fn retention(logic: &Logic) -> Retain {
    match logic {
        Logic::FirstSeen { .. } => Retain::per_value(3, MAX_OBSERVATIONS / 2),
        Logic::Absence { .. } => Retain::earliest(2 * MAX_OBSERVATIONS),
        _ => Retain::earliest(MAX_OBSERVATIONS),
    }
}

/// The loaded state of the planned keys with the batch's observations merged in.
pub(crate) struct Merged {
    rule: String,
    size: i64,
    retain: Retain,
    entries: BTreeMap<StateKey, Vec<Observation>>,
    decided_until: BTreeMap<StateKey, DateTime<Utc>>,
    /// Keys this batch's observations fall in.
    hit_keys: BTreeSet<StateKey>,
    /// Per key, the batch's observations that the stored entry did not hold yet.
    added: BTreeMap<StateKey, Vec<Observation>>,
}

impl Merged {
    fn load(
        state: &dyn StateView,
        rule: &str,
        keys: BTreeSet<StateKey>,
        hits: &[Placed],
        retain: Retain,
        size: i64,
    ) -> Merged {
        let mut merged = Merged {
            rule: rule.to_string(),
            size,
            retain,
            entries: BTreeMap::new(),
            decided_until: BTreeMap::new(),
            hit_keys: BTreeSet::new(),
            added: BTreeMap::new(),
        };
        let mut stored_ids: HashMap<StateKey, HashSet<String>> = HashMap::new();
        for key in keys {
            let mut observations = Vec::new();
            if let Some(entry) = state.get(&key) {
                let mut copy: StateEntry = entry.clone();
                copy.retain = retain;
                copy.normalise();
                if let Some(t) = copy.decided_until {
                    merged.decided_until.insert(key.clone(), t);
                }
                observations = copy.observations;
            }
            stored_ids.insert(
                key.clone(),
                observations.iter().map(|o| o.id.clone()).collect(),
            );
            merged.entries.insert(key, observations);
        }
        for hit in hits {
            let key = merged.key_of(&hit.org, &hit.entity, hit.obs.at);
            let Some(ids) = stored_ids.get(&key) else {
                debug_assert!(false, "observation outside the plan: {key:?}");
                continue;
            };
            if !ids.contains(&hit.obs.id) {
                merged
                    .added
                    .entry(key.clone())
                    .or_default()
                    .push(hit.obs.clone());
            }
            merged.hit_keys.insert(key.clone());
            merged.entries.entry(key).or_default().push(hit.obs.clone());
        }
        for observations in merged.entries.values_mut() {
            retain.apply(observations);
        }
        // Only what survives retention is worth writing: a redelivered batch whose events
        // were already dropped by the limits then writes nothing.
        for (key, added) in merged.added.iter_mut() {
            let kept: HashSet<&str> = merged
                .entries
                .get(key)
                .map(|o| o.iter().map(|o| o.id.as_str()).collect())
                .unwrap_or_default();
            added.retain(|o| kept.contains(o.id.as_str()));
        }
        merged.added.retain(|_, added| !added.is_empty());
        merged
    }

    /// The store key an observation of `entity` at `at` lives in.
    pub fn key_of(&self, org: &str, entity: &str, at: DateTime<Utc>) -> StateKey {
        StateKey {
            rule: self.rule.clone(),
            org: org.to_string(),
            entity: entity.to_string(),
            bucket: bucket(at, self.size),
        }
    }

    /// Observations of one entity with `from <= at < to`, in time order.
    pub fn range(
        &self,
        org: &str,
        entity: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<&Observation> {
        let mut out: Vec<&Observation> = Vec::new();
        let mut start = bucket(from, self.size);
        while time(start) < to {
            let key = StateKey {
                rule: self.rule.clone(),
                org: org.to_string(),
                entity: entity.to_string(),
                bucket: start,
            };
            match self.entries.get(&key) {
                Some(observations) => {
                    out.extend(observations.iter().filter(|o| o.at >= from && o.at < to))
                }
                None => debug_assert!(false, "read outside the plan: {key:?}"),
            }
            start += self.size;
        }
        out
    }

    /// The observations of one loaded key.
    pub fn entry(&self, key: &StateKey) -> &[Observation] {
        self.entries.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every loaded key.
    pub fn keys(&self) -> impl Iterator<Item = &StateKey> {
        self.entries.keys()
    }

    pub fn decided_until(&self, key: &StateKey) -> Option<DateTime<Utc>> {
        self.decided_until.get(key).copied()
    }

    /// Keys holding this batch's observations (or, in a flush, the flushed keys).
    pub fn touched_keys(&self, flush: Option<&[StateKey]>) -> BTreeSet<StateKey> {
        match flush {
            Some(keys) => keys
                .iter()
                .filter(|k| self.entries.contains_key(*k))
                .cloned()
                .collect(),
            None => self.hit_keys.clone(),
        }
    }

    fn updates(
        &self,
        decided: &BTreeSet<StateKey>,
        decided_until: DateTime<Utc>,
        horizon: i64,
    ) -> Vec<StateUpdate> {
        let mut keys: BTreeSet<&StateKey> = self.added.keys().collect();
        keys.extend(decided.iter());
        keys.into_iter()
            .map(|key| {
                let moves = decided.contains(key)
                    && self.decided_until(key).is_none_or(|t| t < decided_until);
                StateUpdate {
                    key: key.clone(),
                    add: self.added.get(key).cloned().unwrap_or_default(),
                    decided_until: moves.then_some(decided_until),
                    expires_at: time(key.bucket + self.size + horizon),
                    retain: self.retain,
                }
            })
            .filter(|u| !u.add.is_empty() || u.decided_until.is_some())
            .collect()
    }
}
