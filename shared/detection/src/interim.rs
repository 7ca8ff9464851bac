//! Stand-in for the rule engine's configuration until the rules crate exposes it.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DetectionConfig(pub toml::Table);

pub struct Problem {
    pub path: String,
    pub message: String,
}

impl DetectionConfig {
    pub fn validate(&self) -> Vec<Problem> {
        Vec::new()
    }
}
