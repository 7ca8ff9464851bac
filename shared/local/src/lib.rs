//! The CLI's embedded adapters: one SQLite database in the state directory holding the poll
//! cursors and the record of what was written to the events file, plus that file itself.
//! Every store shares the connection in [`db::Db`] and owns its tables.

pub mod alerts;
pub mod cursor;
pub mod db;
pub mod events_file;
pub mod state;

pub use alerts::SqliteAlertStore;
pub use cursor::SqliteCursorStore;
pub use db::{DB_FILE, Db, LocalError};
pub use events_file::{EventsFileSink, JsonlFile};
pub use state::SqliteStateStore;
