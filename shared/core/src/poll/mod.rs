//! The poll use case: read each organisation's new Directory Insights events, hand them to
//! detection in batches, and move the organisation's cursor, without losing an event and
//! without handing one over twice in effect.
//!
//! # Window arithmetic
//!
//! Directory Insights can only be queried by event time, and events reach its index late. The
//! cursor therefore keeps two instants: `high_water`, the newest event time handed over, and
//! `polled_until`, how far the poll has *asked*: every event before it that had arrived when
//! it was asked for has been handed over. A tick at wall time `now` asks for
//!
//! ```text
//! [ resume − overlap , now − lag )      resume = max(high_water, polled_until)
//! [ now − backfill   , now − lag )      on the first run (nothing stored yet)
//! ```
//!
//! (both edges cut down to whole milliseconds, the precision the service sorts and filters
//! on), and skips the tick, without a request, when `start >= end` (the API answers that with a
//! 400). Because `high_water <= polled_until` whenever both are set, `resume` is in practice
//! `polled_until`; the maximum only matters for a cursor written with a high-water mark alone.
//!
//! Why a late event is still fetched. Let an event with time `t` reach the index at `t + d`.
//! Each tick `i` runs at `T_i` and asks up to `E_i = T_i − lag`, so `polled_until` after it is
//! `E_i`, and tick `i+1` starts at `E_i − overlap`. Take the first tick `j` that runs after
//! the event arrived (`T_j >= t + d`) and whose end is past it (`E_j > t`). Either the tick
//! before it ended at or before `t` (`E_{j−1} <= t`), and then `j` starts at
//! `E_{j−1} − overlap <= t`; or it ran before the event arrived, so
//! `E_{j−1} < t + d − lag`, and `j` starts before `t` as long as `d <= lag + overlap`. Either
//! way the event is inside tick `j`'s window. An event later than `lag + overlap` can fall
//! behind the cursor: the lag and overlap are chosen to exceed the delays seen in practice.
//!
//! Why the cursor never moves past unseen events. `polled_until` moves only to instants up to
//! which the window was actually asked: the window's `end` after its last page, or, after an
//! earlier page, the time of that page's last event (results are sorted ascending, so every
//! event before that time has been returned, and ties at that very time are covered because
//! the next start is inclusive and `seen` remembers the ones handed over). A skipped tick does
//! not save at all; an empty window moves `polled_until` to its end, which keeps the late-event
//! bound above. Both instants only move forward, and the cursor is saved only after the page's
//! batches were handed over, with a conditional write on its version: two polls racing on one
//! cursor cannot both advance it, and the loser stops (outcome `conflict`).
//!
//! Why nothing is handed over twice. Overlapping windows, ties split across pages and restarts
//! fetch events again; [`dedupe`] drops the ids in the cursor's `seen`, which holds every
//! event handed over at or after the next window's start (bounded; see [`dedupe`]).
//!
//! Stopping before a deadline. Before each page the poll checks the deadline it was given
//! (the Lambda's deadline minus a safety margin that covers one page fetch with its retries
//! and the hand-off); past it, the poll stops with the cursor at the last handed-over page, and
//! the next run resumes from there: `polled_until` is the last event time handed over, and
//! `seen` holds the events at and shortly before it.

pub mod batching;
pub mod dedupe;
pub mod fanout;
pub mod notice;
pub mod report;
pub mod window;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use jcwatch_model::Event;
use serde_json::Value;
use tracing::{debug, error, info, instrument, warn};

use crate::ports::{
    BatchSink, Clock, Cursor, CursorStore, EventSource, Notifier, PageRequest, Rejected,
    SourceError, StoreError,
};
use batching::Limits;
use dedupe::{MAX_SEEN_EVENTS, SeenSet};
use window::{Plan, Window, delta, later, resume_point};

pub use fanout::FanOutSink;
pub use notice::AUTH_FAILURE_RULE_ID;
pub use report::{ErrorCategory, OrgOutcome, OrgReport, PollError, PollRun, org_label};

/// The tracing target of the one line per organisation and run, so a front end that prints
/// the outcome itself (the CLI) can leave this line out without losing the page lines.
pub const OUTCOME_LOG_TARGET: &str = "jcwatch_core::poll::outcome";

