//! Rule state: idempotent, mergeable observations keyed by (organisation, rule, entity, time
//! bucket).
//!
//! An observation is a small record of one event as one rule saw it (the event id, its time and
//! the few fields the rule needs). Merging two entries is the union of their observations by
//! event id, followed by a retention step that keeps the earliest observations per group. The
//! retention is a function of the set alone (never of the order things arrived in), so merging
//! is associative, commutative and idempotent: the same events give the same state however
//! they were batched, repeated or reordered. Adapters may therefore write entries back with a
//! plain union (a DynamoDB map keyed by event id, say) and let [`StateEntry::normalise`] run
//! when the entry is read.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where one piece of rule state lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StateKey {
    pub rule: String,
    /// The organisation, `""` when the events do not say.
    pub org: String,
    /// Who or what the state is about: a user, an address, `*` for rule-wide state.
    pub entity: String,
    /// Start of the time bucket, in seconds since the epoch (UTC).
    pub bucket: i64,
}

impl StateKey {
    /// One string naming the key unambiguously (a JSON array), for a store's partition key.
    /// Entities are attacker-controlled text, so no separator character is trusted.
    pub fn storage_key(&self) -> String {
        serde_json::to_string(&(&self.rule, &self.org, &self.entity, self.bucket))
            .unwrap_or_default()
    }

    /// Reads back what [`StateKey::storage_key`] wrote.
    pub fn from_storage_key(text: &str) -> Option<StateKey> {
        let (rule, org, entity, bucket): (String, String, String, i64) =
            serde_json::from_str(text).ok()?;
        Some(StateKey {
            rule,
            org,
            entity,
            bucket,
        })
    }
}

/// What part an observation plays in its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Counted by a threshold or a geo-velocity rule.
    Hit,
    /// The first step of a sequence ("failed logins").
    First,
    /// The step that completes a sequence ("then a success").
    Then,
    /// Extra facts a sequence's check reads ("a password reset happened").
    Context,
    /// Opens an "A and not B" window.
    Start,
    /// Closes an "A and not B" window (the B).
    Cancel,
    /// A value that may be new for its entity.
    Candidate,
    /// A value that only teaches the rule what is usual.
    History,
}

/// One event as one rule saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The event id: observations merge by it.
    pub id: String,
    pub at: DateTime<Utc>,
    pub role: Role,
    /// The entity, for rule-wide keys (`entity = "*"`) that hold several entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// The value the rule counts or remembers (a user for a spray, a country, a network).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Several counted values carried by one event (the systems a command ran on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// A second remembered value (a device for a country).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<bool>,
    /// A short, bounded description of what the event changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Observation {
    /// A bare observation; the engine fills the rest from the event.
    pub fn new(id: impl Into<String>, at: DateTime<Utc>, role: Role) -> Self {
        Observation {
            id: id.into(),
            at,
            role,
            entity: None,
            value: None,
            values: Vec::new(),
            aux: None,
            actor: None,
            target: None,
            event_type: None,
            ip: None,
            country: None,
            region: None,
            city: None,
            lat: None,
            lon: None,
            user_agent: None,
            mfa: None,
            detail: None,
        }
    }

    /// The order every list of observations is kept in: time, then event id.
    pub fn order(&self) -> (DateTime<Utc>, &str) {
        (self.at, self.id.as_str())
    }
}

/// How many observations an entry keeps, so state stays bounded whatever an attacker sends.
///
/// Observations are grouped (by role, value and aux when `grouped`, else all together); each
/// group keeps its `per_group` earliest observations and only the `max_groups` groups that
/// appeared first are kept. "Earliest" depends on the set alone, which keeps merging
/// order-independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retain {
    pub grouped: bool,
    pub per_group: u32,
    pub max_groups: u32,
}

impl Retain {
    /// Every observation in one group, the earliest `cap` kept.
    pub const fn earliest(cap: u32) -> Self {
        Retain {
            grouped: false,
            per_group: cap,
            max_groups: 1,
        }
    }

    /// The earliest `per_group` observations of each distinct (role, value, aux).
    pub const fn per_value(per_group: u32, max_groups: u32) -> Self {
        Retain {
            grouped: true,
            per_group,
            max_groups,
        }
    }

    /// Sorts, removes duplicate event ids and applies the limits.
    pub fn apply(&self, observations: &mut Vec<Observation>) {
        observations.sort_by(|a, b| a.order().cmp(&b.order()));
        observations.dedup_by(|later, earlier| later.id == earlier.id);

        // Per group: its rank by first appearance, and how many of it were seen so far.
        let mut groups: HashMap<Group<'_>, (u32, u32)> = HashMap::new();
        let mut keep = Vec::with_capacity(observations.len());
        for obs in observations.iter() {
            let group = if self.grouped {
                (obs.role, obs.value.as_deref(), obs.aux.as_deref())
            } else {
                (Role::Hit, None, None)
            };
            let next_rank = groups.len() as u32;
            let (rank, seen) = groups.entry(group).or_insert((next_rank, 0));
            let kept = *rank < self.max_groups && *seen < self.per_group;
            *seen += 1;
            keep.push(kept);
        }
        let mut flags = keep.into_iter();
        observations.retain(|_| flags.next().unwrap_or(false));
    }
}

/// What retention groups observations by: role, value and aux.
type Group<'a> = (Role, Option<&'a str>, Option<&'a str>);

