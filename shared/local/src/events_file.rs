//! The CLI's `--events-out` file: every handed-over event appended once, as one JSON line,
//! exactly once across runs and crashes; and the rejects file beside it for events the poll
//! could not hand over.
//!
//! Exactly once needs more than the poll's own deduplication: the poll hands a page over and
//! only then saves its cursor, so a crash (or a lost cursor race) between the two makes the
//! next run fetch and hand over the same events again, and `seen` is bounded. So the file
//! keeps its own record in the state database: the `handed` table holds every key (event id)
//! written to the file, and `output_files.committed_len` is the file length up to which that
//! record is complete. An append goes:
//!
//! 1. lock the file (one writer at a time, across processes);
//! 2. recover: lines past `committed_len` were written by a run that stopped before recording
//!    them, so record their keys now; a trailing partial line (a write cut short) is cut off,
//!    because its events were never recorded anywhere and will be fetched again;
//! 3. drop the events whose keys are recorded;
//! 4. append the rest, flush and sync the file;
//! 5. record their keys and the new length in one transaction.
//!
//! A crash before 4 completes loses nothing (the cursor was not saved, the page comes again);
//! a crash between 4 and 5 repeats nothing (step 2 of the next append records the lines). The
//! file is the truth: if it is shorter than recorded (replaced or truncated by hand), the
//! record is rebuilt from what the file holds.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use jcwatch_core::ports::{BatchSink, HandOffError, Rejected};
use jcwatch_model::Batch;
use jcwatch_model::time::{format_timestamp, parse_timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracing::{debug, warn};

use crate::db::{Db, LocalError, sql_error};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS output_files (
    path          TEXT PRIMARY KEY,
    committed_len INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS handed (
    path     TEXT NOT NULL,
    key      TEXT NOT NULL,
    event_ms INTEGER NOT NULL,
    PRIMARY KEY (path, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS handed_by_time ON handed (path, event_ms);
";

/// What the lines of a file are, which decides each line's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Raw events; the key is the event id.
    Events,
    /// Reject records `{"reason", ..., "event": raw}`; the key is a digest of the raw event,
    /// since a malformed event may have no id.
    Rejects,
}

/// One line to append, with its key and the time pruning goes by.
struct Line {
    key: String,
    event_ms: i64,
    text: String,
}

/// An append-only JSON-lines file whose lines are written exactly once.
#[derive(Debug, Clone)]
pub struct JsonlFile {
    db: Db,
    path: PathBuf,
    kind: Kind,
}

/// How many lines an append wrote, and how many it skipped as already in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    pub written: u64,
    pub skipped: u64,
}

impl JsonlFile {
    /// Opens the file's record; with `create`, creates the file now (else on the first append).
    fn open(db: Db, path: &Path, kind: Kind, create: bool) -> Result<Self, LocalError> {
        db.ensure_schema(SCHEMA)?;
        let io_error = |action| {
            let path = path.to_owned();
            move |source| LocalError::Io {
                path,
                action,
                source,
            }
        };
        let parent = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(parent) => parent,
            None => Path::new("."),
        };
        let Some(name) = path.file_name() else {
            return Err(LocalError::Io {
                path: path.to_owned(),
                action: "opening",
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
            });
        };
        std::fs::create_dir_all(parent).map_err(io_error("creating its directory"))?;
        // The record is keyed by the absolute path, so `./x` and `x` are one file.
        let path = parent
            .canonicalize()
            .map_err(io_error("resolving the path"))?
            .join(name);
        if create {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io_error("opening for append"))?;
        }
        Ok(JsonlFile { db, path, kind })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the lines whose keys the file does not hold yet.
    async fn append(&self, lines: Vec<Line>) -> Result<Appended, LocalError> {
        let file_path = self.path.clone();
        let kind = self.kind;
        self.db
            .call(move |conn, db_path| append_once(conn, db_path, &file_path, kind, lines))
            .await
    }

    /// Forgets the keys of lines whose event time is before `horizon`; such events can no
    /// longer be fetched again.
    pub async fn forget_before(&self, horizon: DateTime<Utc>) -> Result<usize, LocalError> {
        let file = self.path.to_string_lossy().into_owned();
        self.db
            .call(move |conn, path| {
                conn.execute(
                    "DELETE FROM handed WHERE path = ?1 AND event_ms < ?2",
                    params![file, horizon.timestamp_millis()],
                )
                .map_err(sql_error(path, "forgetting old handed-over events"))
            })
            .await
    }

    /// How many keys the record holds for this file.
    pub async fn recorded(&self) -> Result<u64, LocalError> {
        let file = self.path.to_string_lossy().into_owned();
        self.db
            .call(move |conn, path| {
                conn.query_row(
                    "SELECT COUNT(*) FROM handed WHERE path = ?1",
                    params![file],
                    |row| row.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .map_err(sql_error(path, "counting handed-over events"))
            })
            .await
    }
}

fn append_once(
    conn: &mut Connection,
    db_path: &Path,
    file_path: &Path,
    kind: Kind,
    lines: Vec<Line>,
) -> Result<Appended, LocalError> {
    let io_error = |action| {
        let path = file_path.to_owned();
        move |source| LocalError::Io {
            path,
            action,
            source,
        }
    };
    let key = file_path.to_string_lossy().into_owned();

    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(file_path)
        .map_err(io_error("opening for append"))?;
    // Released when `file` is dropped at the end of this function.
    file.lock().map_err(io_error("locking"))?;

    let length = recover(conn, db_path, &mut file, file_path, &key, kind)?;

    let mut appended = Appended::default();
    let mut fresh = Vec::new();
    {
        let mut known = conn
            .prepare_cached("SELECT 1 FROM handed WHERE path = ?1 AND key = ?2")
            .map_err(sql_error(db_path, "checking handed-over events"))?;
        let mut in_call = HashSet::new();
        for line in lines {
            let recorded = known
                .exists(params![key, line.key])
                .map_err(sql_error(db_path, "checking handed-over events"))?;
            if recorded || !in_call.insert(line.key.clone()) {
                appended.skipped += 1;
                continue;
            }
            fresh.push(line);
        }
    }
    if fresh.is_empty() {
        return Ok(appended);
    }

    let mut buffer = Vec::new();
    for line in &fresh {
        buffer.extend_from_slice(line.text.as_bytes());
        buffer.push(b'\n');
    }
    file.write_all(&buffer).map_err(io_error("appending"))?;
    file.flush().map_err(io_error("flushing"))?;
    file.sync_data().map_err(io_error("syncing"))?;

    let tx = conn
        .transaction()
        .map_err(sql_error(db_path, "recording handed-over events"))?;
    for line in &fresh {
        tx.execute(
            "INSERT OR IGNORE INTO handed (path, key, event_ms) VALUES (?1, ?2, ?3)",
            params![key, line.key, line.event_ms],
        )
        .map_err(sql_error(db_path, "recording handed-over events"))?;
    }
    set_committed(&tx, db_path, &key, length + buffer.len() as u64)?;
    tx.commit()
        .map_err(sql_error(db_path, "recording handed-over events"))?;

    appended.written = fresh.len() as u64;
    Ok(appended)
}

/// Brings the record up to date with the file and returns the file's length after recovery.
fn recover(
    conn: &mut Connection,
    db_path: &Path,
    file: &mut File,
    file_path: &Path,
    key: &str,
    kind: Kind,
) -> Result<u64, LocalError> {
    let io_error = |action| {
        let path = file_path.to_owned();
        move |source| LocalError::Io {
            path,
            action,
            source,
        }
    };
    let committed: Option<i64> = conn
        .query_row(
            "SELECT committed_len FROM output_files WHERE path = ?1",
            params![key],
            |row| row.get(0),
        )
        .optional()
        .map_err(sql_error(db_path, "reading the events file record"))?;
    let length = file.metadata().map_err(io_error("reading its size"))?.len();

    let tx = conn
        .transaction()
        .map_err(sql_error(db_path, "recovering the events file record"))?;
    let from = match committed {
        Some(c) if c as u64 == length => return Ok(length),
        Some(c) if (c as u64) < length => c as u64,
        Some(c) => {
            warn!(
                file = %file_path.display(), recorded = c, length,
                "the file is shorter than recorded (replaced or truncated): rebuilding the record \
                 of what it holds from the file itself"
            );
            tx.execute("DELETE FROM handed WHERE path = ?1", params![key])
                .map_err(sql_error(db_path, "clearing the events file record"))?;
            0
        }
        None => 0,
    };

    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(from))
        .map_err(io_error("seeking"))?;
    file.read_to_end(&mut tail).map_err(io_error("reading"))?;
    let complete = tail.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if complete < tail.len() {
        warn!(
            file = %file_path.display(), bytes = tail.len() - complete,
            "removing a partial last line left by an interrupted write; its events were not \
             recorded and will be written again when fetched again"
        );
        file.set_len(from + complete as u64)
            .map_err(io_error("cutting a partial line"))?;
    }

    let mut recovered = 0;
    for (number, line) in tail[..complete].split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Some((line_key, event_ms)) = key_of_line(kind, line) else {
            warn!(
                file = %file_path.display(), line = number + 1, offset = from,
                "a line that is not a jcwatch record is left as it is"
            );
            continue;
        };
        tx.execute(
            "INSERT OR IGNORE INTO handed (path, key, event_ms) VALUES (?1, ?2, ?3)",
            params![key, line_key, event_ms],
        )
        .map_err(sql_error(db_path, "recovering the events file record"))?;
        recovered += 1;
    }
    let length = from + complete as u64;
    set_committed(&tx, db_path, key, length)?;
    tx.commit()
        .map_err(sql_error(db_path, "recovering the events file record"))?;
    if recovered > 0 {
        debug!(file = %file_path.display(), recovered, "recorded lines written by an earlier run");
    }
    Ok(length)
}