/// Default lag: how long an event may take to reach the index before a window ends past it.
pub const DEFAULT_LAG: Duration = Duration::from_secs(2 * 60);
/// Default overlap: how far each window reaches back before the resume point.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(5 * 60);
/// Default first-run backfill.
pub const DEFAULT_BACKFILL: Duration = Duration::from_secs(24 * 3600);
/// Default least time between two operational notices for one organisation.
pub const DEFAULT_OPS_NOTICE_INTERVAL: Duration = Duration::from_secs(6 * 3600);
/// Default number of organisations polled at once.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// How the poll behaves; the defaults suit a five-minute schedule.
#[derive(Debug, Clone)]
pub struct PollSettings {
    pub lag: Duration,
    pub overlap: Duration,
    pub backfill: Duration,
    pub ops_notice_interval: Duration,
    /// Organisations polled at once within one invocation.
    pub concurrency: usize,
    /// Most `seen` entries one cursor stores.
    pub max_seen: usize,
    pub limits: Limits,
}

impl Default for PollSettings {
    fn default() -> Self {
        PollSettings {
            lag: DEFAULT_LAG,
            overlap: DEFAULT_OVERLAP,
            backfill: DEFAULT_BACKFILL,
            ops_notice_interval: DEFAULT_OPS_NOTICE_INTERVAL,
            concurrency: DEFAULT_CONCURRENCY,
            max_seen: MAX_SEEN_EVENTS,
            limits: Limits::default(),
        }
    }
}

/// A request to stop early (Ctrl-C in the CLI), checked before each page like the deadline:
/// the poll stops cleanly with the cursor at the last handed-over page. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    pub fn new() -> Self {
        StopSignal::default()
    }

    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The outside world the poll needs.
#[derive(Clone)]
pub struct PollPorts {
    pub source: Arc<dyn EventSource>,
    pub cursors: Arc<dyn CursorStore>,
    pub sink: Arc<dyn BatchSink>,
    pub notifier: Arc<dyn Notifier>,
    pub clock: Arc<dyn Clock>,
}

/// The poll use case, built once (per cold start) and run per tick.
pub struct Poller {
    ports: PollPorts,
    settings: PollSettings,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What one page contributed, for the page's log line and the cursor.
#[derive(Debug, Default)]
struct PageSummary {
    fetched: u64,
    handed_over: u64,
    duplicates: u64,
    malformed: u64,
    oversize: u64,
    batches: u64,
    /// The last valid event's time in page order (ascending): how far the page reached.
    last_event_time: Option<DateTime<Utc>>,
    /// The newest event time handed over or rejected on this page.
    newest: Option<DateTime<Utc>>,
}

impl Poller {
    pub fn new(ports: PollPorts, settings: PollSettings) -> Self {
        Poller { ports, settings }
    }

    pub fn settings(&self) -> &PollSettings {
        &self.settings
    }

    /// Polls every organisation (`None` is the key's own), at most
    /// [`PollSettings::concurrency`] at once. One organisation's failure does not stop the
    /// others; each gets a report, in the order given. A repeated organisation is polled once.
    pub async fn run(&self, orgs: &[Option<String>], deadline: Option<DateTime<Utc>>) -> PollRun {
        self.run_until(orgs, deadline, &StopSignal::default()).await
    }

    /// [`Poller::run`], also stopping cleanly once `stop` is signalled.
    #[instrument(skip_all, fields(orgs = orgs.len()))]
    pub async fn run_until(
        &self,
        orgs: &[Option<String>],
        deadline: Option<DateTime<Utc>>,
        stop: &StopSignal,
    ) -> PollRun {
        let started = Instant::now();
        let mut unique = HashSet::new();
        let orgs: Vec<Option<String>> = orgs
            .iter()
            .filter(|org| unique.insert((*org).clone()))
            .cloned()
            .collect();

        let mut reports: Vec<(usize, OrgReport)> = stream::iter(orgs.into_iter().enumerate())
            .map(|(i, org)| async move { (i, self.poll_org_until(org, deadline, stop).await) })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        reports.sort_by_key(|(i, _)| *i);

        let run = PollRun {
            orgs: reports.into_iter().map(|(_, r)| r).collect(),
            duration: started.elapsed(),
        };
        let failed = run
            .orgs
            .iter()
            .filter(|r| matches!(r.outcome, OrgOutcome::Failed { .. }))
            .count();
        info!(
            orgs = run.orgs.len(),
            handed_over = run.total_handed_over(),
            failed,
            duration_ms = run.duration.as_millis() as u64,
            "poll invocation finished"
        );
        run
    }

