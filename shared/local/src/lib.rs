//! The CLI's embedded adapters: one SQLite database in the state directory holding the poll
//! cursors, the record of what was written to the events file, alerts, rule state and the
//! enrichment cache, plus the events file itself.
//! Every store shares the connection in [`db::Db`] and owns its tables.

pub mod alerts;
pub mod cache;
pub mod cursor;
pub mod db;
pub mod events_file;
pub mod state;

pub use alerts::SqliteAlertStore;
pub use cache::SqliteEnrichmentCache;
pub use cursor::SqliteCursorStore;
pub use db::{DB_FILE, Db, LocalError};
pub use events_file::{EventsFileSink, JsonlFile};
pub use state::SqliteStateStore;
