//! Detection: the configuration file, the detect use case (rules over a batch, alerts
//! stored, notifications published), the ports it needs with in-memory versions, and the
//! rendering of notifications for email and Slack, and the enrichment of alerts with who,
//! where from and what else ([`enrich`]).

pub mod config;
pub mod detect;
pub mod engine;
pub mod enrich;
pub mod escape;
pub mod export;
pub mod memory;
pub mod present;
pub mod render;
pub mod sink;
pub mod store;

pub use config::{Config, ConfigError, ConfigErrors};
pub use detect::{
    BatchReport, DetectError, Detector, ErrorCategory, Evaluation, RawBatch, RuleEngine,
};
pub use enrich::{EnrichReport, Enricher};
pub use render::{RenderOptions, render, sns_message};
pub use store::{
    AlertQuery, AlertStore, Delivery, LoadedState, Recorded, StateItem, StateMark, StateStore,
    StoreError,
};