    /// Polls one organisation's window, page by page, until the last page, the deadline, a
    /// conflict or an error.
    pub async fn poll_org(
        &self,
        org_id: Option<String>,
        deadline: Option<DateTime<Utc>>,
    ) -> OrgReport {
        self.poll_org_until(org_id, deadline, &StopSignal::default())
            .await
    }

    /// [`Poller::poll_org`], also stopping cleanly once `stop` is signalled.
    #[instrument(skip_all, fields(org = %org_label(org_id.as_deref())))]
    pub async fn poll_org_until(
        &self,
        org_id: Option<String>,
        deadline: Option<DateTime<Utc>>,
        stop: &StopSignal,
    ) -> OrgReport {
        let started = Instant::now();
        let mut report = OrgReport::new(org_id);

        match self.poll_org_pages(&mut report, deadline, stop).await {
            Ok(outcome) => report.outcome = outcome,
            Err(err) => {
                report.outcome = OrgOutcome::Failed {
                    category: err.category(),
                    error: err.to_string(),
                };
            }
        }
        report.duration = started.elapsed();
        report.lag = report
            .cursor_after
            .and_then(|c| (self.ports.clock.now() - c).to_std().ok());

        log_org_report(&report);
        report
    }

    async fn poll_org_pages(
        &self,
        report: &mut OrgReport,
        deadline: Option<DateTime<Utc>>,
        stop: &StopSignal,
    ) -> Result<OrgOutcome, PollError> {
        let org = report.org_id.clone();
        let label = report.org_label().to_owned();
        let key = org.clone().unwrap_or_default();

        let loaded = self
            .ports
            .cursors
            .load(&key)
            .await
            .map_err(|source| PollError::Store {
                org: label.clone(),
                source,
            })?;
        let mut expected = loaded.as_ref().map(|c| c.version);
        let mut cursor = loaded.unwrap_or_else(|| Cursor {
            org_id: key.clone(),
            ..Cursor::default()
        });
        report.cursor_before = cursor.polled_until;
        report.cursor_after = cursor.polled_until;
        report.high_water = cursor.high_water;

        let plan = window::plan(
            &cursor,
            self.ports.clock.now(),
            self.settings.lag,
            self.settings.overlap,
            self.settings.backfill,
        );
        let window = match plan {
            Plan::Skip(w) => {
                report.window_start = Some(w.start);
                report.window_end = Some(w.end);
                info!(
                    start = %w.start, end = %w.end,
                    "window is empty (start >= end): skipping this tick without a request"
                );
                return Ok(OrgOutcome::Skipped);
            }
            Plan::Poll(w) => w,
        };
        report.window_start = Some(window.start);
        report.window_end = Some(window.end);

        let mut seen = SeenSet::from_saved(&cursor.seen);
        let mut search_after: Option<Value> = None;
        loop {
            if let Some(deadline) = deadline
                && self.ports.clock.now() >= deadline
            {
                info!(
                    pages = report.pages, cursor = ?cursor.polled_until,
                    "deadline reached: stopping; the next run resumes from the cursor"
                );
                return Ok(OrgOutcome::DeadlineReached);
            }
            if stop.is_stopped() {
                info!(
                    pages = report.pages, cursor = ?cursor.polled_until,
                    "stop requested: stopping; the next run resumes from the cursor"
                );
                return Ok(OrgOutcome::Interrupted);
            }

            let request = PageRequest {
                org_id: org.clone(),
                start: window.start,
                end: window.end,
                search_after: search_after.clone(),
            };
            let page = match self.ports.source.fetch_page(&request).await {
                Ok(page) => page,
                Err(SourceError::Auth { status, hint }) => {
                    self.notify_auth_failure(&mut cursor, &mut expected, report, status, &hint)
                        .await;
                    return Err(PollError::Source {
                        org: label,
                        source: SourceError::Auth { status, hint },
                    });
                }
                Err(source) => return Err(PollError::Source { org: label, source }),
            };
            report.pages += 1;

            let summary = self
                .hand_over_page(org.as_deref(), &label, report.pages, page.events, &mut seen)
                .await?;
            add_page(report, &summary);

            let progress = window::page_progress(&window, page.last, summary.last_event_time);
            let next = self.advance(&cursor, progress, summary.newest, &mut seen);
            match self.ports.cursors.save(&next, expected).await {
                Ok(()) => {}
                Err(StoreError::Conflict { .. }) => {
                    warn!(
                        page = report.pages,
                        "another poll saved this organisation's cursor first; it carries on \
                         from there and this poll stops (the page just handed over may reach \
                         detection twice, which is harmless)"
                    );
                    return Ok(OrgOutcome::Conflict);
                }
                Err(source) => return Err(PollError::Store { org: label, source }),
            }
            expected = Some(next.version);
            cursor = next;
            report.cursor_after = cursor.polled_until;
            report.high_water = cursor.high_water;

            log_page(
                report.pages,
                &summary,
                &cursor,
                &window,
                self.ports.clock.now(),
            );
            if page.last {
                return Ok(OrgOutcome::Completed);
            }
            search_after = Some(next_search_after(
                &label,
                search_after.as_ref(),
                page.search_after,
            )?);
        }
    }

