//! jcwatch's detection rules: a pure engine (no I/O, no async) that evaluates a catalogue of
//! rules over Directory Insights events, with rule state kept as idempotent, mergeable
//! observations behind the [`StateView`] port, and the catalogue itself.
//!
//! * [`engine`]: how a batch is evaluated (keys to load, merge, evaluate, write back) and why
//!   the alerts do not depend on batch boundaries; one module per rule kind.
//! * [`mod@catalogue`]: every rule, by detection area, each with matching and near-miss examples.
//! * [`config`]: the `[detection]` settings (allow-lists, per-rule switches and knobs), checked
//!   against the catalogue with every problem named.
//! * [`fields`]: reading events leniently (every known spelling; missing means unknown).
//! * [`fixtures`]: building events in the real schema, for the examples and for tests.
//! * [`render`]: the rule table in Markdown and JSON.
//!
//! The catalogue is tuned for precision as much as recall: routine activity (typos, travel,
//! Wi-Fi, integrations syncing through API keys, an admin's everyday changes from the office)
//! stays quiet, rules that would report the same event twice defer to the more specific one,
//! and one alert per entity per suppression window counts the repeats.
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
