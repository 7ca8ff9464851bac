//! The jcwatch data model: Directory Insights events, alerts and the batches passed between
//! the poll and detect functions. No I/O lives here.

pub mod address;
pub mod alert;
pub mod batch;
pub mod enrichment;
pub mod event;
pub mod time;

pub use alert::{Alert, Area, Route, Severity, Source};
pub use batch::{Batch, MAX_BATCH_BYTES};
pub use enrichment::Enrichment;
pub use event::{Application, Change, Event, EventError, GeoIp, Principal, Resource, UserAgent};