/// The stored state of one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateEntry {
    pub observations: Vec<Observation>,
    /// Every decision that waits for the past to be complete (first-seen values, "A and not
    /// B") has been taken for observations of this entry earlier than this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_until: Option<DateTime<Utc>>,
    /// After this time the entry is no longer read by any rule and may be deleted.
    pub expires_at: DateTime<Utc>,
    pub retain: Retain,
}

impl StateEntry {
    /// A new entry holding what one update adds.
    pub fn from_update(update: &StateUpdate) -> Self {
        let mut entry = StateEntry {
            observations: Vec::new(),
            decided_until: None,
            expires_at: update.expires_at,
            retain: update.retain,
        };
        entry.absorb(update);
        entry
    }

    /// Merges an update in: union of observations, the later decision mark and expiry.
    pub fn absorb(&mut self, update: &StateUpdate) {
        self.observations.extend(update.add.iter().cloned());
        self.decided_until = self.decided_until.max(update.decided_until);
        self.expires_at = self.expires_at.max(update.expires_at);
        self.retain = update.retain;
        self.normalise();
    }

    /// Merges another stored copy of the same key in (for adapters that keep several).
    pub fn merge(&mut self, other: &StateEntry) {
        self.observations.extend(other.observations.iter().cloned());
        self.decided_until = self.decided_until.max(other.decided_until);
        self.expires_at = self.expires_at.max(other.expires_at);
        self.normalise();
    }

    /// Puts the observations in canonical form: sorted, unique by event id, within limits.
    pub fn normalise(&mut self) {
        self.retain.apply(&mut self.observations);
    }
}

/// What one evaluation changes in one key. Applying an update twice changes nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateUpdate {
    pub key: StateKey,
    /// Observations not yet in the entry that was read (may be empty when only
    /// `decided_until` moves).
    pub add: Vec<Observation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_until: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub retain: Retain,
}

/// Read access to stored rule state: what the caller loaded for the keys the engine asked for.
pub trait StateView {
    fn get(&self, key: &StateKey) -> Option<&StateEntry>;
}

impl StateView for BTreeMap<StateKey, StateEntry> {
    fn get(&self, key: &StateKey) -> Option<&StateEntry> {
        BTreeMap::get(self, key)
    }
}

impl StateView for HashMap<StateKey, StateEntry> {
    fn get(&self, key: &StateKey) -> Option<&StateEntry> {
        HashMap::get(self, key)
    }
}

/// Rule state in memory: for tests and the command-line scan.
#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    entries: BTreeMap<StateKey, StateEntry>,
}

impl MemoryState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies an evaluation's updates (a union; applying twice is harmless).
    pub fn apply(&mut self, updates: &[StateUpdate]) {
        for update in updates {
            match self.entries.get_mut(&update.key) {
                Some(entry) => entry.absorb(update),
                None => {
                    self.entries
                        .insert(update.key.clone(), StateEntry::from_update(update));
                }
            }
        }
    }

    /// Drops entries that expired before `now`, as a store's time-to-live would.
    pub fn expire(&mut self, now: DateTime<Utc>) {
        self.entries.retain(|_, entry| entry.expires_at >= now);
    }

    pub fn keys(&self) -> impl Iterator<Item = &StateKey> {
        self.entries.keys()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &BTreeMap<StateKey, StateEntry> {
        &self.entries
    }
}

impl StateView for MemoryState {
    fn get(&self, key: &StateKey) -> Option<&StateEntry> {
        self.entries.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn obs(id: &str, minute: u32, value: &str) -> Observation {
        let mut o = Observation::new(
            id,
            Utc.with_ymd_and_hms(2024, 5, 6, 9, minute, 0).unwrap(),
            Role::Candidate,
        );
        o.value = Some(value.to_string());
        o
    }

    #[test]
    fn retention_keeps_the_earliest_per_value_whatever_the_merge_order() {
        let retain = Retain::per_value(2, 2);
        let all = vec![
            obs("a", 5, "FR"),
            obs("b", 1, "FR"),
            obs("c", 3, "FR"),
            obs("d", 2, "US"),
            obs("e", 9, "BR"),
        ];

        let mut one = all.clone();
        retain.apply(&mut one);
        let mut left = all[..2].to_vec();
        retain.apply(&mut left);
        let mut right = all[2..].to_vec();
        retain.apply(&mut right);
        let mut merged: Vec<_> = right.into_iter().chain(left).collect();
        retain.apply(&mut merged);

        let ids = |v: &[Observation]| v.iter().map(|o| o.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&one), ["b", "d", "c"]);
        assert_eq!(ids(&merged), ids(&one));
    }

    #[test]
    fn an_update_applied_twice_changes_nothing_more() {
        let key = StateKey {
            rule: "r".into(),
            org: "o".into(),
            entity: "alice".into(),
            bucket: 0,
        };
        let update = StateUpdate {
            key: key.clone(),
            add: vec![obs("a", 1, "FR"), obs("b", 2, "FR")],
            decided_until: None,
            expires_at: Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap(),
            retain: Retain::earliest(10),
        };
        let mut state = MemoryState::new();

        state.apply(std::slice::from_ref(&update));
        let once = state.get(&key).cloned();
        state.apply(std::slice::from_ref(&update));

        assert_eq!(state.get(&key).cloned(), once);
        assert_eq!(state.get(&key).unwrap().observations.len(), 2);
    }

    #[test]
    fn storage_keys_survive_hostile_entities() {
        let key = StateKey {
            rule: "jc.auth.brute_force".into(),
            org: "org|1".into(),
            entity: "eve\",\"x|\n".into(),
            bucket: -86_400,
        };

        let text = key.storage_key();

        assert_eq!(StateKey::from_storage_key(&text), Some(key));
    }
}
