//! The rule catalogue behind the detect use case's [`RuleEngine`] port.
//!
//! The rule engine keeps state as entries of observations per [`StateKey`], each entry with
//! a retention policy and a `decided_until` mark; the stores keep flat items. Here one
//! observation becomes one [`StateItem`] (its id is the event id, its value the observation
//! and the entry's retention as JSON) and `decided_until` becomes the key's [`StateMark`].
//! Reading reverses that and lets the engine put each entry in canonical form, so the
//! stores only ever need set unions and a rising mark.

use std::collections::BTreeMap;

use jcwatch_model::Event;
use jcwatch_rules::{
    Engine, EvalContext, MAX_OBSERVATIONS, Observation, Retain, StateEntry, StateKey,
};
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::config::{Config, ConfigError, ConfigErrors};
use crate::detect::{Evaluation, RuleEngine};
use crate::store::{LoadedState, StateItem, StateMark};

/// The catalogue with the configuration applied.
#[derive(Debug, Clone)]
pub struct CatalogueEngine {
    engine: Engine,
}

/// How one observation is stored: the observation and its entry's retention.
#[derive(Debug, Serialize, Deserialize)]
struct StoredObservation {
    #[serde(rename = "o")]
    observation: Observation,
    #[serde(rename = "r")]
    retain: Retain,
}

/// Builds the engine from the configuration's `[detection]` section.
pub fn build(config: &Config) -> Result<CatalogueEngine, ConfigErrors> {
    Engine::new(jcwatch_rules::catalogue(), &config.detection)
        .map(|engine| CatalogueEngine { engine })
        .map_err(|e| ConfigErrors {
            origin: "detection settings".into(),
            errors: e
                .0
                .into_iter()
                .map(|p| ConfigError {
                    path: format!("detection.{}", p.path),
                    message: p.message,
                })
                .collect(),
        })
}

impl CatalogueEngine {
    /// The engine itself, for callers that run it directly (a whole-file scan).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl RuleEngine for CatalogueEngine {
    fn state_keys(&self, events: &[Event]) -> Vec<String> {
        self.engine
            .keys_for(events, &EvalContext::default())
            .iter()
            .map(StateKey::storage_key)
            .collect()
    }

    fn evaluate(&self, events: &[Event], state: LoadedState) -> Evaluation {
        let entries = entries_from(state);
        let result = self
            .engine
            .evaluate(events, &entries, &EvalContext::default());

        let mut observations = Vec::new();
        let mut marks = Vec::new();
        for update in &result.updates {
            let key = update.key.storage_key();
            for observation in &update.add {
                let stored = StoredObservation {
                    observation: observation.clone(),
                    retain: update.retain,
                };
                let Ok(value) = serde_json::to_string(&stored) else {
                    continue;
                };
                observations.push(StateItem {
                    key: key.clone(),
                    id: observation.id.clone(),
                    value,
                    expires_at: update.expires_at,
                });
            }
            if let Some(at) = update.decided_until {
                marks.push(StateMark {
                    key: key.clone(),
                    at,
                    expires_at: update.expires_at,
                });
            }
        }
        Evaluation {
            alerts: result.alerts,
            observations,
            marks,
        }
    }
}

/// Rebuilds the engine's entries from stored items and marks.
fn entries_from(state: LoadedState) -> BTreeMap<StateKey, StateEntry> {
    let mut entries: BTreeMap<StateKey, StateEntry> = BTreeMap::new();
    let blank = |expires_at| StateEntry {
        observations: Vec::new(),
        decided_until: None,
        expires_at,
        retain: Retain::earliest(MAX_OBSERVATIONS),
    };

    for item in state.items {
        let Some(key) = StateKey::from_storage_key(&item.key) else {
            warn!(key = %item.key, "skipping rule state under an unreadable key");
            continue;
        };
        let stored: StoredObservation = match serde_json::from_str(&item.value) {
            Ok(stored) => stored,
            Err(error) => {
                warn!(key = %item.key, id = %item.id, %error, "skipping an unreadable observation");
                continue;
            }
        };
        let entry = entries.entry(key).or_insert_with(|| blank(item.expires_at));
        entry.expires_at = entry.expires_at.max(item.expires_at);
        entry.retain = stored.retain;
        entry.observations.push(stored.observation);
    }

    for mark in state.marks {
        let Some(key) = StateKey::from_storage_key(&mark.key) else {
            continue;
        };
        let entry = entries.entry(key).or_insert_with(|| blank(mark.expires_at));
        entry.decided_until = entry.decided_until.max(Some(mark.at));
        entry.expires_at = entry.expires_at.max(mark.expires_at);
    }

    for entry in entries.values_mut() {
        entry.normalise();
    }
    entries
}