    /// Parses, deduplicates, batches and hands over one page. On error nothing of this page is
    /// recorded in `seen`, so the cursor does not move past it.
    async fn hand_over_page(
        &self,
        org: Option<&str>,
        label: &str,
        page: u64,
        raw_events: Vec<Value>,
        seen: &mut SeenSet,
    ) -> Result<PageSummary, PollError> {
        let hand_off_error = |source| PollError::HandOff {
            org: label.to_owned(),
            source,
        };
        let mut summary = PageSummary {
            fetched: raw_events.len() as u64,
            ..PageSummary::default()
        };

        let mut valid = Vec::with_capacity(raw_events.len());
        for (position, raw) in raw_events.into_iter().enumerate() {
            match Event::from_value(raw.clone()) {
                Ok(event) => valid.push(event),
                Err(error) => {
                    summary.malformed += 1;
                    warn!(page, position, %error, "malformed event: counted, not handed over");
                    let rejected = Rejected {
                        org_id: org.map(str::to_owned),
                        event_id: None,
                        page,
                        position,
                        reason: error.to_string(),
                        raw,
                    };
                    self.ports
                        .sink
                        .reject(&rejected)
                        .await
                        .map_err(hand_off_error)?;
                }
            }
        }
        summary.last_event_time = valid.last().map(|e| e.timestamp);

        let fresh = seen.fresh(valid);
        summary.duplicates = fresh.duplicates;
        summary.newest = fresh.events.iter().map(|e| e.timestamp).max();
        let plan = batching::plan(org, fresh.events, self.settings.limits);

        for oversize in &plan.oversize {
            summary.oversize += 1;
            warn!(
                page,
                event_id = %oversize.event.id,
                bytes = oversize.batch_bytes,
                "event too large to hand over even alone: counted and rejected"
            );
            let rejected = Rejected {
                org_id: org.map(str::to_owned),
                event_id: Some(oversize.event.id.clone()),
                page,
                position: 0,
                reason: format!(
                    "event {} needs a {} byte batch, more than the {} bytes one hand-off can carry",
                    oversize.event.id,
                    oversize.batch_bytes,
                    self.settings.limits.max_single_event_batch_bytes
                ),
                raw: serde_json::to_value(&oversize.event).unwrap_or(Value::Null),
            };
            self.ports
                .sink
                .reject(&rejected)
                .await
                .map_err(hand_off_error)?;
        }

        for batch in &plan.batches {
            self.ports
                .sink
                .hand_off(batch)
                .await
                .map_err(hand_off_error)?;
            summary.batches += 1;
            summary.handed_over += batch.events.len() as u64;
            debug!(batch_id = %batch.batch_id, events = batch.events.len(), "batch handed over");
        }

        // Only now, with every batch accepted, do these events count as handed over.
        for batch in &plan.batches {
            seen.record(&batch.events);
        }
        seen.record(plan.oversize.iter().map(|o| &o.event));
        Ok(summary)
    }

    /// The cursor after a page: positions only forward, `seen` pruned to the next window's
    /// start and bounded, version incremented.
    fn advance(
        &self,
        cursor: &Cursor,
        progress: Option<DateTime<Utc>>,
        newest: Option<DateTime<Utc>>,
        seen: &mut SeenSet,
    ) -> Cursor {
        let mut next = cursor.clone();
        next.polled_until = later(cursor.polled_until, progress);
        next.high_water = later(cursor.high_water, newest);
        if let Some(resume) = resume_point(&next) {
            seen.prune(window::millis_floor(resume - delta(self.settings.overlap)));
        }

        let (saved, dropped) = seen.to_saved(self.settings.max_seen);
        if dropped > 0 {
            warn!(
                dropped,
                kept = saved.len(),
                "more events inside the overlap than the cursor can remember: the oldest are \
                 forgotten and would be handed over again if fetched again (harmless: \
                 detection is idempotent by event id)"
            );
        }
        next.seen = saved;
        next.version = cursor.version + 1;
        next
    }

