//! The shared SQLite connection of the CLI's state directory. Every store in this crate
//! (cursors, handed-over events, and later alerts and rule state) keeps its tables in the one
//! database file, creates them itself with `CREATE TABLE IF NOT EXISTS`, and reaches the
//! connection through [`Db::call`], which runs the blocking SQLite work off the async runtime.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

/// The database file's name inside the state directory.
pub const DB_FILE: &str = "jcwatch.db";

/// How long a statement waits for another process holding the database (two `jcwatch poll`
/// runs on one state directory) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the local store failed. Carries the path so an operator knows which file to look at.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the state database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state database {path}: {action} failed: {source}")]
    Sqlite {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: {action} failed: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("state database {path}: stored {what} is unreadable: {detail}")]
    Corrupt {
        path: PathBuf,
        what: String,
        detail: String,
    },
    #[error("state database {path}: the background task failed: {detail}")]
    Task { path: PathBuf, detail: String },
}

/// An open state database, cheap to clone, shared by every store.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Opens (creating if needed) `jcwatch.db` inside `state_dir`, creating the directory.
    pub fn open_in(state_dir: &Path) -> Result<Self, LocalError> {
        std::fs::create_dir_all(state_dir).map_err(|source| LocalError::StateDir {
            path: state_dir.to_owned(),
            source,
        })?;
        Self::open(&state_dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, LocalError> {
        let open_error = |source| LocalError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(open_error)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        // WAL lets a reader (another jcwatch command) read while a poll writes.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_error)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_error)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` with the connection on a blocking thread.
    pub async fn call<T, F>(&self, work: F) -> Result<T, LocalError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &Path) -> Result<T, LocalError> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.call_blocking(work))
            .await
            .map_err(|e| LocalError::Task {
                path: self.path.clone(),
                detail: e.to_string(),
            })?
    }

    /// Runs `work` with the connection on the current thread (set-up, tests).
    pub fn call_blocking<T, F>(&self, work: F) -> Result<T, LocalError>
    where
        F: FnOnce(&mut Connection, &Path) -> Result<T, LocalError>,
    {
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut conn, &self.path)
    }

    /// Creates tables with the given SQL (`CREATE TABLE IF NOT EXISTS ...`).
    pub fn ensure_schema(&self, sql: &'static str) -> Result<(), LocalError> {
        self.call_blocking(|conn, path| {
            conn.execute_batch(sql)
                .map_err(|source| LocalError::Sqlite {
                    path: path.to_owned(),
                    action: "creating tables",
                    source,
                })
        })
    }
}

/// Wraps a SQLite error with the database path and what was being done.
pub fn sql_error(path: &Path, action: &'static str) -> impl FnOnce(rusqlite::Error) -> LocalError {
    let path = path.to_owned();
    move |source| LocalError::Sqlite {
        path,
        action,
        source,
    }
}