fn set_committed(
    conn: &Connection,
    db_path: &Path,
    key: &str,
    length: u64,
) -> Result<(), LocalError> {
    conn.execute(
        "INSERT INTO output_files (path, committed_len) VALUES (?1, ?2)
         ON CONFLICT (path) DO UPDATE SET committed_len = ?2",
        params![key, length as i64],
    )
    .map(|_| ())
    .map_err(sql_error(db_path, "recording the events file length"))
}

/// The key and time of a line already in a file.
fn key_of_line(kind: Kind, line: &[u8]) -> Option<(String, i64)> {
    let value: Value = serde_json::from_slice(line).ok()?;
    match kind {
        Kind::Events => {
            let id = match value.get("id")? {
                Value::String(s) if !s.trim().is_empty() => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            let ms = value
                .get("timestamp")
                .and_then(Value::as_str)
                .and_then(|t| parse_timestamp(t).ok())
                .map_or(0, |t| t.timestamp_millis());
            Some((id, ms))
        }
        Kind::Rejects => {
            let ms = value
                .get("rejected_at")
                .and_then(Value::as_str)
                .and_then(|t| parse_timestamp(t).ok())
                .map_or(0, |t| t.timestamp_millis());
            Some((reject_key(value.get("event")?), ms))
        }
    }
}

/// A malformed event may have no id, so a rejected event is known by a digest of its JSON.
fn reject_key(raw: &Value) -> String {
    let text = serde_json::to_string(raw).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// The `--events-out` sink: writes each handed-over event once to the events file, and each
/// rejected event once to the rejects file.
#[derive(Debug, Clone)]
pub struct EventsFileSink {
    events: JsonlFile,
    rejects: Option<JsonlFile>,
    written: Arc<AtomicU64>,
    skipped: Arc<AtomicU64>,
    rejected: Arc<AtomicU64>,
}

impl EventsFileSink {
    /// Opens (creating) the events file and, when given, the rejects file (created with its
    /// first line, so a run without rejects leaves no empty file).
    pub fn open(db: Db, events: &Path, rejects: Option<&Path>) -> Result<Self, LocalError> {
        Ok(EventsFileSink {
            events: JsonlFile::open(db.clone(), events, Kind::Events, true)?,
            rejects: rejects
                .map(|p| JsonlFile::open(db, p, Kind::Rejects, false))
                .transpose()?,
            written: Arc::default(),
            skipped: Arc::default(),
            rejected: Arc::default(),
        })
    }

    pub fn events_file(&self) -> &JsonlFile {
        &self.events
    }

    pub fn rejects_file(&self) -> Option<&JsonlFile> {
        self.rejects.as_ref()
    }

    /// Events written by this sink so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Events skipped because the file already held them.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Rejected events written to the rejects file so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Forgets, in both files' records, events older than `horizon`.
    pub async fn forget_before(&self, horizon: DateTime<Utc>) -> Result<usize, LocalError> {
        let mut forgotten = self.events.forget_before(horizon).await?;
        if let Some(rejects) = &self.rejects {
            forgotten += rejects.forget_before(horizon).await?;
        }
        Ok(forgotten)
    }
}

#[async_trait]
impl BatchSink for EventsFileSink {
    async fn hand_off(&self, batch: &Batch) -> Result<(), HandOffError> {
        let lines = batch
            .events
            .iter()
            .map(|event| {
                let text = serde_json::to_string(event).map_err(|e| HandOffError {
                    batch_id: batch.batch_id.clone(),
                    detail: format!("cannot write event {}: {e}", event.id),
                })?;
                Ok(Line {
                    key: event.id.clone(),
                    event_ms: event.timestamp.timestamp_millis(),
                    text,
                })
            })
            .collect::<Result<Vec<_>, HandOffError>>()?;

        let appended = self.events.append(lines).await.map_err(|e| HandOffError {
            batch_id: batch.batch_id.clone(),
            detail: e.to_string(),
        })?;
        self.written.fetch_add(appended.written, Ordering::Relaxed);
        self.skipped.fetch_add(appended.skipped, Ordering::Relaxed);
        if appended.skipped > 0 {
            debug!(
                batch_id = %batch.batch_id, skipped = appended.skipped,
                "events already in the events file were not written again"
            );
        }
        Ok(())
    }

    async fn reject(&self, rejected: &Rejected) -> Result<(), HandOffError> {
        let Some(rejects) = &self.rejects else {
            return Ok(());
        };
        let now = Utc::now();
        let record = json!({
            "rejected_at": format_timestamp(now),
            "org_id": rejected.org_id,
            "event_id": rejected.event_id,
            "reason": rejected.reason,
            "event": rejected.raw,
        });
        let line = Line {
            key: reject_key(&rejected.raw),
            event_ms: now.timestamp_millis(),
            text: record.to_string(),
        };

        let appended = rejects.append(vec![line]).await.map_err(|e| HandOffError {
            batch_id: format!(
                "reject of page {} position {}",
                rejected.page, rejected.position
            ),
            detail: e.to_string(),
        })?;
        self.rejected.fetch_add(appended.written, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jcwatch_model::Event;

    fn event(id: &str, second: u32) -> Event {
        Event::from_value(json!({
            "id": id,
            "timestamp": format!("2024-05-01T12:00:{second:02}.5Z"),
            "event_type": "user_login_attempt",
            "nested": {"keep": [1, "two", null]},
        }))
        .unwrap()
    }

    fn batch(ids: &[(&str, u32)]) -> Batch {
        Batch::new(
            Some("org".into()),
            ids.iter().map(|(id, s)| event(id, *s)).collect(),
        )
    }

    fn file_ids(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    struct Setup {
        dir: tempfile::TempDir,
    }

    impl Setup {
        fn new() -> Self {
            Setup {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn events_path(&self) -> PathBuf {
            self.dir.path().join("out/events.jsonl")
        }

        fn sink(&self) -> EventsFileSink {
            let db = Db::open_in(&self.dir.path().join("state")).unwrap();
            let rejects = self.dir.path().join("out/rejects.jsonl");
            EventsFileSink::open(db, &self.events_path(), Some(&rejects)).unwrap()
        }
    }

    #[tokio::test]
    async fn each_event_is_written_once_as_its_raw_json_line() {
        let setup = Setup::new();
        let sink = setup.sink();

        sink.hand_off(&batch(&[("a", 1), ("b", 2)])).await.unwrap();
        sink.hand_off(&batch(&[("b", 2), ("c", 3), ("c", 3)]))
            .await
            .unwrap();

        assert_eq!(file_ids(&setup.events_path()), ["a", "b", "c"]);
        let first_line = std::fs::read_to_string(setup.events_path())
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned();
        assert_eq!(
            first_line,
            r#"{"id":"a","timestamp":"2024-05-01T12:00:01.5Z","event_type":"user_login_attempt","nested":{"keep":[1,"two",null]}}"#
        );
        assert_eq!((sink.written(), sink.skipped()), (3, 2));
    }

    #[tokio::test]
    async fn a_new_run_with_a_new_sink_does_not_write_an_event_again() {
        let setup = Setup::new();
        setup.sink().hand_off(&batch(&[("a", 1)])).await.unwrap();

        setup
            .sink()
            .hand_off(&batch(&[("a", 1), ("b", 2)]))
            .await
            .unwrap();

        assert_eq!(file_ids(&setup.events_path()), ["a", "b"]);
    }

    #[tokio::test]
    async fn lines_written_before_a_crash_that_skipped_the_record_are_not_written_again() {
        let setup = Setup::new();
        setup.sink().hand_off(&batch(&[("a", 1)])).await.unwrap();
        // A run wrote "b" to the file and died before recording it.
        let mut file = OpenOptions::new()
            .append(true)
            .open(setup.events_path())
            .unwrap();
        writeln!(file, "{}", serde_json::to_string(&event("b", 2)).unwrap()).unwrap();

        let sink = setup.sink();
        sink.hand_off(&batch(&[("b", 2), ("c", 3)])).await.unwrap();

        assert_eq!(file_ids(&setup.events_path()), ["a", "b", "c"]);
        assert_eq!(sink.skipped(), 1);
    }

    #[tokio::test]
    async fn a_partial_line_from_an_interrupted_write_is_cut_and_its_event_written_whole() {
        let setup = Setup::new();
        setup.sink().hand_off(&batch(&[("a", 1)])).await.unwrap();
        let mut file = OpenOptions::new()
            .append(true)
            .open(setup.events_path())
            .unwrap();
        write!(file, "{{\"id\":\"b\",\"timest").unwrap();

        setup.sink().hand_off(&batch(&[("b", 2)])).await.unwrap();

        assert_eq!(file_ids(&setup.events_path()), ["a", "b"]);
    }

    #[tokio::test]
    async fn a_state_directory_lost_while_the_file_stays_still_repeats_nothing() {
        let setup = Setup::new();
        setup
            .sink()
            .hand_off(&batch(&[("a", 1), ("b", 2)]))
            .await
            .unwrap();
        std::fs::remove_dir_all(setup.dir.path().join("state")).unwrap();

        setup
            .sink()
            .hand_off(&batch(&[("a", 1), ("b", 2), ("c", 3)]))
            .await
            .unwrap();

        assert_eq!(file_ids(&setup.events_path()), ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_file_emptied_by_hand_is_believed_and_refilled() {
        let setup = Setup::new();
        setup.sink().hand_off(&batch(&[("a", 1)])).await.unwrap();
        std::fs::write(setup.events_path(), "").unwrap();

        setup.sink().hand_off(&batch(&[("a", 1)])).await.unwrap();

        assert_eq!(file_ids(&setup.events_path()), ["a"]);
    }

    #[tokio::test]
    async fn rejected_events_go_to_the_rejects_file_once_each() {
        let setup = Setup::new();
        let sink = setup.sink();
        let rejected = Rejected {
            org_id: Some("org".into()),
            event_id: None,
            page: 1,
            position: 3,
            reason: "event has no `id`".into(),
            raw: json!({"timestamp": "2024-05-01T12:00:00Z", "x": 1}),
        };

        sink.reject(&rejected).await.unwrap();
        setup
            .sink()
            .reject(&Rejected {
                page: 2,
                position: 0,
                ..rejected.clone()
            })
            .await
            .unwrap();

        let text = std::fs::read_to_string(setup.dir.path().join("out/rejects.jsonl")).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["reason"], "event has no `id`");
        assert_eq!(lines[0]["event"], rejected.raw);
        assert_eq!(setup.events_path().metadata().unwrap().len(), 0);
    }

    #[tokio::test]
    async fn the_events_file_exists_at_once_and_the_rejects_file_only_with_a_reject() {
        let setup = Setup::new();

        let _sink = setup.sink();

        assert!(setup.events_path().exists());
        assert!(!setup.dir.path().join("out/rejects.jsonl").exists());
    }

    #[tokio::test]
    async fn forgetting_old_keys_keeps_the_recent_ones() {
        let setup = Setup::new();
        let sink = setup.sink();
        sink.hand_off(&batch(&[("a", 1), ("b", 30)])).await.unwrap();

        let forgotten = sink
            .forget_before(parse_timestamp("2024-05-01T12:00:10Z").unwrap())
            .await
            .unwrap();

        assert_eq!(forgotten, 1);
        assert_eq!(sink.events_file().recorded().await.unwrap(), 1);
        sink.hand_off(&batch(&[("b", 30)])).await.unwrap();
        assert_eq!(file_ids(&setup.events_path()), ["a", "b"]);
    }

    #[tokio::test]
    async fn two_sinks_appending_at_once_write_each_event_once() {
        let setup = Setup::new();
        let first = setup.sink();
        let second = setup.sink();
        let ids: Vec<(String, u32)> = (0..40).map(|i| (format!("e{i:02}"), i % 60)).collect();
        let refs: Vec<(&str, u32)> = ids.iter().map(|(id, s)| (id.as_str(), *s)).collect();
        let (mine, theirs) = (batch(&refs), batch(&refs));

        let (a, b) = tokio::join!(first.hand_off(&mine), second.hand_off(&theirs));

        a.unwrap();
        b.unwrap();
        let mut written = file_ids(&setup.events_path());
        written.sort();
        let expected: Vec<String> = ids.into_iter().map(|(id, _)| id).collect();
        assert_eq!(written, expected);
    }
}