    /// Sends the operational notice for an auth failure, at most once per
    /// `ops_notice_interval` per organisation, and records when in the cursor.
    async fn notify_auth_failure(
        &self,
        cursor: &mut Cursor,
        expected: &mut Option<u64>,
        report: &mut OrgReport,
        status: u16,
        hint: &str,
    ) {
        let now = self.ports.clock.now();
        if let Some(last) = cursor.last_ops_notice
            && now - last < delta(self.settings.ops_notice_interval)
        {
            info!(last_notice = %last, "operational notice already sent recently; not repeating");
            return;
        }

        let notice = notice::auth_failure(
            report.org_id.as_deref(),
            status,
            hint,
            self.settings.ops_notice_interval,
        );
        if let Err(err) = self.ports.notifier.publish(&notice).await {
            error!(error = %err, "could not send the operational notice; the next run tries again");
            return;
        }
        report.ops_notified = true;

        let mut next = cursor.clone();
        next.last_ops_notice = Some(now);
        next.version = cursor.version + 1;
        match self.ports.cursors.save(&next, *expected).await {
            Ok(()) => {
                *expected = Some(next.version);
                *cursor = next;
            }
            Err(err) => warn!(
                error = %err,
                "operational notice sent but its time was not recorded; it may repeat next run"
            ),
        }
    }
}

/// Checks the paging cursor of a page that is not the last: without one, or with the same
/// one as before, paging cannot continue without looping or skipping events.
fn next_search_after(
    label: &str,
    previous: Option<&Value>,
    next: Option<Value>,
) -> Result<Value, PollError> {
    let Some(next) = next else {
        return Err(PollError::Paging {
            org: label.to_owned(),
            detail: "a full page came without an X-Search_after cursor".to_owned(),
        });
    };
    if previous == Some(&next) {
        return Err(PollError::Paging {
            org: label.to_owned(),
            detail: format!("X-Search_after did not change between pages ({next})"),
        });
    }
    Ok(next)
}

fn add_page(report: &mut OrgReport, page: &PageSummary) {
    report.fetched += page.fetched;
    report.handed_over += page.handed_over;
    report.duplicates += page.duplicates;
    report.malformed += page.malformed;
    report.oversize += page.oversize;
    report.batches += page.batches;
}

fn log_page(number: u64, page: &PageSummary, cursor: &Cursor, window: &Window, now: DateTime<Utc>) {
    let lag_s = cursor
        .polled_until
        .map(|c| (now - c).num_milliseconds() as f64 / 1000.0);
    info!(
        page = number,
        fetched = page.fetched,
        handed_over = page.handed_over,
        duplicates = page.duplicates,
        malformed = page.malformed,
        oversize = page.oversize,
        batches = page.batches,
        cursor = ?cursor.polled_until,
        window_end = %window.end,
        lag_s,
        "page handed over"
    );
}

fn log_org_report(report: &OrgReport) {
    let cursor = report
        .cursor_after
        .map(jcwatch_model::time::format_timestamp);
    let lag_s = report.lag.map(|l| l.as_secs_f64());
    let duration_ms = report.duration.as_millis() as u64;
    match &report.outcome {
        OrgOutcome::Failed { category, error } => error!(
            target: OUTCOME_LOG_TARGET,
            outcome = "failed",
            category = category.as_str(),
            %error,
            pages = report.pages,
            fetched = report.fetched,
            handed_over = report.handed_over,
            cursor,
            duration_ms,
            "organisation poll failed"
        ),
        outcome => info!(
            target: OUTCOME_LOG_TARGET,
            outcome = outcome.name(),
            pages = report.pages,
            fetched = report.fetched,
            handed_over = report.handed_over,
            duplicates = report.duplicates,
            malformed = report.malformed,
            oversize = report.oversize,
            batches = report.batches,
            cursor,
            lag_s,
            duration_ms,
            "organisation poll finished"
        ),
    }
}

#[cfg(test)]
mod tests;
