//! jcwatch's detection rules: a pure engine (no I/O, no async) that evaluates a catalogue of
//! rules over Directory Insights events, with rule state kept as idempotent, mergeable
//! observations behind the [`StateView`] port, and the catalogue itself.
//!
//! ```
//! use jcwatch_rules::{Engine, fixtures::{Timeline, user_login_failed}};
//!
//! let mut t = Timeline::new("doc", "2024-05-06T09:00:00Z");
//! t.repeat(12, "20s", |_| user_login_failed("jane.doe"));
//! let alerts = Engine::with_defaults().scan(t.parsed());
//! assert_eq!(alerts[0].rule_id, "jc.auth.brute_force");
//! ```

pub mod allow;
pub mod catalogue;
pub mod config;
pub mod engine;
pub mod fields;
pub mod fixtures;
pub mod knob;
pub mod render;
pub mod rule;
pub mod state;

pub use allow::{AllowConfig, AllowList};
pub use catalogue::catalogue;
pub use config::{ConfigError, ConfigProblem, DetectionConfig, RuleConfig};
pub use engine::{
    ABSENCE_SETTLE, AlertSet, Engine, EvalContext, Evaluation, MAX_OBSERVATIONS, RuleStatus,
};
pub use knob::{Knob, KnobInput, KnobKind, KnobValue, Knobs};
pub use rule::{Example, Examples, Hit, Logic, NeedsConfig, Rule};
pub use state::{
    MemoryState, Observation, Retain, Role, StateEntry, StateKey, StateUpdate, StateView,
};
